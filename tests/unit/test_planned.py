"""The planned state as Cloud* documents and the live-cloud policies on it (no cloud)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from typer.testing import CliRunner

from govcloud.cli.app import app
from govcloud.cloud.mappers import normalize_rule
from govcloud.policy import load_policies
from govcloud.provision import desired_state
from govcloud.provision.desired import _fields
from govcloud.provision.planned import check_planned, planned_documents
from govcloud.validate import schema_errors
from tests.unit.fake_provision import FakeProvision
from tests.unit.helpers import (
    BASE,
    REQUEST,
    load_texts,
    with_rules,
    write,
    yaml_doc,
)

TODAY = dt.date(2026, 12, 1)
KYLIN = {"id": "img-k", "name": "kylin-v10-sp3", "status": "active", "checksum": "c0ffee",
         "os_hash_algo": "sha512", "os_hash_value": "ab" * 64}
DEBIAN = {"id": "img-d", "name": "debian-12", "status": "active", "os_distro": "debian",
          "checksum": "beef"}
IMAGES = {"kylin-v10-sp3": KYLIN, "debian-12": DEBIAN}
USERS = """
  users:
    - {name: epi-ops, roles: [member]}
"""


def _setup(tmp_path, request=REQUEST):
    validated = load_texts(tmp_path, inv__base=BASE, req=request)
    assert not validated.all_errors, validated.all_errors
    return validated, desired_state(validated.catalog)


_POLICIES = []


def _check(validated, resources, fail_on="high", images=IMAGES, ids=None):
    if not _POLICIES:  # compiled once for the module
        _POLICIES.append(load_policies())
    docs = planned_documents(resources, "devcloud", ids=ids, images=images)
    return check_planned(validated.catalog, _POLICIES[0], docs, fail_on=fail_on, today=TODAY)


def test_planned_documents_are_valid_cloud_documents_of_every_resource(tmp_path):
    validated, resources = _setup(tmp_path, REQUEST + USERS)
    docs = planned_documents(resources, "devcloud", images=IMAGES)
    assert sorted(d.kind for d in docs) == sorted(
        ["CloudProject", "CloudUser", "CloudNetwork", "CloudRouter", "CloudSecurityGroup",
         "CloudServer", "CloudServer", "CloudVolume"])
    for doc in docs:
        assert schema_errors(doc) == [], doc.ref
        assert doc.file == "plan:devcloud"
    by_kind = {d.kind: d.spec for d in docs}
    project = by_kind["CloudProject"]
    assert (project["classification"], project["mlps_level"]) == ("internal", 3)
    assert project["quotas"] == {"cores": 8, "ram_mb": 16384, "instances": 4}
    assert project["users"] == [{"name": "epi-ops", "user_id": project["users"][0]["user_id"],
                                 "roles": ["member"]}]
    assert by_kind["CloudUser"]["role_names"] == ["member"]
    assert by_kind["CloudRouter"]["external_gateway"] is True
    assert by_kind["CloudServer"]["image"]["found"] is True
    assert by_kind["CloudServer"]["image"]["hash_algo"] == "sha512"
    assert by_kind["CloudServer"]["request"] == "REQ-1"
    volume = by_kind["CloudVolume"]
    server_ids = {d.spec["name"]: d.spec["server_id"] for d in docs if d.kind == "CloudServer"}
    assert volume["attached_to"] == [server_ids["app-1"]] and volume["encrypted"] is True


def test_planned_rules_are_what_the_audit_reads_after_apply(tmp_path):
    """The rule as neutron shows it once created, through the audit's own normaliser."""
    _, resources = _setup(tmp_path)
    (group,) = [d for d in planned_documents(resources, "devcloud") if
                d.kind == "CloudSecurityGroup"]
    live = normalize_rule({"id": None, "direction": "ingress", "ethertype": "IPv4",
                           "protocol": "tcp", "port_range_min": 443, "port_range_max": 443,
                           "remote_ip_prefix": "0.0.0.0/0", "remote_group_id": None,
                           "remote_address_group_id": None,
                           "description": "govcloud:request=REQ-1"})
    requested, *defaults = group.spec["rules"]
    assert {k: v for k, v in requested.items() if k != "rule_id"} == live
    # neutron's own allow-all egress pair comes with every new group, as the audit sees it.
    assert [(r["direction"], r["remote"], r["protocol"]) for r in defaults] == [
        ("egress", "0.0.0.0/0", "any"), ("egress", "::/0", "any")]


