#!/usr/bin/env python3
"""Province scale on devcloud: N tenants made by `govcloud apply`, then what reading them costs.

Prints one JSON object (progress goes to stderr):
  tenants           N (--tenants, default 1,000): projects, each with its quotas, a user (member),
                    a network + subnet, a router (external gateway) and its interface, a security
                    group with 2 rules; the first --servers (default 100) also get a server
                    (c1m1/kylin-v10-sp3) and a 1 GB volume attached to it. The requests are
                    generated into a temp folder beside a copy of the demo province's inventory
                    (62 departments; the tenants go round its departments without a machine room
                    of their own), shaped like bench/provision.py's.
  setup_s           wall time of writing the requests and checking them (`govcloud check`)
  apply_s           wall time of `govcloud apply INVENTORY REQUESTS --yes` making all of it (the
                    same code path as a user's; one subprocess)
  noop_plan_s       wall time of `govcloud plan ... -o json` right after (median of --plans runs;
                    every run listed in noop_plan_runs_s), a subprocess each
  noop_plan_calls   the HTTP calls that plan made (its own "(K API calls)" line; token requests
                    excluded), to compare with bench/provision.py's figure at 20-100 tenants
  noop_plan_rss_mib peak RSS of the plan process (its own rusage, from wait4)
  drift_s           wall time of `govcloud drift ... -o json` (reads every quota live)
  audit_s           wall time of `govcloud audit --os-cloud devcloud -o json --no-hardening`
                    (the live audit of the whole cloud), with audit_api_calls, audit_documents
  destroy_s         wall time of `govcloud destroy ... --yes` removing everything
  plus: servers, volumes, resources, the devcloud tuning in effect (each API's gunicorn workers
  and threads, read from the running processes), devcloud's CPU seconds per service in each
  phase (/proc/<pid>/stat of every process of each service), the load average before and after,
  the RSS of every CLI run, and notes.

Everything is removed at the end, also on failure or SIGTERM/SIGINT: `govcloud destroy`, then an
openstacksdk sweep of every project named scale-<runid>-* and its contents. `--cleanup-only`
removes what any earlier run left: the projects whose govcloud:request tag is SCALE-*.

devcloud holds 2,286 router gateways on its two external subnets and 4,000 VXLAN ids
(docs/devcloud.md); the default 1,000 tenants take about 1.5 hours of apply and destroy on the
2-core machine (docs/provisioning.md has the figures).

`--keep DIR` stops before the destroy and leaves the run in DIR (its requests, inventory, state
and DIR/run.json); `--reuse DIR` measures such a run again without applying (the plan, drift
and audit figures, then the destroy, unless --keep is given again). Between the two the tenants
stay on devcloud: `--cleanup-only` removes them.

`--profile DIR` also runs the no-op plan, drift and the audit once each under cProfile
(DIR/plan.prof, drift.prof, audit.prof). Run it with the project's venv python, under the
devcloud lock: `flock /work/devcloud.lock .venv/bin/python bench/scale.py --tenants 50`.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import provision as pv  # noqa: E402  (bench/provision.py: request generator, sweep)

STARTED = time.monotonic()
TAG_PREFIX = "SCALE-"
PROGRESS = re.compile(r"\[(\d+)/(\d+)\] ")


def log(message: str) -> None:
    print(f"[scale {time.monotonic() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- requests


def tenant_name(runid: str, index: int) -> str:
    return f"scale-{runid}-t{index:04d}"


def requests_for(runid: str, n: int, servers: int, departments: list[str]) -> list[dict[str, Any]]:
    """N tenants; the first `servers` with a server and a volume. Deterministic given runid."""
    return [pv.make_request(runid, i, departments[i % len(departments)], compute=i <= servers,
                            tenant=tenant_name(runid, i),
                            request_id=f"{TAG_PREFIX}{runid}-{i:04d}")
            for i in range(1, n + 1)]


# ---------------------------------------------------------------- the CLI, as a user runs it


@dataclass
class Run:
    took: float
    rc: int
    stdout: str
    tail: list[str]
    rss_mib: float
    calls: int | None = None
    lines: list[str] = field(default_factory=list)


class Cli:
    def __init__(self, tmp: Path, cloud: str) -> None:
        self.cloud = cloud
        self.tmp = tmp
        self.env = {**os.environ, "GOVCLOUD_STATE_DIR": str(tmp / "state"),
                    "GOVCLOUD_CREDENTIALS_KEY": secrets.token_hex(16), "NO_COLOR": "1",
                    "PYTHONWARNINGS": "ignore"}
        self.env.pop("OS_CLOUD", None)
        exe = Path(sys.executable).parent / "govcloud"
        self.cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "govcloud"]
        self.rss: dict[str, list[float]] = collections.defaultdict(list)

    def run(self, label: str, *args: str, ok: tuple[int, ...] = (0,), every: float = 0,
            profile: Path | None = None) -> Run:
        """Run govcloud ARGS; stderr is followed line by line (progress lines every `every`
        percent, other lines as they come); peak RSS from the child's own rusage."""
        cmd = ([sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "govcloud"]
               if profile else self.cmd)
        out_path = self.tmp / f"stdout-{label}.txt"
        tail: collections.deque[str] = collections.deque(maxlen=40)
        begin = time.monotonic()
        with open(out_path, "w+", encoding="utf-8") as out:
            proc = subprocess.Popen([*cmd, *args], env=self.env, stdout=out,
                                    stderr=subprocess.PIPE, text=True, cwd=ROOT)
            reader = threading.Thread(target=self._follow, args=(proc, label, tail, every),
                                      daemon=True)
            reader.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            except BaseException:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                raise
            proc.returncode = os.waitstatus_to_exitcode(status)
            took = time.monotonic() - begin
            reader.join(10)
            out.seek(0)
            stdout = out.read()
        out_path.unlink()
        rss = usage.ru_maxrss / 1024  # KiB on Linux
        self.rss[label].append(round(rss, 1))
        found = re.findall(r"\((\d+) API calls\)", "\n".join(tail))
        run = Run(took, proc.returncode, stdout, list(tail), rss,
                  int(found[-1]) if found else None)
        if proc.returncode not in ok:
            raise pv.Failed(f"govcloud {args[0]} exited {proc.returncode} after {took:.0f} s:\n"
                            + "\n".join(list(tail)[-15:]), proc.returncode, took)
        return run

    @staticmethod
    def _follow(proc: subprocess.Popen, label: str, tail: collections.deque[str],
                every: float) -> None:
        shown = -1.0
        assert proc.stderr is not None
        for line in proc.stderr:
            line = line.rstrip("\n")
            tail.append(line)
            found = PROGRESS.match(line)
            if found:
                done, total = int(found.group(1)), max(int(found.group(2)), 1)
                percent = 100.0 * done / total
                if every and (percent >= shown + every or done == total):
                    shown = percent
                    log(f"  {label}: {line[:150]}")
            elif line.strip() and "Warning" not in line and not line.startswith(" "):
                log(f"  {label}: {line[:200]}")


