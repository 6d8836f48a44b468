#!/usr/bin/env bash
# Provisioning demo: bring devcloud up, then plan, apply and check drift of the good example
# requests on it. Called by `make demo`. Idempotent: a second run plans no change and applies
# nothing. The credentials key (SM4) of the demo lives in the state folder, never in the repo.
# Each step says which exit code it expects and why (scripts/demo/step.sh); the first step that
# exits otherwise stops the script with exit 1. Where devcloud cannot start, it says so and
# exits 0, so the rest of the demo goes on.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
demo_env
REQUESTS=("$HERE"/examples/requests/good-*.yaml)

echo "== devcloud: a real OpenStack on 127.0.0.1 (first time: installs from PyPI, ~2 min)" >&2
if ! "$GC" devcloud up; then
  echo "== provisioning demo skipped: devcloud did not start (see the error above)" >&2
  exit 0
fi
set -e
KEY="$STATE/demo/credentials.key"
if [[ ! -f "$KEY" ]]; then
  mkdir -p "$(dirname "$KEY")" && chmod 700 "$(dirname "$KEY")"
  "${STEP[@]}" 0 "a new SM4 key for the demo's initial passwords" -- \
    "$GC" credentials keygen --out "$KEY"
fi
# The demo applies MLPS 3 examples without the three approvals: allowed on devcloud only, and
# recorded in the audit log (approvals: docs/audit.md, `govcloud keys` and `govcloud approve`).
export GOVCLOUD_SKIP_APPROVALS_ON_DEVCLOUD=1
echo "== plan: what apply would do for the good example requests" >&2
"${STEP[@]}" 0 "the good examples pass their policies, so a plan is made" -- \
  "$GC" plan "$HERE/inventory" "${REQUESTS[@]}" --os-cloud devcloud --format table \
  --out "$OUT/plan.json" | tee "$OUT/plan.txt"
echo "== apply: dependency order, parallel, resumable (new users' passwords go to an SM4-GCM bundle)" >&2
"${STEP[@]}" 0 "the cloud now matches the requests" -- \
  "$GC" apply "$HERE/inventory" "${REQUESTS[@]}" --os-cloud devcloud --yes --credentials-key "$KEY"
echo "== apply again: nothing to do (0 write calls)" >&2
"${STEP[@]}" 0 "idempotent: nothing left to change" -- \
  "$GC" apply "$HERE/inventory" "${REQUESTS[@]}" --os-cloud devcloud --yes --credentials-key "$KEY"
echo "== drift: expected none" >&2
"${STEP[@]}" 0 "no drift right after apply" -- \
  "$GC" drift "$HERE/inventory" "${REQUESTS[@]}" --os-cloud devcloud --format table
echo "== audit of the live cloud + documents + latest hardening results" >&2
"${STEP[@]}" 1 "findings: devcloud's own admin and service projects are unmanaged (GC-MGD, high)" -- \
  "$GC" audit --os-cloud devcloud "$HERE/inventory" "${REQUESTS[@]}" --format html \
  --output "$OUT/audit-cloud.html"
echo "== the tenants stay on devcloud: \`govcloud destroy inventory examples/requests/good-*.yaml --os-cloud devcloud --yes\` removes them" >&2
