"""Benchmark and cross-check of `govcloud harden` against OpenSCAP and SSG's own playbook.

Boots fresh Debian 12 targets (systemd-nspawn, each in its own network namespace):
  gcb1: OpenSCAP scan untouched -> govcloud audit -> remediate -> remediate again -> scan
  gcb2: SSG 0.1.76 generated playbook for ANSSI-BP-028 intermediary -> scan
  gcf1..gcf4 (the fleet): one audit run, then one remediation run, of the 4 hosts together
    (one inventory group, Ansible forks = 4), timed against gcb1's single-host audit and
    remediation (goal: 4 hosts in < 2x the time of 1)
Prints one JSON object (the issue's keys plus the rules still failing after govcloud). Needs root,
scripts/hardening-deps.sh, and ~8 minutes. Targets are torn down by pid even on failure.

`--fleet-only` skips OpenSCAP and SSG (single host vs fleet only); `--runs N` repeats that on fresh
targets and reports the median of each figure (and every run's). Each phase also reports how busy
the machine's CPUs were (`*_cpu_busy`: share of the CPUs this process may use, from /proc/stat,
so other users' load counts too) and the controller's CPU seconds (Ansible and ssh).

SSG's playbook runs as root over SSH (it has no become and sets sudo "noexec", which would stop
any sudo-based run) with the ansible.posix / community.general collections it needs, copied out
of pip's `ansible` wheel into the cache. Its 56 sysctl tasks get `reload: false`: a container
shares the host kernel, whose /proc/sys is read-only here; govcloud skips runtime sysctl in
containers the same way, so both are judged on the files they write.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from govcloud.hardening import HardenRun, run_baseline
from govcloud.hardening.oscap import scan_rootfs, ssg_dir
from govcloud.hardening.target import Target, cache_dir, down, fleet, fleet_inventory, up

FLEET = ("gcf1", "gcf2", "gcf3", "gcf4")

ANSIBLE_WHEEL = "ansible==12.3.0"  # bundles ansible.posix 2.1.0 and community.general 11.4.2


def collections_path() -> Path:
    """ansible.posix + community.general only (13 MB), from pip's `ansible` wheel (54 MB)."""
    root = cache_dir() / "collections"
    if (root / "ansible_collections/ansible/posix").is_dir():
        return root
    wheels = cache_dir() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob("ansible-*.whl")):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                ANSIBLE_WHEEL,
                "-d",
                str(wheels),
            ],
            check=True,
        )
    with zipfile.ZipFile(next(wheels.glob("ansible-*.whl"))) as z:
        for name in z.namelist():
            if name.startswith(
                ("ansible_collections/ansible/posix/", "ansible_collections/community/general/")
            ):
                z.extract(name, root)
    return root


def ssg_playbook(tmp: Path) -> Path:
    text = (ssg_dir() / "ansible/debian12-playbook-anssi_bp28_intermediary.yml").read_text()
    text = re.sub(r"(\n(\s+)reload: true)", r"\n\2reload: false", text)
    out = tmp / "ssg-anssi-intermediary.yml"
    out.write_text(text)
    return out


def root_inventory(target, tmp: Path) -> Path:  # type: ignore[no-untyped-def]
    """SSG's playbook expects to be root; authorize the target's key for root too."""
    ssh = target.rootfs / "root/.ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    (ssh / "authorized_keys").write_text(target.key.with_suffix(".pub").read_text())
    (ssh / "authorized_keys").chmod(0o600)
    inv = yaml.safe_load(target.inventory.read_text())
    host = inv["all"]["hosts"][target.name]
    host.update({"ansible_user": "root", "ansible_become": False})
    path = tmp / "root-inventory.yml"
    path.write_text(yaml.safe_dump(inv))
    return path


