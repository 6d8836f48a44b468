#!/usr/bin/env python3
"""Provisioning on devcloud: `govcloud apply` and no-op `plan`, against an Ansible playbook.

Prints one JSON object (progress goes to stderr):
  tenants             N (--tenants, default 20): small tenants generated as ResourceRequests
                      (1 user, 1 network + subnet + router, 1 security group with 2 rules,
                      1 server c1m1/kylin-v10-sp3, 1 volume of 1 GB attached to it; every
                      other volume encrypted), all passing `govcloud check --fail-on high`
  apply_s             wall time of `govcloud apply INVENTORY REQUESTS --os-cloud devcloud --yes`
                      (a subprocess, as a user runs it: load, policy gate, read, 8 workers)
  playbook_s          wall time of the equivalent Ansible playbook (openstack.cloud modules,
                      one inventory host per tenant, forks = govcloud's --parallel 8, local
                      connection), generated from the same requests under fresh tenant names
                      and run through ansible_runner.run
  floor_s             the cloud's floor: wall time of the same creates for N fresh tenants made
                      straight through openstacksdk (class Floor: apply's parallelism, 8 calls in
                      flight, waits holding no slot, no validation, policies, reads or planning)
  apply_floor_ratio   apply_s / floor_s (goal <= 1.3: govcloud's own cost on top of the cloud's)
  speedup             playbook_s / apply_s (goal >= 5 in every run)
  runs                apply, floor and playbook are measured in --runs rounds (default 3; the
                      tenants of a round are removed before the next): each round's figures,
                      and apply_s, floor_s, playbook_s, apply_floor_ratio, speedup are their
                      medians (ratios: the median of each round's own); speedup_min the worst
  service_cpu_s       devcloud's CPU seconds per service during the apply, the floor and the
                      playbook (/proc/<pid>/stat of each service's processes): where the time goes
  devcloud_tuning     the running devcloud's API workers x threads and worker settings
  noop_plan_s         wall time of `govcloud plan ... -o json` right after the apply (best of 3)
  noop_plan_calls     HTTP calls that no-op plan makes (token requests excluded), counted
                      in-process by govcloud.cloud's CallCounter; checked against the
                      "(K API calls)" line the CLI prints
  noop_plan_calls_2n  the same with 2N tenants applied and planned: does not grow with N
  noop_plan_100_s     no-op plan wall time for 100 tenants (best of 3)
  plus details: the apply of the second N and of the rest up to 100, the in-process read time,
  destroy time, versions, and "notes" saying how figures were taken.

The tenants up to 100 are applied without servers and volumes when applying them with servers
is estimated (from the measured per-tenant apply time) to take longer than --big-budget seconds;
"notes" then says so. Everything created is removed at the end, also on failure: `govcloud
destroy` for govcloud's tenants, then an openstacksdk sweep of every project, user, server,
volume and network object named `bench-<runid>-*` (the playbook's tenants, and leftovers).

The playbook runs on ansible-core and ansible-runner from the project's venv, with the
openstack.cloud collection copied out of pip's `ansible` wheel (the cached wheel bench/harden.py
also uses; Ansible Galaxy is not reachable) into <cache>/collections, and its modules run in
<cache>/bench-ansible, a venv made on first run with openstacksdk 4.14 (collection 2.5.0 does not
work with openstacksdk >= 4.15). <cache> is $GOVCLOUD_CACHE_DIR, else $XDG_CACHE_HOME/govcloud,
else ~/.cache/govcloud.

`make bench` runs it under `taskset -c 0` (the bench, govcloud and Ansible on one core; devcloud's
services keep their own affinity). Run it with the project's venv python.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ANSIBLE_WHEEL = "ansible==12.3.0"  # for ansible-core 2.19; bundles openstack.cloud 2.5.0
MODULE_SDK = "openstacksdk==4.14.0"  # the newest that openstack.cloud 2.5.0 works with
BIG = 100
FORKS = 8  # govcloud apply's default --parallel
# The role the admin user gets in each playbook tenant, to create servers and volumes there with
# a scoped token. govcloud uses `member`; the playbook needs `admin`: openstack.cloud's volume and
# server_volume modules look volumes up by name (`GET /volumes/detail?name=`), and devcloud's
# cinder rejects that filter for non-admin tokens ("Invalid filters name are found in query
# options": cinder.conf has no resource_query_filters_file, and the default
# /etc/cinder/resource_filters.json does not exist), while admin contexts skip the check.
OPS_ROLE = "admin"
STARTED = time.monotonic()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def log(message: str) -> None:
    print(f"[provision {time.monotonic() - STARTED:7.1f}s] {message}", file=sys.stderr,
          flush=True)


# ---------------------------------------------------------------- requests


def departments(inventory: Path) -> list[str]:
    """Departments without an independent machine room of their own (a request from one that
    keeps its room fails GC-CON-008 at high)."""
    docs = [d for f in sorted(inventory.rglob("*.yaml"))
            for d in yaml.safe_load_all(f.read_text(encoding="utf-8")) if isinstance(d, dict)]
    rooms = {d["spec"]["department"] for d in docs if d.get("kind") == "MachineRoom"
             and d["spec"].get("kind") == "independent"}
    return [d["metadata"]["id"] for d in docs
            if d.get("kind") == "Department" and d["metadata"]["id"] not in rooms]


def make_request(runid: str, index: int, department: str, *, compute: bool = True,
                 tenant: str | None = None, request_id: str | None = None) -> dict[str, Any]:
    """One small tenant. Shaped like examples/requests/good-county-elderly-care-level2.yaml:
    level 2 (one server is enough), domestic components, SSH only from the bastion network."""
    tenant = tenant or f"bench-{runid}-g{index:03d}"
    spec: dict[str, Any] = {
        "department": department,
        "platform": "gov-external-cloud",
        "tenant": tenant,
        "purpose": f"govcloud provisioning bench, tenant {index}",
        "system": {"name": tenant, "function": "training", "mlps_level": 2,
                   "classification": "internal", "network_zone": "gov-external"},
        "quotas": {"cores": 2, "ram_mb": 4096, "instances": 2, "volumes": 2, "gigabytes": 10},
        "users": [{"name": f"{tenant}-ops", "email": f"ops{index}@bench.lanjiang.gov.cn",
                   "roles": ["member"]}],
        "networks": [{"name": "app-net", "cidr": f"10.{100 + index // 250}.{index % 250}.0/24",
                      "router": True}],
        "security_groups": [{"name": "app", "description": "bench app servers", "rules": [
            {"direction": "ingress", "protocol": "tcp", "port": 443, "remote": "10.0.0.0/8",
             "description": "HTTPS from the e-government network"},
            {"direction": "ingress", "protocol": "tcp", "port": 22, "remote": "10.250.0.0/24",
             "description": "SSH from the bastion only"}]}],
    }
    if compute:
        spec["servers"] = [{"name": "app", "count": 1, "flavor": "c1m1", "image": "kylin-v10-sp3",
                            "network": "app-net", "security_groups": ["app"],
                            "components": {"cpu": "zhaoxin-kh40000", "os": "uos-20",
                                           "database": "dm8"}}]
        spec["volumes"] = [{"name": "data", "size_gb": 1, "attach_to": "app-1",
                            "encrypted": index % 2 == 0}]
    return {"apiVersion": "govcloud/v1", "kind": "ResourceRequest",
            "metadata": {"id": request_id or f"BENCH-{runid}-{index:03d}",
                         "labels": {"bench": runid}},
            "spec": spec}


def write_requests(folder: Path, requests: list[dict[str, Any]]) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for request in requests:
        path = folder / f"{request['spec']['tenant']}.yaml"
        path.write_text(yaml.safe_dump(request, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
        paths.append(path)
    return paths


# ---------------------------------------------------------------- devcloud figures


def devcloud_pids() -> dict[str, list[int]]:
    """Every process of every running devcloud service, by service."""
    from govcloud.devcloud import Layout, status
    from govcloud.devcloud.procs import group_members

    return {s.name: group_members(s.pid) for s in status(Layout.default()).services if s.pid}


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, float]:
    """utime + stime (and reaped children's) of each service's processes, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, members in pids.items():
        total = 0
        for pid in members:
            try:
                raw = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2:].split()
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        out[name] = total / tick
    return out


