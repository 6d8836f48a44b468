"""`govcloud harden` option handling and exit codes, with the Ansible run faked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from govcloud.cli import harden_cmd
from govcloud.hardening import runner
from govcloud.hardening.controls import load_controls
from govcloud.hardening.results import collect, finalize, to_report


@pytest.fixture()
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path / "state"))
    a = typer.Typer()

    @a.callback()
    def _root() -> None:  # a group, like the real app
        pass

    harden_cmd.register(a)
    return a


def fake_run(changed: bool, seen: dict):
    def run_baseline(
        inventory, *, check, limit=None, tags=(), extravars=None, playbooks_dir=None, timeout=1800,
        forks=None,
    ):
        seen.update(
            inventory=inventory,
            check=check,
            limit=limit,
            tags=list(tags),
            extravars=dict(extravars or {}),
            forks=forks,
        )
        events = [
            {
                "event": "runner_on_ok",
                "event_data": {
                    "host": "web-1",
                    "task": "MLPS3-AC-02 | sshd",
                    "res": {"changed": changed},
                },
            }
        ]
        controls = load_controls()
        hosts = finalize(collect(events, check), controls, {"ok": {"web-1": 1}})
        info = {"run_id": "r", "counts": {"non-compliant": int(changed and check)}}
        return runner.HardenRun(
            "r",
            "audit" if check else "remediate",
            hosts,
            to_report(hosts, controls, "audit", info),
            1.0,
            int(changed),
            "successful",
            0,
            Path("/dev/null"),
        )

    return run_baseline


def test_audit_with_a_non_compliant_control_exits_1_and_renders_json(app, tmp_path, monkeypatch):
    seen: dict = {}
    monkeypatch.setattr("govcloud.hardening.run_baseline", fake_run(True, seen))
    inv = tmp_path / "hosts.yml"
    inv.write_text("all: {hosts: {web-1: {}}}\n")
    result = CliRunner().invoke(
        app,
        [
            "harden",
            "--check",
            "-i",
            str(inv),
            "--limit",
            "web-1",
            "--tags",
            "MLPS3-AC-02,audit",
            "-e",
            "hardening_umask=077",
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["findings"][0]["policy"] == "MLPS3-AC-02"
    assert doc["findings"][0]["target"] == "Host/web-1"
    assert doc["hosts"]["web-1"]["controls"]["MLPS3-AC-02"]["status"] == "non-compliant"
    assert seen == {
        "inventory": inv,
        "check": True,
        "limit": "web-1",
        "tags": ["MLPS3-AC-02", "audit"],
        "extravars": {"hardening_umask": "077"},
        "forks": None,
    }


def test_compliant_host_exits_0(app, tmp_path, monkeypatch):
    monkeypatch.setattr("govcloud.hardening.run_baseline", fake_run(False, {}))
    inv = tmp_path / "hosts.yml"
    inv.write_text("all: {hosts: {web-1: {}}}\n")
    result = CliRunner().invoke(app, ["harden", "--check", "-i", str(inv), "-o", "markdown"])
    assert result.exit_code == 0, result.output
    assert "| web-1 | MLPS3-AC-02 | compliant" in result.stdout


def test_bad_extra_var_is_a_usage_error(app, tmp_path):
    result = CliRunner().invoke(app, ["harden", "-i", str(tmp_path), "-e", "no-equals"])
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.output and "Traceback" not in result.output


def test_no_inventory_and_no_target_says_what_to_do(app):
    result = CliRunner().invoke(app, ["harden", "--check"])
    assert result.exit_code == 2
    assert "govcloud target up" in result.output


def test_missing_inventory_file_is_an_input_error(app, tmp_path):
    result = CliRunner().invoke(app, ["harden", "--check", "-i", str(tmp_path / "nope.yml")])
    assert result.exit_code == 2
    assert "not found" in result.output


def test_target_status_with_no_targets_prints_nothing(app):
    result = CliRunner().invoke(app, ["target", "status"])
    assert result.exit_code == 0 and result.stdout == ""
