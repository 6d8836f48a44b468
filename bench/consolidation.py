#!/usr/bin/env python3
"""Consolidation analysis on a generated inventory, at full and half size.

Prints one JSON object: {"runs": [{"departments", "rooms", "systems", "seconds", "cpu_seconds",
"findings"}, ...], "per_document_us": [...]} for 10,000 departments / 20,000 rooms / 50,000
systems and half of it. Documents are built in memory (loading is measured by bench/check.py);
`seconds` (wall) and `cpu_seconds` are the best of 5 runs of analyze() on a fresh Catalog (index,
shares, duplicates, migration plan and every registered rule). `per_document_us` is wall time per
document at each size: equal values mean linear cost.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govcloud.consolidation import analyze  # noqa: E402
from govcloud.documents import Catalog, Document  # noqa: E402

LEVELS = ["province", "prefecture", "county"]
FUNCTIONS = ["portal", "office-automation", "approval", "data-exchange", "gis", "registry",
             "hotline", "archive"]
ZONES = ["gov-internal", "gov-external", "internet"]
REPEAT = 5  # best of: the machine is shared, the minimum is the least disturbed run


def doc(kind: str, id_: str, spec: dict) -> Document:
    body = {"apiVersion": "govcloud/v1", "kind": kind, "metadata": {"id": id_}, "spec": spec}
    return Document(kind=kind, id=id_, body=body, file="generated.yaml", line=1)


def inventory(departments: int, rooms: int, systems: int, seed: int = 3) -> Catalog:
    rng = random.Random(seed)
    docs = [doc("Platform", f"cloud-{z}", {"cloud": "devcloud", "zone": z, "mlps_level": 3,
                                          "location": "CN"}) for z in ZONES]
    for i in range(departments):
        docs.append(doc("Department", f"d{i}", {"name": f"D{i}", "level": LEVELS[i % 3],
                                                "region": "390000"}))
    for i in range(rooms):
        docs.append(doc("MachineRoom", f"r{i}", {
            "department": f"d{rng.randrange(departments)}",
            "kind": "independent" if rng.random() < 0.8 else "shared-cloud",
            "site": "s", "status": rng.choice(["active", "active", "migrating", "retired"]),
            "utilization_pct": rng.randint(1, 95), "power_kw": rng.randint(1, 200),
            "networks": [rng.choice(ZONES)]}))
    for i in range(systems):
        spec = {"department": f"d{rng.randrange(departments)}", "name": f"s{i}",
                "function": rng.choice(FUNCTIONS), "hosted_in": f"r{rng.randrange(rooms)}",
                "mlps_level": 2, "classification": "internal", "network_zone": "gov-external"}
        if rng.random() < 0.05:
            spec["authoritative_for"] = [f"dataset-{rng.randrange(systems // 10)}"]
        docs.append(doc("System", f"s{i}", spec))
    for i in range(departments // 10):
        docs.append(doc("ResourceRequest", f"REQ-{i}", {
            "department": f"d{rng.randrange(departments)}", "platform": "cloud-gov-external",
            "tenant": f"t{i}", "purpose": "p",
            "replaces": [f"r{rng.randrange(rooms)}"],
            "system": {"name": "n", "function": rng.choice(FUNCTIONS), "mlps_level": 2,
                       "classification": "internal", "network_zone": "gov-external"}}))
    return Catalog(docs)


def run(departments: int, rooms: int, systems: int) -> dict:
    documents = inventory(departments, rooms, systems).documents
    best = best_cpu = float("inf")
    for _ in range(REPEAT):
        catalog = Catalog(documents)  # fresh: the shared index is built inside the timing
        start, start_cpu = time.perf_counter(), time.process_time()
        result = analyze(catalog)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return {"departments": departments, "rooms": rooms, "systems": systems,
            "seconds": round(best, 3), "cpu_seconds": round(best_cpu, 3),
            "findings": len(result.findings)}


def main() -> None:
    runs = [run(5_000, 10_000, 25_000), run(10_000, 20_000, 50_000)]
    per_doc = [round(r["seconds"] / (r["departments"] + r["rooms"] + r["systems"]) * 1e6, 2)
               for r in runs]
    print(json.dumps({"runs": runs, "per_document_us": per_doc}))


if __name__ == "__main__":
    main()