class ServiceCpu:
    """devcloud's CPU per service over one phase of the bench."""

    def __init__(self) -> None:
        self.pids = devcloud_pids()
        self.phases: dict[str, dict[str, float]] = {}

    def measure(self, phase: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        before = cpu_seconds(self.pids)
        try:
            return fn(*args, **kwargs)
        finally:
            after = cpu_seconds(self.pids)
            used = {k: round(after[k] - before.get(k, 0.0), 1) for k in after}
            self.phases[phase] = {k: v for k, v in sorted(used.items(), key=lambda kv: -kv[1])
                                  if v >= 0.1}
            self.phases[phase]["total"] = round(sum(used.values()), 1)


def tuning() -> dict[str, Any]:
    """What the running devcloud's APIs run with: gunicorn worker processes (counted: gunicorn
    retitles its processes, so the command line no longer says) x threads (from the argv the
    service is started with), and the worker settings of its rendered configs."""
    from govcloud.devcloud import Layout, status
    from govcloud.devcloud.procs import group_members
    from govcloud.devcloud.services import BY_NAME

    layout = Layout.default()
    apis: dict[str, str] = {}
    for s in status(layout).services:
        argv = BY_NAME[s.name].argv(layout)
        if not s.pid or not any("gunicorn" in a for a in argv[:1]):
            continue
        threads = argv[argv.index("--threads") + 1] if "--threads" in argv else "1"
        apis[s.name] = f"{max(len(group_members(s.pid)) - 1, 1)}x{threads}"
    out: dict[str, Any] = {"gunicorn_workers_x_threads": apis}
    etc = Layout.default().etc
    for conf in ("nova/nova.conf", "neutron/neutron.conf", "cinder/cinder.conf",
                 "keystone/keystone.conf"):
        path = etc / conf
        try:
            text = path.read_text()
        except OSError:
            continue
        section = ""
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("["):
                section = line.strip("[]")
            elif re.match(r"^(\w*workers|max_pool_size|max_overflow|rpc_workers)\s*=", line):
                key, _, value = line.partition("=")
                out[f"{conf.split('/')[0]}.{section}.{key.strip()}"] = value.strip()
    return out


# ---------------------------------------------------------------- govcloud


class Failed(RuntimeError):
    def __init__(self, message: str, returncode: int, took: float) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.took = took


class Govcloud:
    def __init__(self, tmp: Path, cloud: str, notes: list[str],
                 inventory: Path | None = None) -> None:
        self.cloud = cloud
        self.notes = notes
        self.inventory = inventory  # passed as --inventory (a PATH holds requests only)
        self.env = {**os.environ, "GOVCLOUD_STATE_DIR": str(tmp / "state"),
                    "GOVCLOUD_CREDENTIALS_KEY": secrets.token_hex(16), "NO_COLOR": "1"}
        self.env.pop("OS_CLOUD", None)
        exe = Path(sys.executable).parent / "govcloud"
        self.cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "govcloud"]

    def run(self, *args: str, timeout: float = 3600) -> tuple[float, subprocess.CompletedProcess]:
        if self.inventory is not None and args[0] in ("check", "plan", "apply", "drift",
                                                      "destroy"):
            args = (args[0], "--inventory", str(self.inventory), *args[1:])
        begin = time.monotonic()
        proc = subprocess.run([*self.cmd, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT)
        took = time.monotonic() - begin
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or "").strip().splitlines()[-15:])
            raise Failed(f"govcloud {args[0]} exited {proc.returncode}:\n{tail}",
                         proc.returncode, took)
        return took, proc

    def apply(self, paths: Iterable[Path]) -> tuple[float, float]:
        """Wall and CPU seconds (the govcloud process, on the bench's cores)."""
        cpu = children_cpu()
        args = ("apply", *map(str, paths), "--os-cloud", self.cloud, "--yes")
        try:
            took, proc = self.run(*args)
        except Failed as exc:
            if exc.returncode != 3:  # 3: a cloud call failed; apply resumes when re-run
                raise
            error = str(exc).splitlines()[-1]
            log(f"  apply failed after {exc.took:.1f} s ({error}); re-running it once")
            again, proc = self.run(*args)
            took = exc.took + again
            self.notes.append(f"an apply failed after {exc.took:.0f} s and was re-run "
                              f"({again:.0f} s; its time is the sum): {error[:300]}")
        cpu = children_cpu() - cpu
        summary = [line for line in proc.stderr.splitlines() if "apply complete" in line
                   or "no changes" in line]
        log(f"  {summary[-1] if summary else 'apply done'} in {took:.1f} s ({cpu:.1f} s CPU)")
        return took, cpu

    def noop_plan(self, paths: list[Path], repeat: int = 2) -> tuple[float, int]:
        """Best wall time of `plan -o json`, and the CLI's own call count."""
        best, calls = float("inf"), -1
        for _ in range(repeat):
            took, proc = self.run("plan", *map(str, paths), "--os-cloud", self.cloud,
                                  "-o", "json")
            plan = json.loads(proc.stdout)
            actions = sum(len(c["actions"]) for c in plan["clouds"])
            if actions:
                raise RuntimeError(f"plan right after apply is not empty: {actions} action(s): "
                                   f"{plan['clouds'][0]['actions'][:3]}")
            found = re.findall(r"\((\d+) API calls\)", proc.stderr)
            calls = int(found[-1]) if found else -1
            best = min(best, took)
        return best, calls

    def destroy(self, paths: Iterable[Path]) -> float:
        took, _ = self.run("destroy", *map(str, paths), "--os-cloud", self.cloud, "--yes")
        return took


