"""Small builders shared by unit tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from govcloud.auditlog.head import canonical
from govcloud.auditlog.log import GENESIS, sm3_hex
from govcloud.validate import Validated, load

ROOT = Path(__file__).resolve().parents[2]  # the repository
INVENTORY = ROOT / "inventory"  # the demo province

BASE = """
apiVersion: govcloud/v1
kind: Department
metadata: {id: prov-health}
spec: {name: Provincial Health Commission, level: province, region: "330000"}
---
apiVersion: govcloud/v1
kind: Platform
metadata: {id: gov-external-cloud}
spec: {cloud: devcloud, zone: gov-external, mlps_level: 3, location: CN}
---
apiVersion: govcloud/v1
kind: Platform
metadata: {id: gov-internal-cloud}
spec: {cloud: devcloud-internal, zone: gov-internal, mlps_level: 4, location: CN,
       accredited_for: confidential}
---
apiVersion: govcloud/v1
kind: Component
metadata: {id: kunpeng-920}
spec: {category: cpu, vendor: Huawei, product: Kunpeng 920, origin: domestic}
---
apiVersion: govcloud/v1
kind: Component
metadata: {id: xeon-6330}
spec: {category: cpu, vendor: Intel, product: Xeon Gold 6330, origin: foreign}
---
apiVersion: govcloud/v1
kind: Component
metadata: {id: kylin-v10}
spec: {category: os, vendor: Kylin Software, product: Kylin V10, origin: domestic}
---
apiVersion: govcloud/v1
kind: Image
metadata: {id: kylin-v10-sp3}
spec: {os: kylin-v10}
---
apiVersion: govcloud/v1
kind: Role
metadata: {id: ciso}
spec: {role: security, holder: Chief Security Officer, account: c.s.officer}
"""

REQUEST = """
apiVersion: govcloud/v1
kind: ResourceRequest
metadata: {id: REQ-1}
spec:
  department: prov-health
  platform: gov-external-cloud
  tenant: health-epi
  purpose: Epidemic reporting
  system: {name: epi, function: approval, mlps_level: 3, classification: internal,
           network_zone: gov-external}
  quotas: {cores: 8, ram_mb: 16384, instances: 4}
  networks: [{name: app-net, cidr: 10.20.0.0/24, router: true}]
  security_groups:
    - name: web
      rules: [{direction: ingress, protocol: tcp, port: 443, remote: 0.0.0.0/0}]
  servers:
    - {name: app, count: 2, flavor: c1m1, image: kylin-v10-sp3, network: app-net,
       security_groups: [web], components: {cpu: kunpeng-920, os: kylin-v10}}
  volumes: [{name: data, size_gb: 1, attach_to: app-1, encrypted: true}]
"""


def yaml_doc(kind: str, doc_id: str, spec: str) -> str:
    """One govcloud document as YAML text, opened by ``---`` so that documents concatenate;
    ``spec`` is the YAML of its spec (a flow mapping, or a block that starts with a newline)."""
    return (f"\n---\napiVersion: govcloud/v1\nkind: {kind}\nmetadata: {{id: {doc_id}}}\n"
            f"spec: {spec}\n")


def yaml_docs(*docs: tuple[str, str, str]) -> str:
    """Several documents, each given as ``(kind, id, spec)`` (see ``yaml_doc``)."""
    return "".join(yaml_doc(*doc) for doc in docs)


def system_doc(sid: str, dept: str = "prov-a", function: str = "approval",
               hosted: str = "cloud:t") -> str:
    """A System (MLPS 2, internal, gov-external) of ``dept`` doing ``function``."""
    return yaml_doc("System", sid, f'{{department: {dept}, name: {sid}, function: "{function}", '
                    f'hosted_in: "{hosted}",\n        mlps_level: 2, classification: internal, '
                    "network_zone: gov-external}")


def request_doc(rid: str, dept: str = "prov-a", function: str = "approval",
                replaces: str = "[]") -> str:
    """A ResourceRequest of ``dept`` on platform ``ext-cloud`` for a system doing ``function``."""
    return yaml_doc("ResourceRequest", rid, f"""
  department: {dept}
  platform: ext-cloud
  tenant: t-{rid.lower()}
  purpose: p
  replaces: {replaces}
  system: {{name: n, function: "{function}", mlps_level: 2, classification: internal,
           network_zone: gov-external}}""")


# REQUEST's one security rule, and REQUEST with other rules in its place.
REQUEST_RULES = "rules: [{direction: ingress, protocol: tcp, port: 443, remote: 0.0.0.0/0}]"


def with_rules(*rules: str) -> str:
    """REQUEST whose security group holds ``rules`` (YAML flow mappings) instead of its own."""
    assert REQUEST_RULES in REQUEST
    return REQUEST.replace(REQUEST_RULES, f"rules: [{', '.join(rules)}]")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_texts(tmp_path: Path, **files: str) -> Validated:
    """Write the files and load them all as the inventory (requests included: no authority
    checks; tests of those load requests and inventory apart)."""
    for name, text in files.items():
        write(tmp_path, name.replace("__", "/") + ".yaml", text)
    return load([tmp_path], inventory=tmp_path)


# ------------------------------------------------------ plan and apply through the CLI, offline

_COMPILED: dict[str, object] = {}


def policies_once(path=None):
    """Each policy set compiled once per test session (the CLI loads it for every gate); a
    stand-in for ``govcloud.policy.load_policies`` in CLI tests of plan and apply."""
    from govcloud.policy.engine import load_policies

    if str(path) not in _COMPILED:
        _COMPILED[str(path)] = load_policies(path)
    return _COMPILED[str(path)]


class FakeCloud:
    """The connection a faked ``_plan_one`` hands the CLI: counts no call, closes nothing."""

    def __init__(self):
        from types import SimpleNamespace

        self.counter = SimpleNamespace(total=0, writes=0)

    def close(self):
        pass


def rechain(entries: list[dict]) -> bytes:
    """The attacker's tool on an audit log: renumber and re-hash every entry (no key: nothing is
    re-signed, so the chain holds and only a signed head or checkpoint can tell)."""
    prev, out = GENESIS, []
    for seq, entry in enumerate(entries, start=1):
        entry["seq"], entry["prev"] = seq, prev
        raw = canonical(entry)
        out.append(raw + b"\n")
        prev = sm3_hex(raw)
    return b"".join(out)
