"""Small builders shared by unit tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from govcloud.validate import Validated, load

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
