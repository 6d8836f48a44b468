#!/usr/bin/env bash
# 三员 keys demo (no cloud): SM2 keys for the inventory's roles, the roles file signed by a root
# key, three approvals of an MLPS 3 request, a signed evidence bundle, and what tampering does.
# Called by `make demo`. The private halves are generated here, into the state folder, never into
# the repository; the public halves go into a copy of the inventory in the state folder (the
# repository's inventory/roles.yaml lists the holders; its keys are each site's own).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
demo_env
PY="${PYTHON:-$HERE/.venv/bin/python}"
DEMO="$STATE/demo/keys"
REQUEST_SRC="$HERE/examples/requests/good-classified-records-on-internal-cloud.yaml"
mkdir -p "$STATE/demo"
chmod 700 "$STATE/demo"
rm -rf -- "$DEMO"            # demo keys are made afresh each run
mkdir -m 700 "$DEMO"
cp -r "$HERE/inventory" "$DEMO/inventory"
mkdir "$DEMO/requests"
cp "$REQUEST_SRC" "$DEMO/requests/"
REQUEST="$DEMO/requests/$(basename "$REQUEST_SRC")"

echo "== keys: SM2 (GB/T 32918) key pairs, private halves (0600) in $DEMO/private" >&2
"$GC" keys generate --role root --out "$DEMO/private/root" >/dev/null
# One key per Role document that signs: the first holder of each role, and the requesting
# department's head (REQ-2026-0103 is prov-gov-office's).
"$PY" - "$DEMO" "$GC" <<'EOF'
import subprocess, sys
from pathlib import Path

import yaml

demo, gc = Path(sys.argv[1]), sys.argv[2]
roles_file = demo / "inventory" / "roles.yaml"
docs = [d for d in yaml.safe_load_all(roles_file.read_text()) if d]
wanted = {"security": None, "ops": None, "audit": None, "evidence": None,
          "department": "prov-gov-office"}
for doc in docs:
    role, spec = doc["spec"]["role"], doc["spec"]
    if role not in wanted or (role == "department" and spec.get("department") != wanted[role]):
        continue
    wanted.pop(role)
    out = demo / "private" / doc["metadata"]["id"]
    subprocess.run([gc, "keys", "generate", "--role", role, "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    spec["public_key"] = (out / f"{role}.pub").read_text()
    print(f"   {role:<10} {doc['metadata']['id']:<22} {spec['account']}", file=sys.stderr)
roles_file.write_text("# demo copy: public keys added by scripts/demo/keys.sh\n"
                      + yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False))
EOF

export GOVCLOUD_INVENTORY="$DEMO/inventory"
GOVCLOUD_TRUST_ROOT="$("$GC" keys fingerprint "$DEMO/private/root/root.pub" | cut -d' ' -f1)"
export GOVCLOUD_TRUST_ROOT
unset GOVCLOUD_KEY_PASSPHRASE
echo "== roles: signed by the root key, whose fingerprint is pinned (GOVCLOUD_TRUST_ROOT here; /etc/govcloud/trust-root in production)" >&2
"$GC" keys sign-roles --key "$DEMO/private/root/root.key"
"$GC" keys roles

key_of() { echo "$DEMO/private/$1/$2.key"; }
echo "== approvals of an MLPS 3 request: department, ops, security (each signs request, waivers, policies, cloud)" >&2
if "$GC" approvals verify "$REQUEST"; then echo "unexpected: approved before anyone signed" >&2; exit 1; fi
"$GC" approve "$REQUEST" --as department --key "$(key_of dept-prov-gov-office department)"
"$GC" approve "$REQUEST" --as ops --key "$(key_of ops-chen-jie ops)"
echo "== the security officer's key cannot approve as ops (三员: one key, one role): refused" >&2
if "$GC" approve "$REQUEST" --as ops --key "$(key_of sec-li-ming security)"; then exit 1; fi
"$GC" approve "$REQUEST" --as security --key "$(key_of sec-li-ming security)"
"$GC" approvals verify "$REQUEST"
echo "== the request edited after approval: refused until approved again" >&2
cp "$REQUEST" "$REQUEST.orig"
sed -i 's/cores: 8/cores: 80/' "$REQUEST"
if "$GC" approvals verify "$REQUEST"; then exit 1; fi
mv "$REQUEST.orig" "$REQUEST"

echo "== evidence bundle signed by the evidence role's key (SM2), verified against the roles" >&2
rm -rf -- "$OUT/evidence"
"$GC" audit "$GOVCLOUD_INVENTORY" --format json --no-hardening --fail-on never \
  --evidence "$OUT/evidence" --key "$(key_of evidence-sun-yan evidence)" >/dev/null
"$GC" evidence verify "$OUT/evidence"

echo "== roles.yaml tampered (an account swapped): exit 4, nothing trusts it" >&2
sed -i 's/account: chen.jie/account: mallory/' "$GOVCLOUD_INVENTORY/roles.yaml"
set +e
"$GC" keys roles >/dev/null
code=$?
set -e
[[ $code -eq 4 ]] || { echo "expected exit 4, got $code" >&2; exit 1; }
echo "== keys demo done: private keys in $DEMO/private (state folder), bundle in $OUT/evidence" >&2
