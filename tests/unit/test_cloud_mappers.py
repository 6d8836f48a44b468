"""The one mapper per kind, the one rule normaliser, tag parser and quota table, and the one
translation of openstacksdk/keystoneauth failures (no cloud: what the services return, as JSON)."""

from types import SimpleNamespace as NS

import pytest

from govcloud.cloud.mappers import (
    normalize_rule,
    quota_values,
    request_of,
    rule_meaning,
    tag_values,
    tenant_context,
)
from govcloud.cloud.read import Snapshot, _read_rule
from govcloud.cloud.session import ADMIN_HINT, REFUSED_HINT, UNREACHABLE_HINT, failure
from govcloud.cloudkinds import QUOTA_KEYS, QUOTAS
from govcloud.provision.desired import rule_name


def rule(**kw):
    base = {"id": "r1", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
            "remote_group_id": None, "remote_address_group_id": None, "description": ""}
    base.update(kw)
    return base


def plan_view(**kw):
    """The rule as plan and drift read it (a named sg_rule Resource)."""
    snap = Snapshot()
    _read_rule(snap, "t1", "web", rule(**kw))
    (resource,) = snap.resources
    return resource


def test_rules_are_normalised_like_request_rules():
    assert normalize_rule(rule(port_range_min=22, port_range_max=22,
                               remote_ip_prefix="0.0.0.0/0")) == {
        "rule_id": "r1", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
        "remote": "0.0.0.0/0", "port_min": 22, "port_max": 22}
    anything = normalize_rule(rule(protocol=None, ethertype="IPv6"))
    assert anything["remote"] == "::/0" and anything["protocol"] == "any"
    assert (anything["port_min"], anything["port_max"]) == (1, 65535)
    assert normalize_rule(rule(protocol="6"))["protocol"] == "tcp"
    icmp = normalize_rule(rule(protocol="icmp", remote_group_id="sg9"))
    assert icmp["remote"] == "group:sg9" and "port_min" not in icmp


def test_an_ipv6_rule_without_remote_is_the_ipv6_world_for_plan_and_audit_alike():
    """Neutron stores no prefix and returns ``remote_ip_prefix: null`` with the ethertype it
    was created with (the API defaults a missing ethertype to IPv4): the rule admits the whole
    family of its ethertype."""
    assert normalize_rule(rule(ethertype="IPv6", port_range_min=22,
                               port_range_max=22))["remote"] == "::/0"
    assert plan_view(ethertype="IPv6", port_range_min=22,
                     port_range_max=22).name == "web:ingress:tcp:22-22:::/0"
    assert rule_meaning(rule(ethertype=None))["remote"] == "0.0.0.0/0"
    assert rule_meaning(rule(ethertype="IPv4"))["remote"] == "0.0.0.0/0"


def test_where_the_two_readers_disagreed_the_meaning_wins():
    # A respelled prefix is one network (the audit used to keep neutron's text as it came).
    assert normalize_rule(rule(remote_ip_prefix="0:0:0:0:0:0:0:0/0",
                               ethertype="IPv6"))["remote"] == "::/0"
    # A rule limited to an address group is not open to the world (plan used to read it so).
    limited = plan_view(remote_address_group_id="ag1", port_range_min=443, port_range_max=443)
    assert limited.field_map()["remote"] == "address-group:ag1"
    # A protocol given as its number is that protocol (plan used to see another rule).
    assert plan_view(protocol="6", port_range_min=443, port_range_max=443,
                     remote_ip_prefix="10.0.0.0/8").name == rule_name(
        "web", {"direction": "ingress", "protocol": "tcp", "port": 443, "remote": "10.0.0.0/8"})


def test_plan_keeps_ports_as_neutron_holds_them_the_audit_fills_the_range():
    portless = rule(protocol="tcp", remote_ip_prefix="10.0.0.0/8")
    assert plan_view(**portless).name == "web:ingress:tcp:any:10.0.0.0/8"
    assert normalize_rule(portless)["port_min"] == 1


