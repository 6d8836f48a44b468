"""apply records its intent before the first write and its outcome after it (two entries), and
the failure when a write fails; on a fake cloud."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govcloud.auditlog import default_log_path
from govcloud.cli.app import app
from govcloud.errors import CloudError
from tests.unit.fake_provision import FakeProvision

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "examples" / "requests" / "good-county-elderly-care-level2.yaml"
INVENTORY = str(ROOT / "inventory")
KYLIN = {"id": "img-k", "name": "kylin-v10-sp3", "status": "active", "checksum": "c0ffee"}


def _commands() -> list[str]:
    return [json.loads(line)["command"] for line in default_log_path().read_bytes().splitlines()]


@pytest.fixture
def fake_cloud(monkeypatch):
    """An empty cloud with the request's image: the plan creates what the request asks for."""
    fake = FakeProvision(images={"kylin-v10-sp3": KYLIN}, on_run=lambda plan: _first_write(fake))
    fake.fail = False
    fake.seen = []
    monkeypatch.setenv("OS_CLOUD", "fake")
    monkeypatch.setenv("GOVCLOUD_CREDENTIALS_KEY", "00" * 16)  # the request makes users
    return fake


def _first_write(fake):
    fake.seen.append(_commands())  # what the log held when the first write went out
    if fake.fail:
        raise CloudError("cloud fake: create network failed")


def _apply(fake, *args):
    return CliRunner().invoke(app, ["apply", INVENTORY, str(GOOD), "--yes", *args],
                              obj=fake.service)


def test_apply_records_intent_before_the_first_write_and_outcome_after(fake_cloud):
    result = _apply(fake_cloud)
    assert result.exit_code == 0, result.output
    assert fake_cloud.seen == [["apply (intent)"]]
    assert _commands() == ["apply (intent)", "apply"]


def test_a_failed_apply_records_its_failure(fake_cloud):
    fake_cloud.fail = True
    result = _apply(fake_cloud)
    assert result.exit_code == 3 and "create network failed" in result.output
    assert _commands() == ["apply (intent)", "apply (failed)"]


def test_apply_with_an_unusable_audit_key_sends_nothing(fake_cloud, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVCLOUD_AUDIT_KEY", str(tmp_path / "gone.key"))
    result = _apply(fake_cloud)
    assert result.exit_code == 3 and "gone.key" in result.output
    assert fake_cloud.seen == [] and not default_log_path().exists()