def one_round(r: int, args: argparse.Namespace, gc: Govcloud, services: ServiceCpu,
              first: list[dict[str, Any]], files_n: list[Path], prefix: str, tmp: Path,
              ops_user_id: str, notes: list[str]) -> dict[str, Any]:
    """One round: govcloud's apply of the N tenants, the floor's and the playbook's creates of
    the same N under their own names; each phase's devcloud CPU under its name (round 1: plain
    "apply", "floor", "playbook"; later rounds with "_<r>")."""
    n = len(first)
    tag = "" if r == 1 else f"_{r}"
    got: dict[str, Any] = {}
    log(f"apply {n} tenants (round {r})")
    apply_n, cpu = services.measure(f"apply{tag}", gc.apply, files_n)
    got["apply_s"] = round(apply_n, 1)
    got["apply_cpu_s"] = round(cpu, 1)
    if not args.no_floor:
        log(f"floor: the same creates straight through openstacksdk, {n} tenants (round {r})")
        tenants = [f"{prefix}f{i:03d}" for i in range(1, n + 1)]
        try:
            fl = services.measure(f"floor{tag}", Floor(args.os_cloud, ops_user_id).run, first,
                                  tenants)
            got["floor_s"] = round(fl["s"], 1)
            got["floor_calls"] = fl["calls"]
            got["apply_floor_ratio"] = round(apply_n / fl["s"], 2)
            log(f"  floor done in {fl['s']:.1f} s ({fl['calls']} calls)")
        except Exception as exc:  # noqa: BLE001 - said; its tenants are swept
            notes.append(f"the floor run of round {r} failed: "
                         f"{str(exc).splitlines()[0][:300]}")
            log(f"  floor failed: {exc}")
    if not args.no_playbook:
        log(f"Ansible playbook, {n} tenants (round {r})")
        tenants = [f"{prefix}a{i:03d}" for i in range(1, n + 1)]
        pb = services.measure(f"playbook{tag}", run_playbook, tmp / f"ansible{tag}", first,
                              tenants, args.os_cloud, ops_user_id, notes)
        got["playbook_s"] = round(pb["s"], 1)
        got["playbook_cpu_s"] = round(pb["cpu_s"], 1)
        got["speedup"] = round(pb["s"] / apply_n, 2)
    log(f"  round {r}: " + ", ".join(f"{k} {v}" for k, v in got.items()))
    return got


def clear_round(gc: Govcloud, cloud: str, prefix: str, requests: Path) -> None:
    """Before the next round: govcloud destroy of the N tenants, the floor's and the playbook's
    swept beside it (the next round makes all three again under the same names)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        swept = [pool.submit(sweep, cloud, f"{prefix}{kind}") for kind in ("f", "a")]
        gc.destroy([requests])
        for done in swept:
            done.result()


def medians(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of the rounds: the median of each (speed-up and ratio: the median of each
    round's own), the worst speed-up, and every round as measured."""
    out: dict[str, Any] = {"runs": rounds}
    for key in ("apply_s", "apply_cpu_s", "floor_s", "floor_calls", "apply_floor_ratio",
                "playbook_s", "playbook_cpu_s", "speedup"):
        values = [r[key] for r in rounds if r.get(key) is not None]
        out[key] = round(statistics.median(values), 2) if values else None
    speedups = [r["speedup"] for r in rounds if r.get("speedup") is not None]
    out["speedup_min"] = min(speedups) if speedups else None
    return out


def once_more(what: str, notes: list[str], fn: Callable[..., Any], *args: Any) -> Any:
    """Run fn; if a cloud call failed (devcloud is shared: other sessions' tests restart its
    services), wait and run it once more, and say so in the notes."""
    from govcloud.errors import CloudError

    try:
        return fn(*args)
    except (Failed, CloudError) as exc:
        if isinstance(exc, Failed) and exc.returncode != 3:
            raise
        error = str(exc).strip().splitlines()[-1][:300]
        log(f"  {what} failed ({error}); once more in 10 s")
        notes.append(f"{what} failed once and was repeated: {error}")
        time.sleep(10)
        return fn(*args)


def plan_in_process(cloud_name: str, paths: list[Path], inventory: Path) -> dict[str, Any]:
    """The same no-op plan in-process: govcloud.cloud reads, govcloud.provision diffs."""
    from govcloud.cli.app import load_documents
    from govcloud.cloud import connect, read_cloud
    from govcloud.provision import desired_state, diff

    validated = load_documents(paths, 10 * 1024 * 1024, inventory)
    requests = list(validated.catalog.of_kind("ResourceRequest"))
    ids = {r.id for r in requests}
    cloud = connect(cloud_name)
    timings: list[tuple[float, str]] = []

    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        url = response.request.url or ""
        path = re.sub(r"^https?://[^/]+", "", url.split("?")[0])
        timings.append((response.elapsed.total_seconds(), f"{response.request.method} {path}"))
        return response

    cloud.conn.session.session.hooks["response"].append(hook)
    try:
        begin = time.monotonic()
        desired = desired_state(validated.catalog, requests)
        snap = read_cloud(cloud, desired, ids)
        plan = diff(desired, snap.resources, ids, snap.broken)
        took = time.monotonic() - begin
        return {"calls": cloud.counter.total, "writes": cloud.counter.writes,
                "by_method": dict(cloud.counter.by_method), "read_s": took,
                "actions": len(plan.actions), "resources": len(desired),
                "slowest": {what: round(t, 2) for t, what in sorted(timings)[-3:]}}
    finally:
        cloud.close()


# ---------------------------------------------------------------- Ansible


def cache_dir() -> Path:
    explicit = os.environ.get("GOVCLOUD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "govcloud"


def collections_path() -> Path:
    """openstack.cloud only (~2 MB), from pip's `ansible` wheel (54 MB, cached)."""
    root = cache_dir() / "collections"
    target = root / "ansible_collections/openstack/cloud"
    if (target / "MANIFEST.json").is_file():
        return root
    wheels = cache_dir() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob("ansible-*.whl")):
        log(f"downloading {ANSIBLE_WHEEL} (no deps) for its openstack.cloud collection")
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        ANSIBLE_WHEEL, "-d", str(wheels)], check=True)
    staging = Path(tempfile.mkdtemp(prefix="oscoll-", dir=cache_dir()))
    try:
        prefix = "ansible_collections/openstack/cloud/"
        with zipfile.ZipFile(sorted(wheels.glob("ansible-*.whl"))[-1]) as z:
            for name in z.namelist():
                if name.startswith(prefix):
                    z.extract(name, staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        (staging / prefix).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def module_python() -> Path:
    """The interpreter the openstack.cloud modules run in: a cached venv with openstacksdk
    4.14 (the collection's 2.5.0 reads `openstack.version`, which openstacksdk 4.15 dropped;
    the project's venv has a newer one). The controller (ansible-core, ansible-runner) is the
    project's venv."""
    venv = cache_dir() / "bench-ansible"
    python = venv / "bin/python"
    marker = venv / f".installed-{MODULE_SDK.replace('==', '-')}"
    if marker.exists():
        return python
    log(f"creating {venv} with {MODULE_SDK} (once)")
    shutil.rmtree(venv, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", MODULE_SDK],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pip install {MODULE_SDK} failed: {proc.stderr[-2000:]}")
    marker.touch()
    return python


def module_sdk_version(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import openstack; "
                           "print(openstack.version.__version__)"], capture_output=True,
                          text=True, check=True).stdout.strip()


def collection_version(root: Path) -> str:
    manifest = root / "ansible_collections/openstack/cloud/MANIFEST.json"
    return str(json.loads(manifest.read_text())["collection_info"]["version"])


