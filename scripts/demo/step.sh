#!/usr/bin/env bash
# One step of `make demo`: show the command, run it, and say in one line whether it exited as
# expected and why that exit code is the right one, e.g.
#   ok: exit 1 as expected (findings: the bad example requests break policies on purpose)
#   FAILED: exit 3, expected 1 (findings: ...): .venv/bin/govcloud check inventory ...
# so a demo whose bad examples *should* produce findings (exit 1) reads cleanly, and a step that
# really fails still stops the demo.
#
# Usage: step.sh EXPECTED WHY -- COMMAND [ARG...]
#   EXPECTED  the exit code the step expects (0-255), or several separated by commas: 0,1
#   WHY       why, in a few words
# Exit: 0 when COMMAND exited as expected, 1 when it did not, 2 on a usage error.
set -uo pipefail

usage() {
  echo "step.sh: usage: step.sh EXPECTED WHY -- COMMAND [ARG...]  (EXPECTED: 0, 1 or a list such as 0,1)" >&2
  exit 2
}
[[ $# -ge 4 && "$3" == "--" ]] || usage
expected="$1"
why="$2"
shift 3
[[ "$expected" =~ ^[0-9]{1,3}(,[0-9]{1,3})*$ ]] || usage
IFS=, read -ra codes <<< "$expected"
for code in "${codes[@]}"; do
  (( 10#$code <= 255 )) || usage
done

echo "\$ $*" >&2
"$@"
rc=$?
for code in "${codes[@]}"; do
  if (( 10#$code == rc )); then
    echo "ok: exit $rc as expected ($why)" >&2
    exit 0
  fi
done
echo "FAILED: exit $rc, expected ${expected//,/ or } ($why): $*" >&2
exit 1