# ---------------------------------------------------------------- the bench


def measure(args: argparse.Namespace, out: dict[str, Any], notes: list[str], cli: Cli,
            cpu: pv.ServiceCpu, inventory: Path, reqdir: Path, applied: list[bool]) -> None:
    paths = ["--inventory", str(inventory), str(reqdir)]
    cloud = ["--os-cloud", args.os_cloud]

    applied.append(True)
    if args.reuse:
        log(f"reusing run {args.runid}: {args.tenants} tenants applied earlier "
            f"({out.get('apply_s')} s)")
    else:
        log(f"apply {args.tenants} tenants ({out['servers']} with a server and a volume)")
        run = cpu.measure("apply", apply_once, cli, notes, paths, cloud)
        out["apply_s"] = round(run.took, 1)
        log(f"  apply done in {run.took:.1f} s (RSS {run.rss_mib:.0f} MiB)")

    log(f"no-op plan x{args.plans}")
    plans: list[Run] = []
    for i in range(args.plans):
        run = cpu.measure(f"noop_plan_{i + 1}", cli.run, "plan", "plan", *paths, *cloud,
                          "-o", "json")
        plan = json.loads(run.stdout)
        actions = sum(len(c["actions"]) for c in plan["clouds"])
        if actions:
            first = plan["clouds"][0]["actions"][:3]
            raise RuntimeError(f"plan right after apply is not empty: {actions} action(s), "
                               f"e.g. {first}")
        out["resources"] = sum(c["unchanged"] for c in plan["clouds"])
        plans.append(run)
        log(f"  plan {i + 1}: {run.took:.2f} s, {run.calls} calls, RSS {run.rss_mib:.0f} MiB")
    out["noop_plan_s"] = round(statistics.median(r.took for r in plans), 2)
    out["noop_plan_runs_s"] = [round(r.took, 2) for r in plans]
    out["noop_plan_calls"] = plans[-1].calls
    out["noop_plan_rss_mib"] = round(max(r.rss_mib for r in plans))

    log("drift")
    run = cpu.measure("drift", cli.run, "drift", "drift", *paths, *cloud, "-o", "json",
                      ok=(0, 1))
    out["drift_s"] = round(run.took, 2)
    out["drift_rss_mib"] = round(run.rss_mib)
    rows = json.loads(run.stdout)["drift"]
    if rows:
        notes.append(f"drift found {len(rows)} row(s) right after apply, e.g. {rows[0]}")
    log(f"  drift: {run.took:.2f} s, {len(rows)} row(s)")

    log("audit (live, whole cloud)")
    run = cpu.measure("audit", cli.run, "audit", "audit", *cloud, "-o", "json",
                      "--no-hardening", "--fail-on", "never")
    data = json.loads(run.stdout)
    out["audit_s"] = round(run.took, 2)
    out["audit_rss_mib"] = round(run.rss_mib)
    out["audit_api_calls"] = data["audit"]["api_calls"]
    out["audit_documents"] = sum(data["audit"]["documents"].values())
    ours = sum(1 for t in data.get("tenants", []) if t.startswith(f"scale-{args.runid}-"))
    if ours != args.tenants:
        notes.append(f"the audit saw {ours} of the {args.tenants} tenants")
    log(f"  audit: {run.took:.2f} s, {out['audit_api_calls']} calls, "
        f"{out['audit_documents']} documents")

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        for name, extra, ok in (("plan", ["-o", "json"], (0,)), ("drift", ["-o", "json"], (0, 1)),
                                ("audit", None, (0,))):
            argv = ([name, *paths, *cloud, *extra] if extra is not None else
                    ["audit", *cloud, "-o", "json", "--no-hardening", "--fail-on", "never"])
            run = cli.run(f"{name}-profiled", *argv, ok=ok, profile=args.profile / f"{name}.prof")
            log(f"  profiled {name}: {run.took:.2f} s -> {args.profile / (name + '.prof')}")

    if args.keep:
        applied.clear()
        log(f"kept: {args.tenants} tenants stay on {args.os_cloud}; measure again with "
            f"--reuse {args.keep}, remove with --cleanup-only")
        return
    log(f"destroy {args.tenants} tenants")
    run = cpu.measure("destroy", cli.run, "destroy", "destroy", *paths, *cloud, "--yes",
                      every=5)
    applied.clear()
    out["destroy_s"] = round(run.took, 1)
    log(f"  destroy done in {run.took:.1f} s")