def host_vars(request: dict[str, Any], tenant: str) -> dict[str, Any]:
    """The playbook's view of one request, renamed to `tenant` (names as govcloud derives them)."""
    spec = request["spec"]
    users = [{"name": u["name"].replace(spec["tenant"], tenant), "email": u.get("email"),
              "password": secrets.token_urlsafe(18)} for u in spec.get("users", [])]
    roles = [{"user": u["name"].replace(spec["tenant"], tenant), "role": role}
             for u in spec.get("users", []) for role in u["roles"]]
    networks = [{"name": f"{tenant}-{n['name']}", "cidr": n["cidr"]}
                for n in spec.get("networks", [])]
    interfaces = [f"{tenant}-{n['name']}-subnet" for n in spec.get("networks", [])
                  if n.get("router")]
    rules = []
    for group in spec.get("security_groups", []):
        for rule in group.get("rules", []):
            low, _, high = str(rule["port"]).partition("-")
            rules.append({"group": group["name"], "direction": rule["direction"],
                          "protocol": rule.get("protocol", "tcp"), "port_min": int(low),
                          "port_max": int(high or low), "remote": rule.get("remote", "0.0.0.0/0"),
                          "description": f"govcloud:request={request['metadata']['id']}"})
    servers = []
    for server in spec.get("servers", []):
        for index in range(1, server.get("count", 1) + 1):
            servers.append({"name": f"{server['name']}-{index}", "flavor": server["flavor"],
                            "image": server["image"], "network": f"{tenant}-{server['network']}",
                            "security_groups": server.get("security_groups", ["default"]),
                            "metadata": {"govcloud:request": request["metadata"]["id"],
                                         **{f"govcloud:{k}": v for k, v in
                                            server.get("components", {}).items()}}})
    volumes = [{"name": v["name"], "size": v["size_gb"],
                "type": "encrypted" if v.get("encrypted") else None}
               for v in spec.get("volumes", [])]
    attachments = [{"volume": v["name"], "server": v["attach_to"]}
                   for v in spec.get("volumes", []) if v.get("attach_to")]
    quotas = spec.get("quotas", {})
    return {"tenant": tenant, "purpose": spec["purpose"],
            "quotas": {"cores": quotas.get("cores"), "ram": quotas.get("ram_mb"),
                       "instances": quotas.get("instances"), "volumes": quotas.get("volumes"),
                       "gigabytes": quotas.get("gigabytes")},
            "users": users, "role_assignments": roles, "networks": networks,
            "router_interfaces": interfaces,
            "security_groups": [{"name": g["name"], "description": g.get("description", "")}
                                for g in spec.get("security_groups", [])],
            "rules": rules, "servers": servers, "volumes": volumes, "attachments": attachments}


def playbook() -> list[dict[str, Any]]:
    """Per tenant: project, quotas, users, role assignments, network, subnet, router, security
    group and rules, server, volume and attachment. Admin-scoped calls create the project-level
    objects with `project:`; servers and volumes are created in the tenant's project (a scoped
    token: `auth` merges into the clouds.yaml entry), which needs the admin user to hold a role
    there, as govcloud does."""
    cloud = "{{ os_cloud }}"
    scoped = {"project_name": "{{ tenant }}", "project_domain_name": "Default"}
    os_ = "openstack.cloud."
    tasks: list[dict[str, Any]] = [
        {"name": "project", os_ + "project": {
            "cloud": cloud, "name": "{{ tenant }}", "description": "{{ purpose }}",
            "domain": "default", "state": "present"}},
        {"name": "quotas", os_ + "quota": {
            "cloud": cloud, "name": "{{ tenant }}", "cores": "{{ quotas.cores }}",
            "ram": "{{ quotas.ram }}", "instances": "{{ quotas.instances }}",
            "volumes": "{{ quotas.volumes }}", "gigabytes": "{{ quotas.gigabytes }}"}},
        {"name": "users", os_ + "identity_user": {
            "cloud": cloud, "name": "{{ item.name }}", "password": "{{ item.password }}",
            "email": "{{ item.email | default(omit, true) }}", "domain": "default",
            "default_project": "{{ tenant }}", "update_password": "on_create"},
         "loop": "{{ users }}", "no_log": True},
        {"name": "role assignments", os_ + "role_assignment": {
            "cloud": cloud, "user": "{{ item.user }}", "role": "{{ item.role }}",
            "project": "{{ tenant }}"}, "loop": "{{ role_assignments }}"},
        {"name": "admin may create servers and volumes in the project",
         os_ + "role_assignment": {"cloud": cloud, "user": "{{ ops_user_id }}",
                                   "role": "{{ ops_role }}", "project": "{{ tenant }}"}},
        {"name": "networks", os_ + "network": {
            "cloud": cloud, "name": "{{ item.name }}", "project": "{{ tenant }}"},
         "loop": "{{ networks }}"},
        {"name": "subnets", os_ + "subnet": {
            "cloud": cloud, "name": "{{ item.name }}-subnet", "network": "{{ item.name }}",
            "cidr": "{{ item.cidr }}", "project": "{{ tenant }}"}, "loop": "{{ networks }}"},
        {"name": "router", os_ + "router": {
            "cloud": cloud, "name": "{{ tenant }}-router", "project": "{{ tenant }}",
            "network": "{{ external_network }}", "interfaces": "{{ router_interfaces }}"},
         "when": "router_interfaces | length > 0"},
        {"name": "security groups", os_ + "security_group": {
            "cloud": cloud, "name": "{{ item.name }}", "description": "{{ item.description }}",
            "project": "{{ tenant }}"}, "loop": "{{ security_groups }}"},
        {"name": "security group rules", os_ + "security_group_rule": {
            "cloud": cloud, "security_group": "{{ item.group }}", "project": "{{ tenant }}",
            "direction": "{{ item.direction }}", "protocol": "{{ item.protocol }}",
            "port_range_min": "{{ item.port_min }}", "port_range_max": "{{ item.port_max }}",
            "remote_ip_prefix": "{{ item.remote }}", "description": "{{ item.description }}"},
         "loop": "{{ rules }}"},
        {"name": "servers", os_ + "server": {
            "cloud": cloud, "auth": scoped, "name": "{{ item.name }}",
            "flavor": "{{ item.flavor }}", "image": "{{ item.image }}",
            "network": "{{ item.network }}", "security_groups": "{{ item.security_groups }}",
            "metadata": "{{ item.metadata }}", "auto_ip": False, "wait": True,
            "timeout": 600}, "loop": "{{ servers }}"},
        {"name": "volumes", os_ + "volume": {
            "cloud": cloud, "auth": scoped, "name": "{{ item.name }}", "size": "{{ item.size }}",
            "volume_type": "{{ item.type | default(omit, true) }}",
            "metadata": {"govcloud:request": "{{ request }}"}, "wait": True, "timeout": 600},
         "loop": "{{ volumes }}"},
        {"name": "volume attachments", os_ + "server_volume": {
            "cloud": cloud, "auth": scoped, "server": "{{ item.server }}",
            "volume": "{{ item.volume }}", "wait": True, "timeout": 600},
         "loop": "{{ attachments }}"},
    ]
    return [{"name": "govcloud bench: the requests as an openstack.cloud playbook",
             "hosts": "tenants", "connection": "local", "gather_facts": False,
             "tasks": tasks}]


