#!/usr/bin/env bash
# Host tools for `govcloud harden`, its test target and the OpenSCAP cross-check. Idempotent.
#
#  - debootstrap, systemd-container (nspawn), iproute2, openssh-client, zstd: build and boot targets
#  - openscap-scanner + openscap-utils (oscap, oscap-chroot, oscap-ssh): independent verification
#  - ssg-debian 0.1.76 from Debian trixie, *unpacked* into the cache (not installed): bookworm's
#    ssg-debian 0.1.65 has no Debian 12 content. A private apt state is used so the host's
#    sources.list is never touched.
#  - ansible-core into the project venv (playbooks use ansible.builtin only: no collection, no Galaxy)
set -euo pipefail

CACHE="${GOVCLOUD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/govcloud}"
SSG_VERSION="0.1.76"
SSG_DIR="$CACHE/ssg-$SSG_VERSION"
. "$(dirname "$0")/lib.sh"
VENV="${VENV:-$HERE/.venv}"

mapfile -t need < <(missing_packages debootstrap systemd-container iproute2 openssh-client zstd \
                    apt-utils openscap-scanner openscap-utils)
if ((${#need[@]})); then
  echo "hardening-deps: installing ${need[*]}" >&2
  apt_install "${need[@]}"
else
  echo "hardening-deps: apt packages present" >&2
fi

if [[ ! -f "$SSG_DIR/ssg-debian12-ds.xml" ]]; then
  mirror="$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources \
            2>/dev/null | head -1)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  work="$CACHE/apt-trixie"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$SSG_DIR"
  echo "deb $mirror trixie main" > "$work/sources.list"
  opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/nonexistent
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
        -o Dir::State::status=/dev/null -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update -qq
  (cd "$work" && apt-get "${opts[@]}" download "ssg-debian=$SSG_VERSION*" "ssg-base=$SSG_VERSION*")
  for deb in "$work"/ssg-*_"$SSG_VERSION"*_all.deb; do dpkg-deb -x "$deb" "$work/x"; done
  cp -a "$work"/x/usr/share/xml/scap/ssg/content/ssg-debian12-* "$SSG_DIR"/
  mkdir -p "$SSG_DIR/ansible"
  cp -a "$work"/x/usr/share/scap-security-guide/ansible/debian12-playbook-* "$SSG_DIR/ansible/"
  rm -rf "$work"
  echo "hardening-deps: SSG $SSG_VERSION Debian 12 content in $SSG_DIR" >&2
else
  echo "hardening-deps: SSG content present in $SSG_DIR" >&2
fi

if [[ -x "$VENV/bin/pip" ]] && ! "$VENV/bin/python" -c 'import ansible' 2>/dev/null; then
  "$VENV/bin/pip" install -q 'ansible-core>=2.17,<2.20'
fi
