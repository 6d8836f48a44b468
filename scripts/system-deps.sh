#!/usr/bin/env bash
# Debian packages devcloud needs (MariaDB, RabbitMQ + Erlang's epmd) and uv in govcloud's venv.
# Idempotent and fast when done. apt needs root: run it as root or with sudo.
# apt's policy-rc.d on CI/containers keeps the packaged daemons from starting; devcloud runs its
# own instances under its state folder anyway, on 127.0.0.1 only.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
VENV="${VENV:-$HERE/.venv}"

mapfile -t need < <(missing_packages mariadb-server mariadb-client rabbitmq-server erlang-base)
if ((${#need[@]})); then
  need_root "system-deps: need ${need[*]}:"
  echo "system-deps: installing ${need[*]}" >&2
  apt_install "${need[@]}"
else
  echo "system-deps: devcloud apt packages present" >&2
fi

# The packages' own daemons are not used by devcloud; if apt started them (a machine with
# systemd), they would hold ports 4369/5672. Leave that choice to the admin, but say so.
if command -v systemctl >/dev/null && systemctl is-active --quiet rabbitmq-server 2>/dev/null; then
  echo "system-deps: note: the system rabbitmq-server runs and holds port 5672;" \
       "stop it (systemctl disable --now rabbitmq-server) before \`govcloud devcloud up\`" >&2
fi

if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -c 'import uv' 2>/dev/null; then
  "$VENV/bin/pip" install -q uv
fi