def run_playbook(pdir: Path, requests: list[dict[str, Any]], tenants: list[str], cloud: str,
                 ops_user_id: str, notes: list[str]) -> dict[str, Any]:
    import ansible_runner

    collections = collections_path()
    python = module_python()
    (pdir / "project").mkdir(parents=True)
    (pdir / "inventory").mkdir()
    (pdir / "project/site.yml").write_text(yaml.safe_dump(playbook(), sort_keys=False))
    hosts = {}
    for request, tenant in zip(requests, tenants, strict=True):
        hosts[tenant] = {**host_vars(request, tenant), "request": request["metadata"]["id"]}
    inventory = {"tenants": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": str(python),
        "os_cloud": cloud, "ops_user_id": ops_user_id, "ops_role": OPS_ROLE,
        "external_network": "public"}}}
    inv_file = pdir / "inventory/hosts.yml"
    inv_file.write_text(yaml.safe_dump(inventory, sort_keys=False))
    inv_file.chmod(0o600)  # holds the new users' initial passwords; the folder is removed after
    envvars = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_RETRY_FILES_ENABLED": "False",
               "ANSIBLE_PIPELINING": "True",
               "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    log(f"playbook: {len(tenants)} hosts x {len(playbook()[0]['tasks'])} tasks, forks {FORKS}, "
        f"openstack.cloud {collection_version(collections)}")
    total, cpu_total = 0.0, 0.0
    for attempt in (1, 2):
        begin, cpu = time.monotonic(), children_cpu()
        result = ansible_runner.run(private_data_dir=str(pdir), playbook="site.yml",
                                    inventory=str(inv_file), forks=FORKS, envvars=envvars,
                                    quiet=True, suppress_env_files=True, timeout=3600)
        took, cpu = time.monotonic() - begin, children_cpu() - cpu
        total, cpu_total = total + took, cpu_total + cpu
        stats = result.stats or {}
        if result.status == "successful" and result.rc == 0:
            break
        failures = []
        for event in result.events:
            if event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
                data = event.get("event_data", {})
                res = data.get("res", {})
                failed = [r for r in res.get("results", []) if r.get("failed")] or [res]
                failures.append(f"{data.get('host')}: {data.get('task')}: "
                                f"{str(failed[0].get('msg', failed[0]))[:300]}")
        why = (f"playbook {result.status} (rc {result.rc}) after {took:.0f} s: "
               + "; ".join(failures[:3]))
        if attempt == 2:
            raise RuntimeError(why)
        log(f"  {why}; running it once more (it is idempotent)")
        notes.append(f"the playbook failed once and was re-run (its time is the sum): "
                     f"{why[:300]}")
    took, cpu = total, cpu_total
    ok = sum((stats.get("ok") or {}).values())
    changed = sum((stats.get("changed") or {}).values())
    log(f"  playbook successful in {took:.1f} s ({cpu:.1f} s CPU; {ok} ok, {changed} changed)")
    return {"s": took, "cpu_s": cpu, "tasks_ok": ok, "changed": changed}


# ---------------------------------------------------------------- the cloud's floor


def floor_calls(request: dict[str, Any], tenant: str) -> list[str]:
    """The write calls the floor makes for one request, in order (what govcloud's apply makes
    for a new tenant: its creates, tags and waits-for, without reading or planning)."""
    spec = request["spec"]
    calls = ["create_project", "update_quota_set(compute)", "update_quota_set(volume)",
             "update_project(quota tag)"]
    for user in spec.get("users", []):
        calls.append(f"create_user {user['name'].replace(spec['tenant'], tenant)}")
        calls += [f"assign_project_role_to_user {role.lower()}" for role in user["roles"]]
    for net in spec.get("networks", []):
        calls += [f"create_network {tenant}-{net['name']}", "set_tags",
                  f"create_subnet {tenant}-{net['name']}-subnet", "set_tags"]
    if any(net.get("router") for net in spec.get("networks", [])):
        calls += [f"create_router {tenant}-router", "set_tags"]
        calls += ["add_interface_to_router" for net in spec.get("networks", [])
                  if net.get("router")]
    for group in spec.get("security_groups", []):
        calls += [f"create_security_group {group['name']}", "set_tags"]
        calls += ["create_security_group_rule" for _ in group.get("rules", [])]
    if spec.get("servers") or spec.get("volumes"):
        calls.append("assign_project_role_to_user member (govcloud's own user)")
    for server in spec.get("servers", []):
        calls += [f"create_server {server['name']}-{i}" for i in range(1, server.get("count", 1)
                                                                        + 1)]
    for volume in spec.get("volumes", []):
        calls.append(f"create_volume {volume['name']}")
        if volume.get("attach_to"):
            calls.append(f"create_volume_attachment {volume['name']}:{volume['attach_to']}")
    return calls


