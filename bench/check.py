#!/usr/bin/env python3
"""Rate of `check` over generated documents, against the obvious jsonschema loop.

Prints one JSON object:
  docs                        documents evaluated (all kinds, mostly requests and systems)
  docs_per_s                  govcloud's policy evaluation (resolution + compiled policies +
                              waivers), the part `check` adds on top of loading
  compiled_loop_docs_per_s    the obvious approach on the same resolved documents: one
                              precompiled Draft202012Validator per policy, every policy's `when`
                              and `require` run on every document
  speedup                     docs_per_s / compiled_loop_docs_per_s
  end_to_end_docs_per_s       load + validate + check, from YAML text on disk
  policies                    policies in the baseline
Run on one core: `taskset -c 0 python bench/check.py` (make bench does).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from govcloud.check import run_check  # noqa: E402
from govcloud.policy import load_policies  # noqa: E402
from govcloud.policy.engine import _select  # noqa: E402
from govcloud.providers import builtin_providers  # noqa: E402
from govcloud.resolve import resolve  # noqa: E402
from govcloud.validate import load  # noqa: E402

LEVELS = ["province", "prefecture", "county"]
ZONES = ["gov-internal", "gov-external", "internet"]
CLASSES = ["public", "internal", "sensitive", "secret"]
CPUS = [("kunpeng-920", "Huawei", "domestic"), ("hygon-7285", "Hygon", "domestic"),
        ("xeon-6330", "Intel", "foreign")]
OSES = [("kylin-v10", "Kylin", "domestic"), ("rhel-8", "Red Hat", "foreign")]
DBS = [("dm8", "Dameng", "domestic"), ("oracle-19c", "Oracle", "foreign")]
MWS = [("tongweb-7", "TongTech", "domestic"), ("weblogic-12c", "Oracle", "foreign")]


def doc(kind: str, id_: str, spec: dict) -> dict:
    return {"apiVersion": "govcloud/v1", "kind": kind, "metadata": {"id": id_}, "spec": spec}


def generate(n_docs: int, seed: int = 7, bad_share: float = 0.1) -> list[dict]:
    """Mostly compliant documents, as a real inventory is; ``bad_share`` of them break a rule."""
    rng = random.Random(seed)
    docs = [
        doc("Platform", "gov-internal-cloud",
            {"cloud": "devcloud", "zone": "gov-internal", "mlps_level": 4, "location": "CN"}),
        doc("Platform", "gov-external-cloud",
            {"cloud": "devcloud", "zone": "gov-external", "mlps_level": 3, "location": "CN"}),
    ]
    for category, items in (("cpu", CPUS), ("os", OSES), ("database", DBS), ("middleware", MWS)):
        for cid, vendor, origin in items:
            docs.append(doc("Component", cid, {"category": category, "vendor": vendor,
                                               "product": cid, "origin": origin}))
    n_depts = max(30, n_docs // 20)
    for i in range(n_depts):
        docs.append(doc("Department", f"dept-{i}", {"name": f"Department {i}",
                                                    "level": LEVELS[i % 3],
                                                    "region": f"{330000 + i:06d}"}))
    n_rooms = n_depts
    for i in range(n_rooms):
        docs.append(doc("MachineRoom", f"room-{i}", {
            "department": f"dept-{i}", "kind": rng.choice(["independent", "shared-cloud"]),
            "site": f"Site {i}", "status": "active", "utilization_pct": rng.randint(5, 90),
            "power_kw": rng.randint(5, 200), "networks": [rng.choice(ZONES)]}))
    remaining = n_docs - len(docs)
    for i in range(remaining):
        bad = rng.random() < bad_share
        dept = f"dept-{rng.randrange(n_depts)}"
        level = rng.randint(1, 3)
        cls = rng.choice(CLASSES[:3])
        platform, zone = rng.choice([("gov-internal-cloud", "gov-internal"),
                                     ("gov-external-cloud", "gov-external")])
        comps = {"cpu": CPUS[rng.randrange(2)][0], "os": OSES[0][0], "database": DBS[0][0],
                 "middleware": MWS[0][0]}
        port: int | str = 443
        remote = "10.0.0.0/8"
        encrypted = True
        if bad:  # one realistic mistake
            mistake = rng.randrange(5)
            if mistake == 0:
                comps = {**comps, "database": rng.choice(DBS)[0], "cpu": CPUS[2][0]}
            elif mistake == 1:
                port, remote = rng.choice([22, 3389, "1-1024"]), "0.0.0.0/0"
            elif mistake == 2:
                cls, zone = "secret", "gov-external"
            elif mistake == 3:
                encrypted, level = False, 3
            else:
                zone, cls = "internet", "internal"
        if i % 2:
            docs.append(doc("System", f"sys-{i}", {
                "department": dept, "name": f"System {i}",
                "function": rng.choice(["office-automation", "approval", "data-exchange", "gis"]),
                "hosted_in": f"room-{rng.randrange(n_rooms)}", "mlps_level": level,
                "classification": cls, "network_zone": zone, "components": comps}))
        else:
            docs.append(doc("ResourceRequest", f"REQ-{i}", {
                "department": dept, "platform": platform,
                "tenant": f"tenant-{i}", "purpose": "generated",
                "system": {"name": f"sys{i}", "function": "approval", "mlps_level": level,
                           "classification": cls, "network_zone": zone},
                "quotas": {"cores": 8, "ram_mb": 16384, "instances": 4},
                "networks": [{"name": "app", "cidr": "10.0.0.0/24", "router": True}],
                "security_groups": [{"name": "web", "rules": [
                    {"direction": "ingress", "protocol": "tcp", "port": port,
                     "remote": remote}]}],
                "servers": [{"name": "app", "count": 2, "flavor": "c1m1",
                             "image": "kylin-v10-sp3", "network": "app",
                             "security_groups": ["web"], "components": comps}],
                "volumes": [{"name": "data", "size_gb": 10, "attach_to": "app-1",
                             "encrypted": encrypted}]}))
    return docs


def naive_loop(resolved_docs: list[dict], policies) -> float:
    compiled = [
        (p, Draft202012Validator(p.when), Draft202012Validator(p.require)) for p in policies
    ]
    start = time.perf_counter()
    count = 0
    for body in resolved_docs:
        for policy, when, require in compiled:
            for _base, instance in _select(body, policy.select):
                if when.is_valid(instance) and not require.is_valid(instance):
                    count += 1
    elapsed = time.perf_counter() - start
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=12000)
    parser.add_argument("--bad-share", type=float, default=0.1,
                        help="share of documents with one violation (1.0: every document)")
    args = parser.parse_args()
    import yaml

    docs = generate(args.docs, bad_share=args.bad_share)
    policy_set = load_policies()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docs.yaml"
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
        start = time.perf_counter()
        validated = load(inventory=path)
        report = run_check(validated, policy_set, today=dt.date(2026, 11, 25),
                           providers=builtin_providers())
        end_to_end = time.perf_counter() - start
    assert not validated.all_errors, validated.all_errors[:3]
    n = len(validated.catalog.documents)

    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        report = run_check(validated, policy_set, today=dt.date(2026, 11, 25), providers=())
        best = min(best, time.perf_counter() - start)

    catalog = validated.catalog
    resolved = [resolve(d, catalog) for d in catalog.documents]
    naive = min(naive_loop(resolved, policy_set.policies) for _ in range(2))
    print(json.dumps({
        "docs": n,
        "docs_per_s": round(n / best),
        "compiled_loop_docs_per_s": round(n / naive),
        "speedup": round(naive / best, 1),
        "end_to_end_docs_per_s": round(n / end_to_end),
        "policies": len(policy_set.policies),
        "findings": len(report.findings),
        "bad_share": args.bad_share,
    }))


if __name__ == "__main__":
    main()
