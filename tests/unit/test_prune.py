"""Managed groups and --prune through the CLI, on a fake cloud (no cloud)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from govcloud.cli.app import app
from govcloud.provision import desired_state
from tests.unit.fake_provision import FakeProvision
from tests.unit.helpers import BASE, REQUEST, load_texts

IMAGES = {"kylin-v10-sp3": {"id": "i", "name": "kylin-v10-sp3", "status": "active",
                            "checksum": "c"}}
SSH = "web:ingress:tcp:22-22:0.0.0.0/0"


@pytest.fixture
def cloud_with_strays(monkeypatch, tmp_path):
    """The cloud holds what the request asks for, plus a rule added by hand to its managed
    group and a hand-made network. Records what apply would carry out."""
    validated = load_texts(tmp_path, inv__base=BASE, req=REQUEST)
    assert not validated.all_errors
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(tmp_path / "inv"))
    resources = desired_state(validated.catalog)
    rule = next(r for r in resources if r.kind == "sg_rule")
    net = next(r for r in resources if r.kind == "network")
    actual = [*resources,
              dataclasses.replace(rule, name=SSH, request="",
                                  fields=(("direction", "ingress"), ("port_max", 22),
                                          ("port_min", 22), ("protocol", "tcp"),
                                          ("remote", "0.0.0.0/0"))),
              dataclasses.replace(net, name="hand-made", request="")]
    fake = FakeProvision(actual, IMAGES)
    monkeypatch.setenv("OS_CLOUD", "devcloud")
    monkeypatch.setenv("GOVCLOUD_SKIP_APPROVALS_ON_DEVCLOUD", "1")  # MLPS 3: not about approvals
    return tmp_path / "req.yaml", fake


def _run(fake, *args):
    return CliRunner().invoke(app, list(args), obj=fake.service)


def test_drift_reports_each_stray_once_as_unmanaged(cloud_with_strays):
    path, fake = cloud_with_strays
    result = _run(fake, "drift", str(path), "-o", "json")
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)["drift"]
    assert sorted((r["status"], r["kind"], r["name"]) for r in rows) == [
        ("unmanaged", "network", "hand-made"), ("unmanaged", "sg_rule", SSH)]


def test_apply_deletes_the_stray_rule_names_it_first_and_leaves_the_network(cloud_with_strays):
    path, fake = cloud_with_strays
    executed = fake.executed
    result = _run(fake, "apply", str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert executed == [[("delete", "sg_rule", SSH)]]
    listed = result.output.index(f"will delete sg_rule {SSH} (tenant health-epi)")
    assert listed < result.output.index("[1/")  # the first action done


def test_prune_lists_then_deletes_the_unmanaged_network(cloud_with_strays):
    path, fake = cloud_with_strays
    executed = fake.executed
    result = _run(fake, "apply", str(path), "--yes", "--prune")
    assert result.exit_code == 0, result.output
    assert executed == [[("delete", "sg_rule", SSH), ("delete", "network", "hand-made")]]
    listed = result.output.index("will delete network hand-made (tenant health-epi): in a "
                                 "managed project but not created by govcloud (--prune)")
    assert listed < result.output.index("[1/")  # the first action done


def test_a_saved_plan_prunes_only_if_it_was_made_with_prune(cloud_with_strays):
    path, fake = cloud_with_strays
    executed = fake.executed
    saved = path.parent / "plan.json"
    made = _run(fake, "plan", str(path), "-o", "json", "--out", str(saved))
    assert made.exit_code == 0, made.output
    assert json.loads(saved.read_text())["prune"] is False
    refused = _run(fake, "apply", str(saved), "--yes", "--prune")
    assert refused.exit_code == 2 and "made without it" in refused.output
    assert executed == []
    pruning = _run(fake, "plan", str(path), "--prune", "--out", str(saved), "-o", "json")
    assert pruning.exit_code == 0 and json.loads(saved.read_text())["prune"] is True
    applied = _run(fake, "apply", str(saved), "--yes")
    assert applied.exit_code == 0, applied.output
    assert ("delete", "network", "hand-made") in executed[0]


def test_destroy_takes_stray_rules_with_the_group_but_refuses_other_strays(cloud_with_strays):
    path, fake = cloud_with_strays
    executed = fake.executed
    result = _run(fake, "destroy", str(path), "--yes")
    assert result.exit_code == 3, result.output
    assert "network hand-made (tenant health-epi)" in result.output
    assert SSH not in result.output.split("did not create")[1]
    assert executed == []