class Floor:
    """The same creates as `govcloud apply` of new tenants, straight through openstacksdk: no
    validation, policies, reading or planning. Apply's parallelism: at most `workers` calls in
    flight, a tenant's steps in apply's order of urgency (its server boots while its router and
    user are made), waiting for a boot or a volume holds no slot, boots watched with one list of
    ACTIVE servers a second for all of them (as apply does)."""

    def __init__(self, cloud: str, ops_user_id: str, workers: int = FORKS) -> None:
        import openstack

        self.conn = openstack.connect(cloud=cloud)
        self.ops_user_id = ops_user_id
        self.slots = threading.BoundedSemaphore(workers)
        self.threads = workers * 4
        self.lock = threading.Lock()
        self.active: set[str] = set()
        self.errored: set[str] = set()
        self.polled = -1e9
        self.since = ""
        self.calls = 0

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self.slots:
            with self.lock:
                self.calls += 1
            return fn(*args, **kwargs)

    def lookups(self) -> dict[str, Any]:
        """What apply looks up once per run (flavors, images, the external network, roles,
        the encrypted volume type)."""
        conn = self.conn
        return {"flavors": {f.name: f.id for f in conn.compute.flavors(details=False)},
                "images": {i.name: i.id for i in conn.image.images() if i.status == "active"},
                "external": next(iter(conn.network.networks(is_router_external=True))).id,
                "roles": {r.name: r.id for r in conn.identity.roles()},
                "encrypted": conn.block_storage.find_type("encrypted")}

    def server_status(self, ident: str) -> str | None:
        with self.lock:
            if time.monotonic() - self.polled >= 1.0:
                query = {"all_tenants": 1, "changes-since": self.since}
                self.active = {s["id"] for s in self.conn.compute.get(
                    "/servers", params={**query, "status": "ACTIVE"}).json()["servers"]}
                self.errored = {s["id"] for s in self.conn.compute.get(
                    "/servers", params={**query, "status": "ERROR"}).json()["servers"]}
                self.polled = time.monotonic()
            return ("ACTIVE" if ident in self.active else "ERROR" if ident in self.errored
                    else None)

    @staticmethod
    def wait(what: str, probe: Callable[[], str | None], ok: str, timeout: float = 600) -> None:
        deadline, delay = time.monotonic() + timeout, 0.5
        while time.monotonic() < deadline:
            status = (probe() or "").lower()
            if status == ok:
                return
            if status.startswith("error"):
                raise RuntimeError(f"floor: {what} went to {status}")
            time.sleep(delay)
            delay = min(delay * 1.5, 3.0)
        raise RuntimeError(f"floor: {what} not {ok} after {timeout:.0f} s")

    def tenant(self, request: dict[str, Any], tenant: str, ids: dict[str, Any]) -> None:
        # Its own request ids: the floor's tenants must not look like the requests' to a later
        # govcloud apply (it would delete them as no longer asked for).
        spec, rid = request["spec"], "FLOOR-" + request["metadata"]["id"]
        conn, idp, net, call = self.conn, self.conn.identity, self.conn.network, self.call
        system = spec["system"]
        tags = sorted({f"govcloud:request={rid}", f"govcloud:department={spec['department']}",
                       f"govcloud:mlps={system['mlps_level']}",
                       f"govcloud:classification={system['classification']}"})
        project = call(idp.create_project, name=tenant, domain_id="default",
                       description=spec["purpose"], tags=tags)
        pid = project.id
        quotas = spec.get("quotas", {})
        compute = {k: quotas[q] for k, q in (("cores", "cores"), ("ram", "ram_mb"),
                                             ("instances", "instances")) if q in quotas}
        volume = {k: quotas[k] for k in ("volumes", "gigabytes") if k in quotas}
        call(conn.compute.update_quota_set, pid, **compute)
        call(conn.block_storage.update_quota_set, pid, **volume)
        call(idp.update_project, pid, tags=[*tags, "govcloud:quota=floor"])
        mark = [f"govcloud:request={rid}"]
        nets, subnets = {}, []
        for n in spec.get("networks", []):
            name = f"{tenant}-{n['name']}"
            network = call(net.create_network, name=name, project_id=pid)
            call(net.set_tags, network, mark)
            subnet = call(net.create_subnet, name=f"{name}-subnet", network_id=network.id,
                          cidr=n["cidr"], ip_version=4, project_id=pid)
            call(net.set_tags, subnet, mark)
            nets[n["name"]] = network.id
            if n.get("router"):
                subnets.append(subnet.id)
        for group in spec.get("security_groups", []):
            sg = call(net.create_security_group, name=group["name"],
                      description=group.get("description", ""), project_id=pid)
            call(net.set_tags, sg, mark)
            for rule in group.get("rules", []):
                low, _, high = str(rule["port"]).partition("-")
                call(net.create_security_group_rule, security_group_id=sg.id,
                     direction=rule["direction"], ethertype="IPv4",
                     protocol=rule.get("protocol", "tcp"), port_range_min=int(low),
                     port_range_max=int(high or low),
                     remote_ip_prefix=rule.get("remote", "0.0.0.0/0"),
                     description=f"govcloud:request={rid}", project_id=pid)
        booting: dict[str, str] = {}
        made: dict[str, str] = {}
        if spec.get("servers") or spec.get("volumes"):
            call(idp.assign_project_role_to_user, pid, self.ops_user_id, ids["roles"]["member"])
            scoped = conn.connect_as_project({"id": pid, "domain_id": "default"})
            for server in spec.get("servers", []):
                for index in range(1, server.get("count", 1) + 1):
                    name = f"{server['name']}-{index}"
                    meta = {"govcloud:request": rid, **{f"govcloud:{k}": v for k, v in sorted(
                        server.get("components", {}).items())}}
                    made_server = call(
                        scoped.compute.create_server, name=name,
                        flavor_id=ids["flavors"][server["flavor"]],
                        image_id=ids["images"][server["image"]],
                        networks=[{"uuid": nets[server["network"]]}],
                        security_groups=[{"name": g} for g in sorted(
                            server.get("security_groups", ["default"]))], metadata=meta)
                    booting[name] = made_server.id
            for vol in spec.get("volumes", []):
                attrs = ({"volume_type": ids["encrypted"].id}
                         if vol.get("encrypted") and ids["encrypted"] else {})
                made_volume = call(scoped.block_storage.create_volume, name=vol["name"],
                                   size=vol["size_gb"], metadata={"govcloud:request": rid},
                                   **attrs)
                made[vol["name"]] = made_volume.id
        if subnets:
            router = call(net.create_router, name=f"{tenant}-router", project_id=pid,
                          external_gateway_info={"network_id": ids["external"]})
            call(net.set_tags, router, mark)
            for subnet_id in subnets:
                call(net.add_interface_to_router, router.id, subnet_id=subnet_id)
        for user in spec.get("users", []):
            made_user = call(idp.create_user, name=user["name"].replace(spec["tenant"], tenant),
                             password=secrets.token_urlsafe(18), domain_id="default",
                             default_project_id=pid, email=user.get("email"),
                             description=f"managed by govcloud govcloud:request={rid}")
            for role in user["roles"]:
                call(idp.assign_project_role_to_user, pid, made_user.id,
                     ids["roles"][role.lower()])
        storage = conn.block_storage
        for name, vid in made.items():
            self.wait(f"volume {name}", lambda v=vid: storage.get_volume(v).status, "available")
        for name, sid in booting.items():
            self.wait(f"server {name}", lambda s=sid: self.server_status(s), "active")
        for vol in spec.get("volumes", []):
            if vol.get("attach_to") and vol["name"] in made:
                vid = made[vol["name"]]
                call(scoped.compute.create_volume_attachment, booting[vol["attach_to"]],
                     volume_id=vid)
                self.wait(f"attachment of {vol['name']}",
                          lambda v=vid: storage.get_volume(v).status, "in-use")

    def run(self, requests: list[dict[str, Any]], tenants: list[str]) -> dict[str, Any]:
        import datetime as dt

        begin = time.monotonic()
        self.since = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=120)).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        ids = self.lookups()
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            futures = [pool.submit(self.tenant, r, t, ids)
                       for r, t in zip(requests, tenants, strict=True)]
            for future in futures:
                future.result()
        took = time.monotonic() - begin
        self.conn.close()
        return {"s": took, "calls": self.calls}


# ---------------------------------------------------------------- cleanup


def sweep(cloud: str, prefix: str, attempts: int = 4,
          match: Callable[[Any], bool] | None = None) -> list[str]:
    """Delete every project named prefix* (or for which `match` holds) with everything in it,
    and users named prefix*.
    Plain openstacksdk, independent of govcloud: it runs after govcloud destroy for the
    playbook's tenants and whatever an interrupted run left. Each pass lists again, so a pass
    cut short (devcloud shared with tests that restart services) is finished by the next."""
    swept: set[str] = set()
    problems: list[str] = []
    for attempt in range(attempts):
        try:
            names, problems = _sweep_pass(cloud, prefix, match=match)
        except Exception as exc:  # noqa: BLE001 - listed again on the next pass
            names, problems = ["?"], [f"{type(exc).__name__}: {str(exc)[:200]}"]
        swept.update(n for n in names if n != "?")
        if not names or (not problems and attempt > 0):
            break
        if problems:
            log(f"  sweep pass {attempt + 1}: {len(problems)} problem(s), e.g. {problems[0]}")
            time.sleep(5)
    remaining, _ = _sweep_pass(cloud, prefix, dry=True, match=match)
    if remaining:
        raise RuntimeError(f"sweep left {len(remaining)} project(s): {', '.join(remaining[:5])}"
                           f" ({problems[:1]})")
    return sorted(swept)