def test_a_clean_request_has_no_planned_findings(tmp_path):
    validated, resources = _setup(tmp_path, REQUEST + USERS)
    result = _check(validated, resources, fail_on="low")
    assert result.findings == () and result.blocking == ()


def test_ssh_to_the_world_in_the_planned_state_is_refused_naming_tenant_and_group(tmp_path):
    request = REQUEST.replace("port: 443, remote: 0.0.0.0/0", "port: 20-30, remote: 0.0.0.0/0")
    validated, resources = _setup(tmp_path, request)
    result = _check(validated, resources)
    (finding,) = result.blocking
    assert finding.policy == "GC-NET-001" and finding.severity == "critical"
    text = result.describe(finding)
    assert text.startswith("tenant health-epi: security group 'web':")
    assert "rule ingress tcp 20-30 from 0.0.0.0/0" in text
    # --fail-on never lets a waivable policy through, as in check.
    assert _check(validated, resources, fail_on="never").blocking == ()


@pytest.mark.parametrize("rule", [
    "{direction: ingress, protocol: tcp, port: 22, remote: 0.0.0.0/00}",
    "{direction: ingress, protocol: tcp, port: 22, remote: '::0/0'}",
    "{direction: ingress, protocol: tcp, port: 22, remote: '0:0:0:0:0:0:0:0/0'}",
    "{direction: ingress, protocol: any, remote: 0.0.0.0/0}",  # no protocol: every port
    "{direction: ingress, protocol: tcp, remote: 0.0.0.0/0}",  # no port: every port
    "{direction: ingress, protocol: tcp, port: 1-65535}",  # no remote: the world
])
def test_a_respelled_world_open_rule_is_judged_as_neutron_will_hold_it(tmp_path, rule):
    request = with_rules(rule)
    validated, resources = _setup(tmp_path, request)
    blocking = {f.policy for f in _check(validated, resources).blocking}
    # every port open is also GC-NET-002 (allow-all); the management port is GC-NET-001
    assert "GC-NET-001" in blocking and blocking <= {"GC-NET-001", "GC-NET-002"}


def test_a_non_waivable_finding_refuses_at_any_fail_on_and_despite_a_waiver(tmp_path):
    """A classified tenant's router with a gateway (what desired_state never makes: the planned
    state catches it anyway)."""
    request = REQUEST.replace("classification: internal", "classification: secret").replace(
        "platform: gov-external-cloud", "platform: gov-internal-cloud").replace(
        "network_zone: gov-external", "network_zone: gov-internal")
    validated, resources = _setup(tmp_path, request)
    assert _check(validated, resources).blocking == ()
    forced = [dataclasses.replace(r, fields=_fields({"external_gateway": True}))
              if r.kind == "router" else r for r in resources]
    router = next(r for r in forced if r.kind == "router")
    ids = {router.key: "0b5d1e4a-router"}
    write(tmp_path, "waiver.yaml", yaml_doc(
        "Waiver", "W-1", "{policy: GC-CLS-002, target: CloudRouter/0b5d1e4a-router, reason: tried,"
        ' approved_by: me, expires: "2099-01-01"}'))
    validated = load_texts(tmp_path, base=BASE, req=request)
    for fail_on in ("critical", "never"):
        result = _check(validated, forced, fail_on=fail_on, ids=ids)
        (finding,) = result.blocking
        assert finding.policy == "GC-CLS-002" and not finding.waived
        assert finding.target == "CloudRouter/0b5d1e4a-router"  # the live resource's id
        assert result.describe(finding).startswith(
            "tenant health-epi: router 'health-epi-router':")


def test_tenant_users_with_two_of_the_three_admin_roles_are_refused(tmp_path):
    request = REQUEST + """
  users:
    - {name: epi-boss, roles: [admin, auditor]}
"""
    validated, resources = _setup(tmp_path, request)
    (finding,) = _check(validated, resources).blocking
    assert finding.policy == "GC-SOD-001"
    assert "user 'epi-boss'" in _check(validated, resources).describe(finding)


