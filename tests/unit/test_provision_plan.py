"""The diff engine on plain data: no network."""

import dataclasses
import json

from govcloud.provision import desired_state, diff, render_plan
from govcloud.provision.desired import KINDS_ORDER, _fields
from tests.unit.helpers import BASE, REQUEST, load_texts


def want(tmp_path):
    validated = load_texts(tmp_path, base=BASE, req=REQUEST)
    assert not validated.all_errors
    return desired_state(validated.catalog)


def replace_fields(resource, **changes):
    return dataclasses.replace(resource, fields=_fields({**resource.field_map(), **changes}))


def test_desired_state_names_are_deterministic_and_tagged(tmp_path):
    resources = want(tmp_path)
    assert resources == want(tmp_path / "again")
    by_kind = {}
    for r in resources:
        by_kind.setdefault(r.kind, []).append(r.name)
    assert by_kind["project"] == ["health-epi"]
    assert by_kind["server"] == ["app-1", "app-2"]
    assert by_kind["network"] == ["health-epi-app-net"]
    assert by_kind["router"] == ["health-epi-router"]
    assert by_kind["sg_rule"] == ["web:ingress:tcp:443-443:0.0.0.0/0"]
    assert by_kind["volume_attachment"] == ["data:app-1"]
    project = next(r for r in resources if r.kind == "project")
    assert "govcloud:request=REQ-1" in project.field_map()["tags"]
    server = next(r for r in resources if r.kind == "server")
    assert dict(server.field_map()["metadata"])["govcloud:cpu"] == "kunpeng-920"


def test_empty_cloud_plans_creates_in_dependency_order(tmp_path):
    plan = diff(want(tmp_path), [])
    kinds = [a.resource.kind for a in plan.actions]
    assert all(a.op == "create" for a in plan.actions)
    assert kinds == sorted(kinds, key=KINDS_ORDER.index)
    assert plan.summary() == f"Plan: {len(kinds)} to add, 0 to change, 0 to destroy."


def test_matching_cloud_is_a_no_op(tmp_path):
    resources = want(tmp_path)
    plan = diff(resources, resources)
    assert plan.empty and plan.unchanged == len(resources)
    assert "No changes" in render_plan(plan)


def test_quota_raised_by_hand_is_an_in_place_update(tmp_path):
    resources = want(tmp_path)
    actual = [replace_fields(r, cores=64) if r.kind == "quota" else r for r in resources]
    (action,) = diff(resources, actual).actions
    assert action.op == "update" and action.changes == (("cores", 64, 8),)
    assert "~ cores: 64 -> 8" in render_plan(diff(resources, actual))


def test_immutable_field_change_is_a_replace_with_reason(tmp_path):
    resources = want(tmp_path)
    actual = [replace_fields(r, image="centos-7") if r.name == "app-1" else r for r in resources]
    (action,) = diff(resources, actual).actions
    assert action.op == "replace" and "image" in action.reason
    assert diff(resources, actual).summary() == "Plan: 1 to add, 0 to change, 1 to destroy."


def test_volume_shrink_is_a_replace_and_growth_an_update(tmp_path):
    resources = want(tmp_path)
    bigger = [replace_fields(r, size_gb=5) if r.kind == "volume" else r for r in resources]
    assert diff(resources, bigger).actions[0].op == "replace"
    smaller = [replace_fields(r, size_gb=0) if r.kind == "volume" else r for r in resources]
    assert diff(resources, smaller).actions[0].op == "update"


def test_leftovers_of_managed_requests_are_deleted_in_reverse_order(tmp_path):
    resources = want(tmp_path)
    extra_rule = dataclasses.replace(
        next(r for r in resources if r.kind == "sg_rule"), name="web:ingress:tcp:22-22:0.0.0.0/0")
    extra_server = dataclasses.replace(next(r for r in resources if r.kind == "server"),
                                       name="app-3")
    unmanaged = dataclasses.replace(extra_server, name="hand-made", request="")
    plan = diff(resources, [*resources, extra_rule, extra_server, unmanaged])
    assert [(a.op, a.resource.name) for a in plan.actions] == [
        ("delete", "app-3"), ("delete", "web:ingress:tcp:22-22:0.0.0.0/0")]


def test_fingerprint_changes_with_the_cloud_and_json_is_serializable(tmp_path):
    resources = want(tmp_path)
    first = diff(resources, [])
    second = diff(resources, resources[:1])
    assert first.fingerprint != second.fingerprint
    assert diff(resources, []).fingerprint == first.fingerprint
    data = json.loads(json.dumps(first.to_json()))
    assert data["summary"].startswith("Plan: ") and data["actions"][0]["op"] == "create"


def test_a_resource_found_by_name_without_its_mark_is_adopted():
    from govcloud.provision.desired import Resource
    from govcloud.provision.plan import OWNER_FIELD, diff

    want = Resource("network", "t-app", "t", "REQ-1")
    found = Resource("network", "t-app", "t", "")
    plan = diff([want], [found])
    assert [(a.op, a.changes) for a in plan.actions] == [
        ("update", ((OWNER_FIELD, None, "REQ-1"),))]
    assert diff([want], [want]).empty


# ---------------------------------------------------------------- managed groups, --prune


def _rule(resources, name, request="REQ-1"):
    base = next(r for r in resources if r.kind == "sg_rule")
    return dataclasses.replace(base, name=name, request=request)