def _sweep_pass(cloud: str, prefix: str, dry: bool = False,
                match: Callable[[Any], bool] | None = None) -> tuple[list[str], list[str]]:
    import openstack

    conn = openstack.connect(cloud=cloud)
    problems: list[str] = []
    pool = ThreadPoolExecutor(max_workers=8)

    def each(fn: Callable[[Any], Any], items: Iterable[Any]) -> None:
        def safe(item: Any) -> None:
            try:
                fn(item)
            except Exception as exc:  # noqa: BLE001 - collected; the next pass retries
                if "NotFound" not in type(exc).__name__:
                    problems.append(f"{type(exc).__name__}: {str(exc)[:160]}")

        list(pool.map(safe, list(items)))

    def wait_gone(list_fn: Callable[[], list[Any]], what: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while list_fn():
            if time.monotonic() > deadline:
                problems.append(f"{what} still there after {timeout:.0f} s")
                return
            time.sleep(1)

    try:
        # limit: keystone pages only when asked with one (else it cuts at 1,000, silently)
        projects = {p.id: p.name for p in conn.identity.projects(limit=1000)
                    if (match(p) if match else p.name.startswith(prefix))}
        pids = set(projects)
        users = [u for u in conn.identity.users(limit=1000)
                 if u.name.startswith(prefix) or u.default_project_id in pids]
        if dry or (not pids and not users):
            return sorted(projects.values()), []

        def servers() -> list[Any]:
            return [s for s in conn.compute.servers(all_projects=True) if s.project_id in pids]

        def volumes() -> list[Any]:
            return [v for v in conn.block_storage.volumes(all_projects=True)
                    if v.project_id in pids]

        each(lambda s: conn.compute.delete_server(s, ignore_missing=True), servers())
        wait_gone(servers, "servers")
        deadline = time.monotonic() + 120  # detaching follows the server's deletion
        while any(v.status not in ("available", "error") for v in volumes()) and (
                time.monotonic() < deadline):
            time.sleep(1)
        each(lambda v: conn.block_storage.delete_volume(v, ignore_missing=True, force=(
            v.status != "available")), volumes())
        wait_gone(volumes, "volumes")
        net = conn.network
        ports = [p for p in net.ports() if p.project_id in pids]
        each(lambda p: net.remove_interface_from_router(p.device_id, port_id=p.id),
             [p for p in ports if p.device_owner == "network:router_interface"])
        each(lambda r: net.delete_router(r, ignore_missing=True),
             [r for r in net.routers() if r.project_id in pids])
        each(lambda p: net.delete_port(p, ignore_missing=True),
             [p for p in net.ports() if p.project_id in pids
              and not (p.device_owner or "").startswith("network:")])
        each(lambda n: net.delete_network(n, ignore_missing=True),
             [n for n in net.networks() if n.project_id in pids])
        each(lambda g: net.delete_security_group(g, ignore_missing=True),
             [g for g in net.security_groups() if g.project_id in pids])
        each(lambda u: conn.identity.delete_user(u, ignore_missing=True), users)
        if not problems:  # a project goes last: without it, its leftovers are hard to find
            each(lambda pid: conn.identity.delete_project(pid, ignore_missing=True), pids)
        return sorted(projects.values()), problems
    finally:
        pool.shutdown()
        conn.close()


# ---------------------------------------------------------------- the bench


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=20, help="N (default 20)")
    parser.add_argument("--os-cloud", default="devcloud", help="admin cloud in clouds.yaml")
    parser.add_argument("--big", type=int, default=BIG,
                        help="tenants for noop_plan_100_s (default 100; 0: skip that part)")
    parser.add_argument("--big-servers", choices=("auto", "yes", "no"), default="auto",
                        help="servers and volumes in the tenants beyond 2N (auto: unless the "
                             "estimated apply exceeds --big-budget)")
    parser.add_argument("--big-budget", type=float, default=240.0,
                        help="seconds the apply of the tenants beyond 2N may take (auto)")
    parser.add_argument("--no-playbook", action="store_true", help="skip the Ansible run")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the floor (the same creates straight through openstacksdk)")
    parser.add_argument("--runs", type=int, default=3,
                        help="rounds of apply, floor and playbook (default 3; the figures are "
                             "their medians, each round in \"runs\")")
    parser.add_argument("--sweep", metavar="PREFIX",
                        help="only remove projects named PREFIX* (bench-<runid>-) and exit")
    args = parser.parse_args()
    if args.sweep:
        if not re.fullmatch(r"bench-[0-9a-f]{6}-", args.sweep):
            parser.error("--sweep takes a run's prefix, bench-<6 hex digits>-")
        log(f"swept {sweep(args.os_cloud, args.sweep)}")
        return 0
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    n, big = args.tenants, max(args.big, 2 * args.tenants) if args.big else 0

    import openstack

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(f"signal {signum}")  # unwinds through the cleanup below

    signal.signal(signal.SIGTERM, terminate)
    load_before = os.getloadavg()
    runid = secrets.token_hex(3)
    prefix = f"bench-{runid}-"
    tmp = Path(tempfile.mkdtemp(prefix="gc-provision-bench-"))
    notes: list[str] = []
    inventory = tmp / "inventory"
    shutil.copytree(ROOT / "inventory", inventory)
    gc = Govcloud(tmp, args.os_cloud, notes, inventory)
    depts = departments(inventory)
    out: dict[str, Any] = {"tenants": n}
    applied: list[Path] = []
    log(f"run {runid}: {n} tenants (then {2 * n}{f', then {big}' if big else ''}) on cloud "
        f"{args.os_cloud}, temp {tmp}")
    conn = openstack.connect(cloud=args.os_cloud)
    ops_user_id = str(conn.current_user_id)
    conn.close()
    services = ServiceCpu()
    out["devcloud_tuning"] = tuning()
    try:
        first = [make_request(runid, i, depts[i % len(depts)]) for i in range(1, n + 1)]
        second = [make_request(runid, i, depts[i % len(depts)]) for i in range(n + 1, 2 * n + 1)]
        files_n = write_requests(tmp / "req-n", first)
        files_2n = files_n + write_requests(tmp / "req-2n", second)

        took, proc = gc.run("check", *map(str, files_2n), "--format", "json", "--scope", "requests",
                            "--fail-on", "never")
        report = json.loads(proc.stdout)
        ours = [f for f in report["findings"] if f["target"].startswith("ResourceRequest/BENCH-")
                and f["severity"] in ("critical", "high")]
        if ours or report["errors"]:
            raise RuntimeError(f"generated requests fail check: {(ours or report['errors'])[:3]}")

        applied = [tmp / "req-n"]
        rounds: list[dict[str, Any]] = []
        for r in range(1, args.runs + 1):
            if r > 1:
                log(f"round {r} of {args.runs}: remove round {r - 1}'s tenants")
                clear_round(gc, args.os_cloud, prefix, tmp / "req-n")
            rounds.append(one_round(r, args, gc, services, first, files_n, prefix, tmp,
                                    ops_user_id, notes))
            if r == 1:
                log("no-op plan, N")
                noop, cli_calls = once_more("the no-op plan", notes, gc.noop_plan,
                                            files_n, 3)
                out["noop_plan_s"] = round(noop, 2)
                inproc = once_more("the in-process plan", notes, plan_in_process,
                                   args.os_cloud, files_n, inventory)
                out["noop_plan_calls"] = inproc["calls"]
                if cli_calls != inproc["calls"]:
                    notes.append(f"CLI said {cli_calls} API calls for the N plan, in-process "
                                 f"counted {inproc['calls']}")
        out.update(medians(rounds))

        log(f"apply {n} more tenants")
        applied.append(tmp / "req-2n")
        took, _ = gc.apply(files_2n)
        out["apply_next_n_s"] = round(took, 1)
        log("no-op plan, 2N")
        noop, _ = once_more("the 2N no-op plan", notes, gc.noop_plan, files_2n)
        out["noop_plan_2n_s"] = round(noop, 2)
        inproc_2n = once_more("the 2N in-process plan", notes, plan_in_process, args.os_cloud,
                              files_2n, inventory)
        out["noop_plan_calls_2n"] = inproc_2n["calls"]

        out["noop_plan_read_s"] = {"n": round(inproc["read_s"], 2),
                                   "2n": round(inproc_2n["read_s"], 2)}
        out["resources"] = {"n": inproc["resources"], "2n": inproc_2n["resources"]}
        if big:
            big_plan(gc, args, runid, depts, tmp, inventory, files_2n, took, applied, out, notes)
        else:
            out["noop_plan_100_s"] = None
    finally:
        cleanup_error = cleanup(gc, args.os_cloud, prefix, applied, out, notes)
        shutil.rmtree(tmp, ignore_errors=True)

    from importlib.metadata import version

    out["versions"] = {"ansible_core": version("ansible-core"),
                       "ansible_runner": version("ansible-runner"),
                       "openstacksdk": version("openstacksdk")}
    if not args.no_playbook:
        out["versions"]["openstack_cloud"] = collection_version(collections_path())
        out["versions"]["openstacksdk_modules"] = module_sdk_version(module_python())
    notes.append("*_s: wall seconds of CLI subprocesses (no-op plans: best of 3 for N, of 2 "
                 "for 2N and 100); *_calls: HTTP requests counted in-process, token requests "
                 f"excluded; playbook: one inventory host per tenant, forks {FORKS}, same cloud, "
                 f"fresh tenant names; bench CPUs {len(os.sched_getaffinity(0))} (govcloud and "
                 "Ansible run on them; devcloud's services do not)")
    out["service_cpu_s"] = services.phases
    out["loadavg"] = {"before": [round(x, 1) for x in load_before],
                      "after": [round(x, 1) for x in os.getloadavg()]}
    out["notes"] = notes
    out["bench_s"] = round(time.monotonic() - STARTED, 1)
    if cleanup_error:
        out["cleanup_error"] = cleanup_error
    print(json.dumps(out))
    return 1 if cleanup_error else 0


