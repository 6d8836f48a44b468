#!/usr/bin/env bash
# Debian packages devcloud needs (MariaDB, RabbitMQ + Erlang's epmd) and uv in govcloud's venv.
# Idempotent and fast when done. apt needs root: run it as root or with sudo.
# apt's policy-rc.d on CI/containers keeps the packaged daemons from starting; devcloud runs its
# own instances under its state folder anyway, on 127.0.0.1 only.
set -euo pipefail

HERE="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-$HERE/.venv}"

need=()
for pkg in mariadb-server mariadb-client rabbitmq-server erlang-base; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "system-deps: need ${need[*]}: run as root: sudo bash $0" >&2
    exit 1
  fi
  echo "system-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
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
