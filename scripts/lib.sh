# What the scripts under scripts/ share; sourced (`. "$(dirname "$0")/lib.sh"`), never run.
# Every function reports on stderr under the calling script's name ($0), so stdout stays data.

# HERE is the repository; the demo scripts' defaults hang off it.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# missing_packages PKG...: the PKGs dpkg does not have installed, one a line.
missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

# need_root WHAT: stop (exit 1) unless running as root, saying WHAT is missing and how to run.
need_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "$1 run as root: sudo bash $0" >&2
    exit 1
  fi
}

# apt_install PKG...: Debian packages, quietly, without recommends (root).
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# demo_env: the settings every demo script starts from (GOVCLOUD, OUT and the state folder can be
# overridden from the environment, as the tests of the demo do); STEP runs one expected step.
demo_env() {
  GC="${GOVCLOUD:-$HERE/.venv/bin/govcloud}"
  OUT="${OUT:-$HERE/out}"
  STATE="${GOVCLOUD_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/govcloud}"
  STEP=(bash "$HERE/scripts/demo/step.sh")
  mkdir -p "$OUT"
}