def test_a_rule_added_by_hand_to_a_managed_group_is_deleted_and_listed(tmp_path):
    from govcloud.provision.plan import NOT_IN_MANAGED_GROUP, foreign_deletions

    resources = want(tmp_path)
    by_hand = _rule(resources, "web:ingress:tcp:22-22:0.0.0.0/0", request="")
    # Someone else's request tag on a rule does not make it belong in our group either.
    other_tag = _rule(resources, "web:ingress:tcp:3389-3389:0.0.0.0/0", request="REQ-OTHER")
    plan = diff(resources, [*resources, by_hand, other_tag])
    assert [(a.op, a.resource.name, a.reason) for a in plan.actions] == [
        ("delete", "web:ingress:tcp:22-22:0.0.0.0/0", NOT_IN_MANAGED_GROUP),
        ("delete", "web:ingress:tcp:3389-3389:0.0.0.0/0", NOT_IN_MANAGED_GROUP)]
    assert foreign_deletions(plan) == list(plan.actions)
    text = render_plan(plan)
    assert '- sg_rule "web:ingress:tcp:22-22:0.0.0.0/0"' in text
    assert "a managed security group holds only the rules its request asks for" in text
    assert plan.summary() == "Plan: 0 to add, 0 to change, 2 to destroy."


def test_rules_of_groups_govcloud_does_not_own_are_left_alone(tmp_path):
    resources = want(tmp_path)
    group = next(r for r in resources if r.kind == "security_group")
    theirs = dataclasses.replace(group, name="hand-made", request="")
    their_rule = dataclasses.replace(_rule(resources, "hand-made:ingress:tcp:22-22:0.0.0.0/0",
                                           request=""), parent="hand-made")
    # A group of the same name in another tenant is another group.
    elsewhere = dataclasses.replace(_rule(resources, "web:ingress:tcp:22-22:0.0.0.0/0", ""),
                                    tenant="other-tenant")
    assert diff(resources, [*resources, theirs, their_rule, elsewhere]).empty


def test_destroy_takes_the_hand_made_rules_of_a_managed_group_with_it(tmp_path):
    from govcloud.provision.plan import NO_LONGER_REQUESTED, NOT_IN_MANAGED_GROUP

    resources = want(tmp_path)
    by_hand = _rule(resources, "web:ingress:tcp:22-22:0.0.0.0/0", request="")
    unmanaged_net = dataclasses.replace(next(r for r in resources if r.kind == "network"),
                                        name="hand-made", request="")
    plan = diff([], [*resources, by_hand, unmanaged_net], {"REQ-1"})
    reasons = {a.resource.name: a.reason for a in plan.actions}
    assert reasons["web:ingress:tcp:22-22:0.0.0.0/0"] == NOT_IN_MANAGED_GROUP
    assert reasons["web"] == NO_LONGER_REQUESTED
    assert "hand-made" not in reasons  # destroy refuses it instead (the CLI names it)


def test_prune_deletes_only_what_no_request_made_and_only_when_asked(tmp_path):
    from govcloud.provision.plan import PRUNED, foreign_deletions

    resources = want(tmp_path)
    net = next(r for r in resources if r.kind == "network")
    hand_net = dataclasses.replace(net, name="hand-made", request="")
    hand_sub = dataclasses.replace(next(r for r in resources if r.kind == "subnet"),
                                   name="hand-made-subnet", request="", parent="hand-made")
    others = dataclasses.replace(net, name="someone-elses", request="REQ-OTHER")
    actual = [*resources, hand_net, hand_sub, others]
    assert diff(resources, actual).empty
    plan = diff(resources, actual, prune=True)
    assert [(a.op, a.resource.kind, a.resource.name, a.reason) for a in plan.actions] == [
        ("delete", "subnet", "hand-made-subnet", PRUNED),
        ("delete", "network", "hand-made", PRUNED)]
    assert foreign_deletions(plan) == list(plan.actions)
    # What a request still asks for is never pruned, even when found untagged: it is adopted.
    untagged_ours = dataclasses.replace(net, request="")
    adopted = diff(resources, [r for r in resources if r.key != net.key] + [untagged_ours],
                   prune=True)
    assert [a.op for a in adopted.actions] == ["update"]


def test_a_classified_tenants_router_gets_no_external_gateway(tmp_path):
    for classification, gateway in (("internal", True), ("secret", False),
                                    ("confidential", False), ("top-secret", False)):
        text = REQUEST.replace("classification: internal", f"classification: {classification}")
        validated = load_texts(tmp_path / classification, base=BASE, req=text)
        assert not validated.all_errors
        router = next(r for r in desired_state(validated.catalog) if r.kind == "router")
        assert router.field_map()["external_gateway"] is gateway, classification


def test_an_existing_gateway_of_a_classified_tenant_is_removed_in_place(tmp_path):
    text = REQUEST.replace("classification: internal", "classification: secret")
    resources = desired_state(load_texts(tmp_path, base=BASE, req=text).catalog)
    actual = [replace_fields(r, external_gateway=True) if r.kind == "router" else r
              for r in resources]
    (action,) = diff(resources, actual).actions
    assert action.op == "update"  # not a replace: the router keeps its interfaces
    assert action.changes == (("external_gateway", True, False),)


def test_a_hand_made_rule_forging_our_own_request_tag_is_deleted_too(tmp_path):
    resources = want(tmp_path)
    forged = _rule(resources, "web:ingress:tcp:22-22:0.0.0.0/0", request="REQ-1")
    (action,) = diff(resources, [*resources, forged]).actions
    assert (action.op, action.resource.name) == ("delete", "web:ingress:tcp:22-22:0.0.0.0/0")
