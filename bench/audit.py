#!/usr/bin/env python3
"""Audit of 100 tenants on devcloud, and the audit-log verification rate.

Prints one JSON object:

- ``audit_100_tenants_s``: wall time of ``govcloud audit --os-cloud devcloud -o json`` (read the
  whole cloud, evaluate every policy, render the JSON report) with ``--tenants`` (100) extra
  tagged projects on devcloud, each with a network and subnet, a security group with a rule, a
  server (fake driver) and a volume; the median of ``--runs`` runs. Goal: < 20 s.
- ``audit_api_calls``, ``audit_documents``, ``tenants``, ``setup_s``: what that measured.
- ``log_verify_entries_per_s``: entries verified per CPU-second of the verifier (on a shared
  2-core machine wall time mostly measures the neighbours; wall rate reported too), on a signed
  200,000-entry log whose checkpoints and head are SM2-signed (every checkpoint's signature is
  verified). Goal: >= 100,000.
- ``sm2_sign_per_s`` / ``sm2_verify_per_s``: SM2 (GB/T 32918, SM3, ID 1234567812345678) signatures
  made / checked per CPU-second through ``govcloud.signing`` (OpenSSL 3's libcrypto), over
  200-byte messages (the size of a log head or an approval payload); ``sm2_sign_wall_per_s`` and
  ``sm2_verify_wall_per_s`` alongside, and the same for Ed25519 for comparison.

devcloud is brought up (or reused) as the integration tests do. The bench projects are named
``bench-audit-<n>`` and are deleted afterwards unless ``--keep`` (a rerun with ``--keep`` reuses
them: only missing pieces are created). ``--log-only`` (or ``--no-cloud``) measures the log only
(``audit_100_tenants_s`` is then null).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govcloud import signing  # noqa: E402
from govcloud.auditlog import AuditLog, verify  # noqa: E402
from govcloud.auditlog.head import head_payload, sign_record  # noqa: E402
from govcloud.auditlog.log import (  # noqa: E402
    CHECKPOINT_EVERY,
    GENESIS,
    canonical,
    checkpoint_due,
    sm3_hex,
)

ENTRIES = 200_000
SIGNATURES = 2_000
PREFIX = "bench-audit-"


def build(path: Path, n: int, key: signing.SigningKey) -> None:
    """Write a valid signed log quickly (what `AuditLog.append` writes: entries, SM2-signed
    checkpoints at the interval, a signed head)."""
    prev = GENESIS
    size = 0
    with path.open("wb") as handle:
        for seq in range(1, n + 1):
            if checkpoint_due(seq, 1, CHECKPOINT_EVERY):
                record = sign_record(key, {"seq": seq, "type": "checkpoint", "prev": prev})
            else:
                record = {"seq": seq, "time": "2026-11-25T00:00:00.000+00:00",
                          "actor": "bench", "uid": 1000, "command": "check",
                          "inputs": {"inventory/departments.yaml": "ab" * 32},
                          "result": "cd" * 32, "prev": prev, "signer": key.fingerprint[:16]}
            line = canonical(record)
            handle.write(line + b"\n")
            size += len(line) + 1
            prev = sm3_hex(line)
    head = head_payload(n, prev, size, 1)
    head["every"] = CHECKPOINT_EVERY
    path.with_name(path.name + ".head").write_bytes(canonical(sign_record(key, head)) + b"\n")


def log_rate() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.log"
        key = signing.generate("sm2")
        build(path, ENTRIES - 1, key)
        AuditLog(path, key).append("check", {}, "00" * 32)  # checked against the head, signed
        public = key.verify_key()
        wall, cpu = time.perf_counter(), time.process_time()
        result = verify(path, public)
        elapsed = time.process_time() - cpu
        wall = time.perf_counter() - wall
        assert result.ok and result.head_checked, result.problem
    return {"log_verify_entries_per_s": round(result.entries / elapsed),
            "log_verify_wall_entries_per_s": round(result.entries / wall),
            "entries": result.entries, "log_signature": "sm2",
            "log_checkpoints_verified": result.checkpoints}


def signature_rates() -> dict:
    from govcloud import signing

    out: dict = {}
    message = b"m" * 200
    for algorithm in signing.ALGORITHMS:
        key = signing.generate(algorithm)
        verify_key = key.verify_key()
        key.sign(message)  # warm up (library load)
        wall, cpu = time.perf_counter(), time.process_time()
        signatures = [key.sign(message) for _ in range(SIGNATURES)]
        sign_cpu, sign_wall = time.process_time() - cpu, time.perf_counter() - wall
        wall, cpu = time.perf_counter(), time.process_time()
        ok = all(verify_key.verify(message, s) for s in signatures)
        verify_cpu, verify_wall = time.process_time() - cpu, time.perf_counter() - wall
        assert ok, f"{algorithm}: a signature did not verify"
        out[f"{algorithm}_sign_per_s"] = round(SIGNATURES / sign_cpu)
        out[f"{algorithm}_verify_per_s"] = round(SIGNATURES / verify_cpu)
        out[f"{algorithm}_sign_wall_per_s"] = round(SIGNATURES / sign_wall)
        out[f"{algorithm}_verify_wall_per_s"] = round(SIGNATURES / verify_wall)
    return out


def _tenant(admin, index: int, ids: dict) -> None:
    """One small tagged tenant (find, then create: a rerun with --keep creates nothing)."""
    idp = admin.identity
    name = f"{PREFIX}{index:03d}"
    project = idp.find_project(name, domain_id="default") or idp.create_project(
        name=name, domain_id="default", description="govcloud bench",
        tags=[f"govcloud:request=REQ-BENCH-{index:03d}", "govcloud:mlps=3",
              "govcloud:classification=internal", "govcloud:department=bench"])
    idp.assign_project_role_to_user(project, ids["admin_user"], ids["admin_role"])
    conn = admin.connect_as_project({"id": project.id})
    net = conn.network
    network = net.find_network(f"{name}-net", project_id=project.id) or net.create_network(
        name=f"{name}-net")
    if not list(net.subnets(network_id=network.id)):
        net.create_subnet(network_id=network.id, ip_version=4, cidr="10.99.0.0/24")
    group = net.find_security_group(f"{name}-web", project_id=project.id)
    if group is None:
        group = net.create_security_group(name=f"{name}-web")
        net.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                       ethertype="IPv4", protocol="tcp", port_range_min=443,
                                       port_range_max=443, remote_ip_prefix="0.0.0.0/0")
    if not list(conn.block_storage.volumes(name=f"{name}-data")):
        conn.block_storage.create_volume(name=f"{name}-data", size=1)
    if not list(conn.compute.servers(name=f"^{name}-app$")):
        server = conn.compute.create_server(
            name=f"{name}-app", flavor_id=ids["flavor"], image_id=ids["image"],
            networks=[{"uuid": network.id}],
            metadata={"govcloud:request": f"REQ-BENCH-{index:03d}"})
        conn.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"], wait=600)


def _retrying(fn, *args, attempts: int = 3):
    """Setup is find-then-create, so a transient API failure (a gunicorn worker of devcloud
    restarted under load resets the connection) is retried from where it stopped."""
    for attempt in range(1, attempts + 1):
        try:
            return fn(*args)
        except Exception as err:  # noqa: BLE001 - retried, then raised
            if attempt == attempts:
                raise
            print(f"bench: retrying after {type(err).__name__}", file=sys.stderr)
            time.sleep(5)


def _cleanup(admin) -> None:
    idp = admin.identity
    projects = [p for p in idp.projects(limit=1000) if p.name.startswith(PREFIX)]
    ids = {p.id for p in projects}
    servers = [s for s in admin.compute.servers(all_projects=True) if s.project_id in ids]
    for s in servers:
        admin.compute.delete_server(s, ignore_missing=True)
    for s in servers:
        admin.compute.wait_for_delete(s, wait=600)
    for v in admin.block_storage.volumes(all_projects=True):
        if v.project_id in ids:
            admin.block_storage.delete_volume(v, ignore_missing=True)
    for g in admin.network.security_groups():
        if g.project_id in ids:
            admin.network.delete_security_group(g, ignore_missing=True)
    for n in admin.network.networks():
        if n.project_id in ids:
            for port in admin.network.ports(network_id=n.id):
                admin.network.delete_port(port, ignore_missing=True)
            admin.network.delete_network(n, ignore_missing=True)
    for p in projects:
        idp.delete_project(p, ignore_missing=True)


def audit_rate(tenants: int, runs: int, keep: bool) -> dict:
    import openstack
    from typer.testing import CliRunner

    from govcloud.cli.app import app
    from govcloud.devcloud import ADMIN_CLOUD, Layout, up

    up(Layout.default(), progress=lambda m: print(f"devcloud: {m}", file=sys.stderr))
    admin = openstack.connect(cloud=ADMIN_CLOUD)
    ids = {"admin_user": admin.identity.find_user("admin", domain_id="default"),
           "admin_role": admin.identity.find_role("admin"),
           "flavor": admin.compute.find_flavor("c1m1").id,
           "image": admin.image.find_image("kylin-v10-sp3").id}
    begin = time.perf_counter()
    try:
        # A few at a time: the fake driver is quick, the shared 2-core machine is not.
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: _retrying(_tenant, admin, i, ids), range(1, tenants + 1)))
        setup = time.perf_counter() - begin
        times, data = [], {}
        with tempfile.TemporaryDirectory() as state:
            env = {"GOVCLOUD_STATE_DIR": state}
            for _ in range(runs):
                start = time.perf_counter()
                result = CliRunner().invoke(app, ["audit", "--os-cloud", ADMIN_CLOUD, "-o",
                                                  "json", "--no-hardening", "--fail-on",
                                                  "never"], env=env)
                times.append(time.perf_counter() - start)
                assert result.exit_code == 0, result.output[-2000:]
                data = json.loads(result.stdout)
        projects = sum(1 for t in data["tenants"] if t.startswith(PREFIX))
        assert projects == tenants, projects
        return {"audit_100_tenants_s": round(statistics.median(times), 2),
                "audit_runs_s": [round(t, 2) for t in times],
                "audit_api_calls": data["audit"]["api_calls"],
                "audit_documents": sum(data["audit"]["documents"].values()),
                "tenants": tenants, "setup_s": round(setup, 1)}
    finally:
        if not keep:
            _cleanup(admin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the bench projects")
    parser.add_argument("--no-cloud", "--log-only", action="store_true",
                        help="measure the log only (no devcloud)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # openstacksdk deprecation noise on stderr
    out = {"audit_100_tenants_s": None}
    if not args.no_cloud:
        out.update(audit_rate(args.tenants, args.runs, args.keep))
    out.update(log_rate())
    out.update(signature_rates())
    print(json.dumps(out))
    sys.stdout.flush()
    os._exit(0)  # openstacksdk's thread pools would otherwise delay exit


if __name__ == "__main__":
    main()
