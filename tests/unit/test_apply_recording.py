"""apply records its intent before the first write and its outcome after it (two entries), and
the failure when a write fails; the cloud is faked at the plan/execute seam."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace as NS

import pytest
from typer.testing import CliRunner

from govcloud.auditlog import default_log_path
from govcloud.cli import provision_cmd
from govcloud.cli.app import app
from govcloud.errors import CloudError

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "examples" / "requests" / "good-county-elderly-care-level2.yaml"
INVENTORY = str(ROOT / "inventory")
runner = CliRunner()


def _commands() -> list[str]:
    return [json.loads(line)["command"] for line in default_log_path().read_bytes().splitlines()]


@pytest.fixture
def fake_cloud(monkeypatch):
    seen: list[list[str]] = []

    def plan_one(target, validated, *, refresh, destroy=False, prune=False):
        plan = NS(empty=False, counts={"create": 1}, fingerprint="f" * 64,
                  summary=lambda: {"create": 1}, actions=[1])
        cloud = NS(counter=NS(writes=0, total=0), close=lambda: None)
        return provision_cmd.Planned(target, cloud, [], NS(resources=[], images={}), plan, prune)

    def execute(planned, *args, **kwargs):
        seen.append(_commands())  # what the log held when the first write went out
        if fake_cloud.fail:
            raise CloudError("cloud fake: create network failed")
        planned.cloud.counter.writes = 3
        return NS(passwords_written=[])

    monkeypatch.setattr(provision_cmd, "_plan_one", plan_one)
    monkeypatch.setattr(provision_cmd, "_execute", execute)
    # The planned-state check and the --prune listing have their own tests (test_planned.py,
    # test_prune.py); this fake plan has no resources for them to look at.
    monkeypatch.setattr(provision_cmd, "_gate_planned", lambda *a, **k: None)
    monkeypatch.setattr(provision_cmd, "_list_foreign_deletions", lambda *a, **k: None)
    monkeypatch.setenv("OS_CLOUD", "fake")
    fake_cloud.fail = False
    fake_cloud.seen = seen
    return fake_cloud


def test_apply_records_intent_before_the_first_write_and_outcome_after(fake_cloud):
    result = runner.invoke(app, ["apply", INVENTORY, str(GOOD), "--yes"])
    assert result.exit_code == 0, result.output
    assert fake_cloud.seen == [["apply (intent)"]]
    assert _commands() == ["apply (intent)", "apply"]


def test_a_failed_apply_records_its_failure(fake_cloud):
    fake_cloud.fail = True
    result = runner.invoke(app, ["apply", INVENTORY, str(GOOD), "--yes"])
    assert result.exit_code == 3 and "create network failed" in result.output
    assert _commands() == ["apply (intent)", "apply (failed)"]


def test_apply_with_an_unusable_audit_key_sends_nothing(fake_cloud, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVCLOUD_AUDIT_KEY", str(tmp_path / "gone.key"))
    result = runner.invoke(app, ["apply", INVENTORY, str(GOOD), "--yes"])
    assert result.exit_code == 3 and "gone.key" in result.output
    assert fake_cloud.seen == [] and not default_log_path().exists()
