"""Benchmark and cross-check of `govcloud harden` against OpenSCAP and SSG's own playbook.

Boots two fresh Debian 12 targets (systemd-nspawn, each in its own network namespace):
  gcb1: OpenSCAP scan untouched -> govcloud audit -> remediate -> remediate again -> scan
  gcb2: SSG 0.1.76 generated playbook for ANSSI-BP-028 intermediary -> scan
Prints one JSON object (the issue's keys plus the rules still failing after govcloud). Needs root,
scripts/hardening-deps.sh, and ~3 minutes. Targets are torn down by pid even on failure.

SSG's playbook runs as root over SSH (it has no become and sets sudo "noexec", which would stop
any sudo-based run) with the ansible.posix / community.general collections it needs, copied out
of pip's `ansible` wheel into the cache. Its 56 sysctl tasks get `reload: false`: a container
shares the host kernel, whose /proc/sys is read-only here; govcloud skips runtime sysctl in
containers the same way, so both are judged on the files they write.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import yaml

from govcloud.hardening import run_baseline
from govcloud.hardening.oscap import scan_rootfs, ssg_dir
from govcloud.hardening.target import cache_dir, down, up

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


def main() -> int:
    out: dict = {}
    names = ("gcb1", "gcb2")
    for n in names:
        down(n)
    tmp = Path(tempfile.mkdtemp(prefix="gc-bench-"))
    try:
        gc, ssg = up(names[0]), up(names[1])
        untouched = scan_rootfs(gc.rootfs)
        audit = run_baseline(gc.inventory, check=True)
        remediate = run_baseline(gc.inventory, check=False)
        rerun = run_baseline(gc.inventory, check=False)
        after_gc = scan_rootfs(gc.rootfs)
        ssh_ok = gc.ssh("sudo", "-n", "true").returncode == 0
        ssg_s, ssg_failed = run_ssg(ssg, tmp)
        after_ssg = scan_rootfs(ssg.rootfs)
        out = {
            "audit_s": round(audit.duration_s, 1),
            "remediate_s": round(remediate.duration_s, 1),
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
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