def run_ssg(target, tmp: Path) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(collections_path()),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    started = time.monotonic()
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(root_inventory(target, tmp)), str(ssg_playbook(tmp))],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    took = time.monotonic() - started
    (tmp / "ssg-run.log").write_text(proc.stdout + proc.stderr)
    m = re.search(r"failed=(\d+)", proc.stdout)
    return took, int(m.group(1)) if m else -1


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _tree_cpu_s(roots: Sequence[int]) -> float:
    """CPU seconds used so far by the process trees under ``roots`` (a target's nspawn): every
    live process's own time plus what its reaped children used (proc(5) utime..cstime), so a
    finished apt or sshd session still counts, once."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        ticks[pid] = sum(int(x) for x in fields[11:15])
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [r for r in roots if r in ticks]
    while todo:
        pid = todo.pop()
        total += ticks[pid]
        todo.extend(children.get(pid, ()))
    return total / os.sysconf("SC_CLK_TCK")


def timed(prefix: str, inventory: Path, targets: Sequence[Target],
          forks: int | None = None) -> tuple[HardenRun, dict]:
    """One baseline run (``prefix`` ends in audit or remediate), its time, how busy the machine
    was, the controller's CPU seconds (Ansible, ssh) and the targets' (everything in them)."""
    pids = [t.pid for t in targets]
    busy0, total0 = _cpu_ticks()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    tgt0 = _tree_cpu_s(pids)
    run = run_baseline(inventory, check=prefix.endswith("audit"), forks=forks)
    tgt1 = _tree_cpu_s(pids)
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, total1 = _cpu_ticks()
    share = len(os.sched_getaffinity(0)) / (os.cpu_count() or 1)
    controller = kids1.ru_utime + kids1.ru_stime - kids0.ru_utime - kids0.ru_stime
    return run, {
        f"{prefix}_s": round(run.duration_s, 1),
        f"{prefix}_cpu_busy": round(min(1.0, (busy1 - busy0) / max(1, total1 - total0) / share), 2),
        f"{prefix}_controller_cpu_s": round(controller, 1),
        f"{prefix}_targets_cpu_s": round(tgt1 - tgt0, 1),
    }


def _verdicts(run: HardenRun) -> dict[str, str]:
    return {name: h.verdict for name, h in sorted(run.hosts.items())}


def fleet_figures(single: dict, tmp: Path) -> dict:
    """Audit then remediate the 4 fresh fleet targets, each in one run of the whole group."""
    for n in FLEET:
        down(n)
    with fleet(FLEET) as targets:
        inv = fleet_inventory(targets, tmp / "fleet-inventory.yml")
        audit, audit_fig = timed("fleet_audit", inv, targets, forks=len(FLEET))
        remediate, rem_fig = timed("fleet_remediate", inv, targets, forks=len(FLEET))
    return {
        "fleet_hosts": len(remediate.hosts),
        **audit_fig,
        **rem_fig,
        "fleet_audit_ratio": round(audit.duration_s / single["audit_s"], 2),
        "fleet_remediate_ratio": round(remediate.duration_s / single["remediate_s"], 2),
        "fleet_audit_verdicts": _verdicts(audit),
        "fleet_remediate_verdicts": _verdicts(remediate),
    }


def single_figures(target: Target) -> tuple[dict, HardenRun, HardenRun]:
    audit, audit_fig = timed("audit", target.inventory, [target])
    remediate, rem_fig = timed("remediate", target.inventory, [target])
    return {**audit_fig, **rem_fig}, audit, remediate


def machine() -> dict:
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def fleet_only(runs: int) -> dict:
    """Single host vs fleet only, ``runs`` times on fresh targets: medians and every run."""
    samples: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="gc-bench-") as tmp:
        for _ in range(runs):
            down("gcb1")
            try:
                gc = up("gcb1")
                single, _, _ = single_figures(gc)
            finally:
                down("gcb1")
            samples.append({**single, **fleet_figures(single, Path(tmp)), **machine()})
    numeric = [k for k, v in samples[0].items() if isinstance(v, int | float)
               and not isinstance(v, bool)]
    out: dict = {k: statistics.median(s[k] for s in samples) for k in numeric}
    out["runs"] = runs
    out["per_run"] = samples
    return out


def full() -> dict:
    out: dict = {}
    names = ("gcb1", "gcb2")
    for n in names:
        down(n)
    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-"))
    try:
        gc, ssg = up(names[0]), up(names[1])
        untouched = scan_rootfs(gc.rootfs)
        single, audit, remediate = single_figures(gc)
        rerun = run_baseline(gc.inventory, check=False)
        after_gc = scan_rootfs(gc.rootfs)
        ssh_ok = gc.ssh("sudo", "-n", "true").returncode == 0
        ssg_s, ssg_failed = run_ssg(ssg, tmp)
        after_ssg = scan_rootfs(ssg.rootfs)
        out = {
            **single,
            "rerun_s": round(rerun.duration_s, 1),
            "rerun_changed": rerun.changed,
            "ssg_remediate_s": round(ssg_s, 1),
            "oscap_fail": {
                "untouched": untouched.counts.get("fail", 0),
                "govcloud": after_gc.counts.get("fail", 0),
                "ssg": after_ssg.counts.get("fail", 0),
            },
            "oscap_pass": {
                "untouched": untouched.counts.get("pass", 0),
                "govcloud": after_gc.counts.get("pass", 0),
                "ssg": after_ssg.counts.get("pass", 0),
            },
            "audit_noncompliant_controls": audit.report.sections["hardening"]["counts"][
                "non-compliant"
            ],
            "after_remediation_noncompliant": remediate.report.sections["hardening"]["counts"][
                "non-compliant"
            ],
            "ssh_after_hardening": ssh_ok,
            "ssg_failed_tasks": ssg_failed,
            "oscap_scan_s": round(after_gc.seconds, 1),
            "still_failing_after_govcloud": after_gc.failing(),
            "failing_after_ssg_not_govcloud": sorted(
                set(after_ssg.failing()) - set(after_gc.failing())
            ),
            "failing_after_govcloud_not_ssg": sorted(
                set(after_gc.failing()) - set(after_ssg.failing())
            ),
            "ssg_log": str(tmp / "ssg-run.log"),
        }
    finally:
        for n in names:
            down(n)
    # the fleet after the two single targets are gone: the 4 hosts have the machine to themselves
    out.update(fleet_figures(out, tmp))
    out.update(machine())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet-only", action="store_true",
                        help="single host vs fleet only (no OpenSCAP, no SSG playbook)")
    parser.add_argument("--runs", type=int, default=1,
                        help="with --fleet-only: repeat on fresh targets, report medians")
    args = parser.parse_args()
    # `make bench` pins every bench to one core; the targets stand for other machines, and they
    # inherit this process's affinity: on one core a fleet would measure the core, not govcloud.
    os.sched_setaffinity(0, range(os.cpu_count() or 1))
    out = fleet_only(max(1, args.runs)) if args.fleet_only else full()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
