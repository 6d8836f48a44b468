#!/usr/bin/env python3
"""Audit-log verification rate.

Prints one JSON object: {"log_verify_entries_per_s" (per CPU-second of the verifier),
"log_verify_wall_entries_per_s", "entries", "audit_100_tenants_s"}.
`audit_100_tenants_s` is null until the live-cloud `govcloud audit` command exists (issue 7).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govcloud.auditlog import AuditLog, generate_keypair, verify  # noqa: E402
from govcloud.auditlog.log import (  # noqa: E402
    GENESIS,
    canonical,
    load_private_key,
    load_public_key,
    sm3_hex,
)

ENTRIES = 200_000


def build(path: Path, n: int) -> None:
    """Write a valid chained log quickly (the same format `AuditLog.append` writes)."""
    prev = GENESIS
    with path.open("wb") as handle:
        for seq in range(1, n + 1):
            line = canonical({"seq": seq, "time": "2026-11-25T00:00:00.000+00:00",
                              "actor": "bench", "command": "check",
                              "inputs": {"inventory/departments.yaml": "ab" * 32},
                              "result": "cd" * 32, "prev": prev})
            handle.write(line + b"\n")
            prev = sm3_hex(line)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.log"
        build(path, ENTRIES - 1)
        private, public = generate_keypair(Path(tmp) / "keys")
        AuditLog(path, load_private_key(private)).append("check", {}, "00" * 32)  # signed head
        # CPU time of this process: on a shared 2-core machine wall time mostly measures the
        # neighbours. Wall time is reported too.
        wall, cpu = time.perf_counter(), time.process_time()
        result = verify(path, load_public_key(public))
        elapsed = time.process_time() - cpu
        wall = time.perf_counter() - wall
        assert result.ok, result.problem
    print(json.dumps({"log_verify_entries_per_s": round(result.entries / elapsed),
                      "log_verify_wall_entries_per_s": round(result.entries / wall),
                      "entries": result.entries, "audit_100_tenants_s": None}))


if __name__ == "__main__":
    main()