@pytest.mark.parametrize(("image", "images", "policy"), [
    ("debian-12", IMAGES, "GC-IMG-001"),  # os_distro says debian, whatever the name
    ("kylin-v10-sp3", {"kylin-v10-sp3": {**KYLIN, "os_distro": "ubuntu"}}, "GC-IMG-001"),
    ("no-such-image", IMAGES, "GC-IMG-001"),  # not found: cannot show a domestic OS
])
def test_a_server_booting_a_foreign_or_unknown_image_is_refused(tmp_path, image, images,
                                                                 policy):
    validated, resources = _setup(tmp_path, REQUEST.replace("image: kylin-v10-sp3",
                                                            f"image: {image}"))
    result = _check(validated, resources, images=images)
    assert {f.policy for f in result.blocking} == {policy}
    assert {f.target for f in result.blocking} == {
        d.ref for d in result.documents if d.kind == "CloudServer"}


def test_an_image_without_checksum_blocks_only_at_medium(tmp_path):
    validated, resources = _setup(tmp_path)
    bare = {"kylin-v10-sp3": {"id": "i", "name": "kylin-v10-sp3", "status": "active"}}
    assert _check(validated, resources, images=bare).blocking == ()
    medium = _check(validated, resources, images=bare, fail_on="medium")
    assert {f.policy for f in medium.blocking} == {"GC-IMG-002"}


def test_a_cloud_document_among_the_files_does_not_hide_the_planned_one(tmp_path):
    validated, resources = _setup(tmp_path, REQUEST.replace(
        "port: 443, remote: 0.0.0.0/0", "port: 22, remote: 0.0.0.0/0"))
    group = next(r for r in resources if r.kind == "security_group")
    ids = {group.key: "g-1"}
    write(tmp_path, "decoy.yaml", yaml_doc(
        "CloudSecurityGroup", "g-1",
        "{cloud: devcloud, tenant: health-epi, name: web, group_id: g-1, rules: []}"))
    validated = load_texts(tmp_path, base=BASE, req=REQUEST.replace(
        "port: 443, remote: 0.0.0.0/0", "port: 22, remote: 0.0.0.0/0"))
    assert {f.policy for f in _check(validated, resources, ids=ids).blocking} == {"GC-NET-001"}


# ---------------------------------------------------------------- through the CLI


@pytest.fixture
def planned_offline(monkeypatch):
    """plan/apply on an empty fake cloud holding IMAGES; any write would fail the test."""
    def no_write(plan):
        raise AssertionError("apply wrote to the cloud")

    monkeypatch.setenv("OS_CLOUD", "devcloud")
    monkeypatch.setenv("GOVCLOUD_SKIP_APPROVALS_ON_DEVCLOUD", "1")  # MLPS 3: not about approvals
    return FakeProvision(images=IMAGES, on_run=no_write)


def test_plan_and_apply_refuse_a_planned_state_the_audit_would_flag(tmp_path, planned_offline,
                                                                   monkeypatch):
    # The inventory's image catalog says kylin-v10-sp3 boots Kylin, so the request passes its
    # request-time policies; glance's image of that name says debian: only the planned state
    # (what the audit would read after apply) shows it.
    monkeypatch.setitem(IMAGES, "kylin-v10-sp3", {**KYLIN, "os_distro": "debian"})
    validated, _ = _setup(tmp_path, REQUEST)
    for command in (["plan"], ["apply", "--yes"]):
        result = CliRunner().invoke(app, [*command, str(tmp_path / "req.yaml"),
                                          "--inventory", str(tmp_path / "inv")],
                                    obj=planned_offline.service)
        assert result.exit_code == 1, result.output
        assert "GC-IMG-001" in result.output
        assert "tenant health-epi: server 'app-1'" in result.output
        assert "Nothing was sent to the cloud" in result.output
    monkeypatch.setitem(IMAGES, "kylin-v10-sp3", KYLIN)
    clean = tmp_path / "clean"
    load_texts(clean, inv__base=BASE, req=REQUEST)
    result = CliRunner().invoke(app, ["plan", str(clean / "req.yaml"), "--inventory",
                                      str(clean / "inv"), "-o", "json"],
                                obj=planned_offline.service)
    assert result.exit_code == 0, result.output
    assert '"prune": false' in result.stdout
