#!/usr/bin/env bash
# Hardening demo: boot a fresh Debian 12 target, audit it, harden it, audit it again, tear down.
# Called by `make demo`. Where this machine cannot boot a target (not root, no systemd-nspawn,
# no debootstrap), it says why and exits 0 so the rest of the demo continues. Each step says
# which exit code it expects and why (scripts/demo/step.sh); the first step that exits otherwise
# stops the script with exit 1 (the target is taken down all the same).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
demo_env
NAME="${DEMO_TARGET:-demo}"

why=""
[[ $(id -u) -eq 0 ]] || why="booting a target needs root"
command -v systemd-nspawn >/dev/null || why="${why:+$why; }systemd-nspawn missing (scripts/hardening-deps.sh)"
command -v debootstrap >/dev/null || why="${why:+$why; }debootstrap missing (scripts/hardening-deps.sh)"
"$HERE/.venv/bin/python" -c 'import ansible' 2>/dev/null || why="${why:+$why; }ansible-core missing in .venv"
if [[ -n "$why" ]]; then
  echo "== hardening demo skipped: $why" >&2
  exit 0
fi

trap '"$GC" target down "$NAME" >/dev/null 2>&1' EXIT
echo "== hardening: boot target $NAME (first time: builds the Debian 12 image, ~1.5 min)" >&2
if ! "$GC" target up "$NAME" >/dev/null; then
  echo "== hardening demo skipped: the target did not boot (see the error above)" >&2
  exit 0
fi
set -e
INV="$("$GC" target status | awk -v n="$NAME" '$1 == n {print $6}')"
echo "== hardening: audit of the fresh host" >&2
"${STEP[@]}" 1 "findings: a fresh Debian host has non-compliant controls" -- \
  "$GC" harden --check -i "$INV" --format table
"${STEP[@]}" 1 "the same audit, as HTML" -- \
  "$GC" harden --check -i "$INV" --format html --output "$OUT/harden-before.html"
echo "== hardening: remediation (MLPS 2.0 level-3 baseline)" >&2
"${STEP[@]}" 0 "every control remediated" -- \
  "$GC" harden -i "$INV" --format table --output "$OUT/harden-remediation.txt"
echo "== hardening: audit again" >&2
"${STEP[@]}" 0 "all controls compliant after remediation" -- \
  "$GC" harden --check -i "$INV" --format table
"${STEP[@]}" 0 "the same audit, as HTML" -- \
  "$GC" harden --check -i "$INV" --format html --output "$OUT/harden-after.html"