def apply_once(cli: Cli, notes: list[str], paths: list[str], cloud: list[str]) -> Run:
    """apply; when a cloud call failed (exit 3: apply itself resumes three rounds after a dropped
    connection), run it once more, as an operator would, and say so."""
    args = ("apply", *paths, *cloud, "--yes")
    try:
        return cli.run("apply", *args, every=5)
    except pv.Failed as exc:
        if exc.returncode != 3:
            raise
        error = str(exc).strip().splitlines()[-1][:300]
        log(f"  apply failed after {exc.took:.0f} s ({error}); re-running it once")
        again = cli.run("apply", *args, every=5)
        notes.append(f"the apply failed after {exc.took:.0f} s and was re-run ({again.took:.0f} s;"
                     f" apply_s is the sum): {error}")
        again.took += exc.took
        return again


def cleanup(cli: Cli | None, args: argparse.Namespace, paths: list[str], applied: list[bool],
            out: dict[str, Any], notes: list[str]) -> str:
    """govcloud destroy if the measured one did not run, then a sweep of scale-<runid>-*."""
    begin = time.monotonic()
    if cli is not None and applied:
        log("cleanup: govcloud destroy")
        try:
            cli.run("cleanup-destroy", "destroy", *paths, "--os-cloud", args.os_cloud, "--yes",
                    every=10)
        except Exception as exc:  # noqa: BLE001 - the sweep below removes the rest
            first = str(exc).strip().splitlines()[0][:200]
            log(f"  destroy failed: {first}")
            notes.append(f"the cleanup's govcloud destroy failed ({first}); the sweep went on")
    error = ""
    try:
        left = pv.sweep(args.os_cloud, f"scale-{args.runid}-")
        if left:
            log(f"  sweep removed {len(left)} project(s), e.g. {left[0]}")
            notes.append(f"the sweep removed {len(left)} project(s) govcloud destroy left")
    except Exception as exc:  # noqa: BLE001 - reported; the bench fails
        error = str(exc)
        log(f"CLEANUP INCOMPLETE: {exc}; finish it with `python bench/scale.py --cleanup-only`")
    out["cleanup_s"] = round(time.monotonic() - begin, 1)
    return error