def big_plan(gc: Govcloud, args: argparse.Namespace, runid: str, depts: list[str], tmp: Path,
             inventory: Path, files_2n: list[Path], took_n: float, applied: list[Path],
             out: dict[str, Any], notes: list[str]) -> None:
    """Up to --big tenants (the ones beyond 2N without servers and volumes if those would take
    too long), then their no-op plan."""
    n, big = args.tenants, max(args.big, 2 * args.tenants)
    rest = big - 2 * n
    per_tenant = took_n / max(n, 1)
    with_servers = args.big_servers == "yes" or (
        args.big_servers == "auto" and per_tenant * rest <= args.big_budget)
    third = [make_request(runid, i, depts[i % len(depts)], compute=with_servers)
             for i in range(2 * n + 1, big + 1)]
    files_big = files_2n + write_requests(tmp / "req-big", third)
    if rest:
        if not with_servers:
            notes.append(
                f"the {rest} tenants beyond 2N={2 * n} of the {big}-tenant plan have no "
                f"server or volume: with them the apply was estimated at "
                f"{per_tenant * rest:.0f} s (> --big-budget {args.big_budget:.0f} s)")
        log(f"apply {rest} more tenants ({'with' if with_servers else 'without'} servers)")
        applied.append(tmp / "req-big")
        took, _ = gc.apply(files_big)
        out["apply_rest_s"] = round(took, 1)
    log(f"no-op plan, {big}")
    noop, _ = once_more(f"the {big} no-op plan", notes, gc.noop_plan, files_big)
    out["noop_plan_100_s"] = round(noop, 2)
    inproc_big = once_more(f"the {big} in-process plan", notes, plan_in_process, args.os_cloud,
                           files_big, inventory)
    out["noop_plan_calls_100"] = inproc_big["calls"]
    out["noop_plan_read_s"][str(big)] = round(inproc_big["read_s"], 2)
    out["noop_plan_slowest_calls_100"] = inproc_big["slowest"]
    out["resources"][str(big)] = inproc_big["resources"]


def cleanup(gc: Govcloud, cloud: str, prefix: str, paths: list[Path], out: dict[str, Any],
            notes: list[str]) -> str:
    """govcloud destroy for govcloud's tenants while the playbook's are swept (both only
    clean up, so they run side by side), then a last sweep of anything named prefix*."""
    begin = time.monotonic()
    error = ""
    with ThreadPoolExecutor(max_workers=2) as pool:
        swept = pool.submit(sweep, cloud, f"{prefix}a")
        if paths and all(p.exists() for p in paths):
            log("govcloud destroy, and sweep of the playbook's tenants")
            try:
                gc.destroy(paths)
            except Exception as exc:  # noqa: BLE001 - the sweep below still runs
                log(f"govcloud destroy failed: {exc}")
                notes.append(f"govcloud destroy failed ({str(exc).splitlines()[0]}); the sweep "
                             "removed the rest")
        try:
            swept.result()
        except Exception as exc:  # noqa: BLE001 - the last sweep tries again
            log(f"sweep of the playbook's tenants: {exc}")
    try:
        left = sweep(cloud, prefix)
        if left:
            log(f"  last sweep removed {len(left)} project(s): {', '.join(left[:5])}")
            ours = [name for name in left if name.startswith(f"{prefix}g")]
            if ours:
                notes.append(f"govcloud destroy left {len(ours)} project(s), e.g. {ours[0]}")
    except Exception as exc:  # noqa: BLE001 - reported, and the bench fails
        error = str(exc)
        log(f"CLEANUP INCOMPLETE: {exc}; finish it with `python bench/provision.py --sweep "
            f"{prefix}`")
    out["cleanup_s"] = round(time.monotonic() - begin, 1)
    log(f"cleanup done in {out['cleanup_s']} s")
    return error


if __name__ == "__main__":
    sys.exit(main())
