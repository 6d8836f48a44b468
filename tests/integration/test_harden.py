"""The baseline on a real Debian 12 host: systemd-nspawn in its own network namespace, over SSH.

One cycle on one target (a few minutes): audit a fresh copy (non-compliant controls), remediate,
audit again (compliant), remediate again (changed=0), and the management key still logs in.
A target that cannot boot FAILS the test with the reason (run scripts/hardening-deps.sh as root).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import typer
from typer.testing import CliRunner

from govcloud.cli import harden_cmd

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    old = os.environ.get("GOVCLOUD_STATE_DIR")
    os.environ["GOVCLOUD_STATE_DIR"] = str(state)
    from govcloud.hardening.target import down, up

    try:
        t = up("itest")
    except Exception as err:  # noqa: BLE001 - the reason is the test result
        pytest.fail(f"cannot boot the Debian 12 target: {err}", pytrace=False)
    try:
        yield t
    finally:
        down("itest")
        if old is None:
            os.environ.pop("GOVCLOUD_STATE_DIR", None)
        else:
            os.environ["GOVCLOUD_STATE_DIR"] = old


@pytest.fixture(scope="module")
def cycle(target):
    """audit -> remediate -> audit -> remediate, once for all tests of this module."""
    from govcloud.hardening import load_latest, run_baseline

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    harden_cmd.register(app)
    marker = target.rootfs / "tmp" / ".before-audit"
    marker.touch()
    cli_audit = CliRunner().invoke(
        app, ["harden", "--check", "-i", str(target.inventory), "-o", "json"]
    )
    latest_after_audit = load_latest()
    changed_by_audit = subprocess.run(
        ["find", str(target.rootfs / "etc"), "-newer", str(marker)], capture_output=True, text=True
    ).stdout.split()
    remediate = run_baseline(target.inventory, check=False)
    audit2 = run_baseline(target.inventory, check=True)
    remediate2 = run_baseline(target.inventory, check=False)
    return {
        "cli_audit": cli_audit,
        "latest": latest_after_audit,
        "remediate": remediate,
        "changed_by_audit": changed_by_audit,
        "audit2": audit2,
        "remediate2": remediate2,
    }


def statuses(run, host="itest"):
    return {cid: c.status for cid, c in run.hosts[host].controls.items()}


def test_audit_of_a_fresh_host_reports_non_compliant_controls_and_exits_1(cycle):
    res = cycle["cli_audit"]
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    bad = {f["policy"] for f in doc["findings"] if f["target"] == "Host/itest"}
    # a fresh Debian has none of these
    assert {"MLPS3-AC-02", "MLPS3-AU-01", "MLPS3-IA-03", "MLPS3-IP-03"} <= bad
    assert doc["hosts"]["itest"]["controls"]["MLPS3-AC-02"]["status"] == "non-compliant"
    assert doc["errors"] == []
    # saved for `govcloud audit`
    assert cycle["latest"]["mode"] == "audit"
    assert cycle["latest"]["hosts"]["itest"]["controls"]["MLPS3-AC-02"]["status"] == (
        "non-compliant"
    )


def test_remediation_fixes_every_control(cycle):
    run = cycle["remediate"]
    assert run.status == "successful" and run.report.errors == ()
    st = statuses(run)
    assert "remediated" in st.values()
    assert set(st.values()) <= {"remediated", "compliant"}, st


def test_audit_after_remediation_is_clean(cycle):
    run = cycle["audit2"]
    assert set(statuses(run).values()) == {"compliant"}
    assert run.report.findings == () and run.report.exit_code("low") == 0
    assert run.changed == 0


def test_second_remediation_changes_nothing(cycle):
    assert cycle["remediate2"].changed == 0
    assert set(statuses(cycle["remediate2"]).values()) == {"compliant"}


def test_ssh_and_sudo_still_work_and_root_login_is_refused(cycle, target):
    ok = target.ssh("sudo", "-n", "sshd", "-T")
    assert ok.returncode == 0, ok.stderr
    effective = dict(line.split(" ", 1) for line in ok.stdout.splitlines() if " " in line)
    assert effective["permitrootlogin"] == "no"
    assert effective["passwordauthentication"] == "no"
    from govcloud.hardening.target.machine import SSH_OPTS

    root = subprocess.run(
        ["ssh", *SSH_OPTS, "-i", str(target.key), f"root@{target.address}", "true"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert root.returncode != 0


def test_audit_changed_no_file_and_artifacts_hold_no_environment(cycle, target):
    assert cycle["changed_by_audit"] == []
    runs = target.rootfs.parents[2] / "hardening" / "runs"
    first_audit = sorted(p for p in runs.iterdir() if p.name.endswith("-audit"))[0]
    command = json.loads((first_audit / "artifacts/run/command").read_text())
    assert "--check" in command["command"]
    # ansible-runner copies the controller environment here; govcloud keeps only its own keys
    assert set(command["env"]) <= {
        "ANSIBLE_PIPELINING",
        "ANSIBLE_HOST_KEY_CHECKING",
        "PATH",
        "ANSIBLE_RETRY_FILES_ENABLED",
        "ANSIBLE_NOCOLOR",
        "ANSIBLE_FORCE_COLOR",
        "ANSIBLE_DEPRECATION_WARNINGS",
    }
    assert not (first_audit / "env" / "cmdline").exists()


def test_a_user_inventory_gets_host_key_checking(cycle, target, tmp_path, monkeypatch):
    """The same target through a user's inventory (no test-target marker): an unknown host key
    makes the host unreachable; its real host key in a known_hosts file makes it reachable."""
    import yaml

    from govcloud.hardening import run_baseline

    monkeypatch.setenv("OS_PASSWORD", "must-not-reach-ansible")
    host = {"ansible_host": target.address, "ansible_user": "gcadmin", "ansible_become": True,
            "ansible_ssh_private_key_file": str(target.key),
            "ansible_python_interpreter": "/usr/bin/python3"}
    known = tmp_path / "known_hosts"
    known.write_text("")
    host["ansible_ssh_common_args"] = f"-o UserKnownHostsFile={known} -o BatchMode=yes"
    inv = tmp_path / "user-inventory.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"itest": host}}}))
    refused = run_baseline(inv, check=True, tags=["MLPS3-AC-02"])
    assert not refused.hosts["itest"].reachable, refused.hosts["itest"]
    assert "host key" in refused.hosts["itest"].unreachable_msg.lower()

    keys = sorted((target.rootfs / "etc" / "ssh").glob("ssh_host_*_key.pub"))
    known.write_text("".join(f"{target.address} {' '.join(k.read_text().split()[:2])}\n"
                             for k in keys))
    accepted = run_baseline(inv, check=True, tags=["MLPS3-AC-02"])
    assert accepted.report.errors == (), accepted.report.errors
    assert statuses(accepted)["MLPS3-AC-02"] == "compliant"
    runs = target.rootfs.parents[2] / "hardening" / "runs"
    newest = sorted(p for p in runs.iterdir() if p.name.endswith("-audit"))[-1]
    assert b"must-not-reach-ansible" not in (newest / "artifacts/run/command").read_bytes()