def cleanup_only(cloud: str) -> int:
    """Projects tagged govcloud:request=SCALE-* (any run), with what is in them."""
    def ours(project: Any) -> bool:
        return any(str(t).startswith(f"govcloud:request={TAG_PREFIX}")
                   for t in project.tags or ())

    left = pv.sweep(cloud, "scale-", match=ours)
    log(f"removed {len(left)} project(s){': ' + ', '.join(left[:5]) if left else ''}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000, help="N (default 1000)")
    parser.add_argument("--servers", type=int, default=100,
                        help="tenants with a server and a volume (default 100, at most N)")
    parser.add_argument("--plans", type=int, default=3, help="no-op plan runs (median)")
    parser.add_argument("--os-cloud", default="devcloud", help="admin cloud in clouds.yaml")
    parser.add_argument("--profile", type=Path, help="also cProfile plan, drift and audit here")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="leave the tenants applied and the run in DIR (no destroy)")
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="measure a run left by --keep DIR again, without applying")
    parser.add_argument("--cleanup-only", action="store_true",
                        help="remove the projects tagged by any earlier run, and exit")
    args = parser.parse_args()
    if args.cleanup_only:
        return cleanup_only(args.os_cloud)
    if args.tenants < 1:
        parser.error("--tenants must be at least 1")
    args.runid = secrets.token_hex(3)
    kept: dict[str, Any] = {}
    if args.reuse:
        kept = json.loads((args.reuse / "run.json").read_text(encoding="utf-8"))
        args.runid, args.tenants, args.servers = kept["runid"], kept["tenants"], kept["servers"]

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(f"signal {signum}")  # unwinds through the cleanup below

    signal.signal(signal.SIGTERM, terminate)
    from govcloud.devcloud import ADMIN_CLOUD, Layout, up

    if args.os_cloud == ADMIN_CLOUD:
        up(Layout.default(), progress=lambda m: log(f"devcloud: {m}"))
    load_before = os.getloadavg()
    servers = min(args.servers, args.tenants)
    out: dict[str, Any] = {"tenants": args.tenants, "servers": servers, "volumes": servers}
    notes: list[str] = []
    if args.reuse:
        tmp = args.reuse
        out["apply_s"] = kept.get("apply_s")
        out["reused"] = {k: kept[k] for k in ("runid", "applied_at", "apply_s") if k in kept}
    elif args.keep:
        tmp = args.keep
        tmp.mkdir(parents=True)  # a fresh folder: never over an earlier run's
    else:
        tmp = Path(tempfile.mkdtemp(prefix="gc-scale-bench-"))
    inventory, reqdir = tmp / "inventory", tmp / "requests"
    paths = ["--inventory", str(inventory), str(reqdir)]
    applied: list[bool] = []
    cli: Cli | None = None
    cleanup_error = ""
    cpu = pv.ServiceCpu()
    out["devcloud_tuning"] = pv.tuning()
    log(f"run {args.runid}: {args.tenants} tenants ({servers} with servers) on "
        f"{args.os_cloud}, temp {tmp}")
    try:
        cli = Cli(tmp, args.os_cloud)
        if not args.reuse:
            setup(args, out, cli, tmp, paths, servers)
        measure(args, out, notes, cli, cpu, inventory, reqdir, applied)
    except BaseException as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        out["error"] = f"{type(exc).__name__}: {first}"
        log(f"FAILED: {out['error']}")
        if not isinstance(exc, Exception):
            notes.append("interrupted")
    finally:
        if args.keep and "error" not in out:
            (tmp / "run.json").write_text(json.dumps(
                {"runid": args.runid, "tenants": args.tenants, "servers": servers,
                 "apply_s": out.get("apply_s"),
                 "applied_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}),
                encoding="utf-8")
        else:
            cleanup_error = cleanup(cli, args, paths, applied, out, notes)
            shutil.rmtree(tmp, ignore_errors=True)
    return report(out, notes, cli, cpu, load_before, cleanup_error)


def setup(args: argparse.Namespace, out: dict[str, Any], cli: Cli, tmp: Path, paths: list[str],
          servers: int) -> None:
    """The requests of N tenants beside a copy of the demo inventory, checked."""
    begin = time.monotonic()
    inventory, reqdir = tmp / "inventory", tmp / "requests"
    shutil.copytree(ROOT / "inventory", inventory)
    depts = pv.departments(inventory)
    pv.write_requests(reqdir, requests_for(args.runid, args.tenants, servers, depts))
    run = cli.run("check", "check", *paths, "--format", "json", "--fail-on", "never",
                  "--scope", "requests")
    checked = json.loads(run.stdout)
    bad = [f for f in checked["findings"] if f["target"].startswith(
        f"ResourceRequest/{TAG_PREFIX}") and f["severity"] in ("critical", "high")]
    if bad or checked["errors"]:
        raise RuntimeError(f"generated requests fail check: {(bad or checked['errors'])[:3]}")
    out["setup_s"] = round(time.monotonic() - begin, 1)
    out["check_s"] = round(run.took, 2)
    log(f"requests written and checked in {out['setup_s']} s (check {run.took:.1f} s)")


def report(out: dict[str, Any], notes: list[str], cli: Cli | None, cpu: pv.ServiceCpu,
           load_before: tuple[float, float, float], cleanup_error: str) -> int:
    if cli is not None:
        out["rss_mib"] = dict(cli.rss)
    out["service_cpu_s"] = cpu.phases
    out["cpus"] = {"machine": os.cpu_count(), "bench": len(os.sched_getaffinity(0))}
    out["loadavg"] = {"before": [round(x, 2) for x in load_before],
                      "after": [round(x, 2) for x in os.getloadavg()]}
    notes.append("*_s: wall seconds of govcloud CLI subprocesses (the bench's affinity; "
                 "devcloud's services keep theirs); *_rss_mib: each process's own peak; "
                 "service_cpu_s: devcloud CPU seconds per service in each phase")
    out["notes"] = notes
    out["bench_s"] = round(time.monotonic() - STARTED, 1)
    if cleanup_error:
        out["cleanup_error"] = cleanup_error
    print(json.dumps(out))
    sys.stdout.flush()
    return 1 if cleanup_error or "error" in out else 0


if __name__ == "__main__":
    sys.exit(main())
