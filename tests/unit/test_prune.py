"""Managed groups and --prune through the CLI, with the cloud read faked (no cloud)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

import govcloud.policy as policy_pkg
from govcloud.cli.app import app
from govcloud.cloud.apply import Outcome
from govcloud.cloud.read import Snapshot
from govcloud.provision import desired_state, diff
from tests.unit.helpers import BASE, REQUEST, FakeCloud, load_texts, policies_once

IMAGES = {"kylin-v10-sp3": {"id": "i", "name": "kylin-v10-sp3", "status": "active",
                            "checksum": "c"}}
SSH = "web:ingress:tcp:22-22:0.0.0.0/0"


@pytest.fixture
def cloud_with_strays(monkeypatch, tmp_path):
    """The cloud holds what the request asks for, plus a rule added by hand to its managed
    group and a hand-made network. Records what apply would carry out."""
    import govcloud.cli.provision_cmd as cmd

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
    executed: list[list[tuple[str, str, str]]] = []

    def plan_one(target, validated, *, refresh, destroy=False, prune=False):
        desired = desired_state(validated.catalog, target.requests)
        plan = diff([] if destroy else desired, actual, target.ids, prune=prune)
        snap = Snapshot(resources=list(actual), images=dict(IMAGES))
        return cmd.Planned(target, FakeCloud(), desired, snap, plan, prune)

    def execute(planned, *args, **kwargs):
        cmd.note("executing")
        executed.append([(a.op, a.resource.kind, a.resource.name)
                         for a in planned.plan.actions])
        return Outcome()

    monkeypatch.setattr(cmd, "_plan_one", plan_one)
    monkeypatch.setattr(policy_pkg, "load_policies", policies_once)
    monkeypatch.setattr(cmd, "_execute", execute)
    monkeypatch.setenv("OS_CLOUD", "devcloud")
    monkeypatch.setenv("GOVCLOUD_SKIP_APPROVALS_ON_DEVCLOUD", "1")  # MLPS 3: not about approvals
    return tmp_path / "req.yaml", executed


def test_drift_reports_each_stray_once_as_unmanaged(cloud_with_strays):
    path, _ = cloud_with_strays
    result = CliRunner().invoke(app, ["drift", str(path), "-o", "json"])
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)["drift"]
    assert sorted((r["status"], r["kind"], r["name"]) for r in rows) == [
        ("unmanaged", "network", "hand-made"), ("unmanaged", "sg_rule", SSH)]


def test_apply_deletes_the_stray_rule_names_it_first_and_leaves_the_network(cloud_with_strays):
    path, executed = cloud_with_strays
    result = CliRunner().invoke(app, ["apply", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    assert executed == [[("delete", "sg_rule", SSH)]]
    listed = result.output.index(f"will delete sg_rule {SSH} (tenant health-epi)")
    assert listed < result.output.index("executing")


def test_prune_lists_then_deletes_the_unmanaged_network(cloud_with_strays):
    path, executed = cloud_with_strays
    result = CliRunner().invoke(app, ["apply", str(path), "--yes", "--prune"])
    assert result.exit_code == 0, result.output
    assert executed == [[("delete", "sg_rule", SSH), ("delete", "network", "hand-made")]]
    listed = result.output.index("will delete network hand-made (tenant health-epi): in a "
                                 "managed project but not created by govcloud (--prune)")
    assert listed < result.output.index("executing")


def test_a_saved_plan_prunes_only_if_it_was_made_with_prune(cloud_with_strays):
    path, executed = cloud_with_strays
    saved = path.parent / "plan.json"
    made = CliRunner().invoke(app, ["plan", str(path), "-o", "json", "--out", str(saved)])
    assert made.exit_code == 0, made.output
    assert json.loads(saved.read_text())["prune"] is False
    refused = CliRunner().invoke(app, ["apply", str(saved), "--yes", "--prune"])
    assert refused.exit_code == 2 and "made without it" in refused.output
    assert executed == []
    pruning = CliRunner().invoke(app, ["plan", str(path), "--prune", "--out", str(saved),
                                       "-o", "json"])
    assert pruning.exit_code == 0 and json.loads(saved.read_text())["prune"] is True
    applied = CliRunner().invoke(app, ["apply", str(saved), "--yes"])
    assert applied.exit_code == 0, applied.output
    assert ("delete", "network", "hand-made") in executed[0]


def test_destroy_takes_stray_rules_with_the_group_but_refuses_other_strays(cloud_with_strays):
    path, executed = cloud_with_strays
    result = CliRunner().invoke(app, ["destroy", str(path), "--yes"])
    assert result.exit_code == 3, result.output
    assert "network hand-made (tenant health-epi)" in result.output
    assert SSH not in result.output.split("did not create")[1]
    assert executed == []