def test_neutrons_own_egress_rules_are_not_plans_to_manage():
    snap = Snapshot()
    _read_rule(snap, "t1", "web", rule(direction="egress", protocol=None, ethertype="IPv6"))
    assert snap.resources == []


def test_one_tag_parser_for_tags_descriptions_and_metadata():
    assert tag_values(["govcloud:mlps=3", "x=y", "govcloud:bad"]) == {"mlps": "3"}
    assert request_of(["other", "govcloud:request=REQ-1"]) == "REQ-1"
    assert request_of(text="managed by govcloud govcloud:request=REQ-2") == "REQ-2"
    assert request_of(metadata={"govcloud:request": "REQ-3"}) == "REQ-3"
    assert request_of(None) == request_of(text=None) == ""
    ctx = tenant_context({"id": "p1", "name": "t", "tags": [
        "govcloud:mlps=9", "govcloud:classification=nonsense", "govcloud:department=d"]}, "c")
    assert ctx == {"cloud": "c", "tenant": "t", "project_id": "p1", "department": "d"}


def test_one_quota_table_every_copy_derived():
    from govcloud.cloud.read import QUOTA_KEYS as APPLY_TABLE
    from govcloud.cloudkinds import CLOUD_SPEC_SCHEMAS
    from govcloud.schemas import SPEC_SCHEMAS

    assert APPLY_TABLE is QUOTAS and QUOTA_KEYS == tuple(QUOTAS)
    request = SPEC_SCHEMAS["ResourceRequest"]["properties"]["quotas"]["properties"]
    live = CLOUD_SPEC_SCHEMAS["CloudProject"]["properties"]["quotas"]["properties"]
    assert tuple(request) == tuple(live) == QUOTA_KEYS


def test_quota_values_from_sdk_objects_or_json_by_either_name():
    answers = {"compute": NS(cores=8, ram=4096, instances=True),
               "network": {"floatingip": 2, "security_groups": 5}}
    assert quota_values(answers, ["cores", "ram_mb", "instances", "floating_ips",
                                  "security_groups", "volumes"]) == {
        "cores": 8, "ram_mb": 4096, "floating_ips": 2, "security_groups": 5}


def test_failures_are_translated_by_class_not_by_their_text():
    from keystoneauth1 import exceptions as ksa
    from openstack import exceptions as sdk

    def hint(exc):
        return failure("cloud 'c': listing x failed", exc, "the caller's").hint

    assert hint(ksa.Unauthorized("no")) == REFUSED_HINT
    assert hint(http_error(401)) == REFUSED_HINT
    assert hint(sdk.ForbiddenException("Policy doesn't allow")) == ADMIN_HINT
    assert hint(ksa.ConnectFailure("Connection refused")) == UNREACHABLE_HINT
    try:  # what Connection.authorize() raises for refused credentials
        try:
            raise ksa.Unauthorized("The request you have made requires authentication.")
        except ksa.Unauthorized as inner:
            raise sdk.SDKException(str(inner)) from None
    except sdk.SDKException as wrapped:
        assert hint(wrapped) == REFUSED_HINT
    # words that look like a status do not decide: only the class (and its status) does
    assert hint(ValueError("403 Forbidden 401 Unauthorized")) == "the caller's"
    err = failure("cloud 'c': listing x failed", sdk.ForbiddenException("line 1\nline 2"),
                  "the caller's", then="then re-run")
    assert err.message == "cloud 'c': listing x failed: line 1" and err.exit_code == 3
    assert err.hint == f"{ADMIN_HINT}; then re-run"


def http_error(status):
    """What ``openstack.exceptions.raise_from_response`` raises for a status it has no class
    for (``Cloud.list`` calls it)."""
    from openstack import exceptions as sdk

    exc = sdk.HttpException("x")
    exc.status_code = status
    return exc


@pytest.mark.parametrize("status,expected", [(403, ADMIN_HINT), (500, "the caller's")])
def test_an_http_failure_from_a_list_is_translated_by_its_status(status, expected):
    assert failure("m", http_error(status), "the caller's").hint == expected
