"""The provisioning service on fake clouds: targets, planning, the resume loop, the cloud lock,
destroy's guard, and two resources of one managed name (a duplicate router) set apart and
deleted. The commands' own tests (options, output, exit codes) are in
test_provision_cli.py."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace as NS

import pytest

from govcloud.cloud.apply import Executor, Options
from govcloud.cloud.copies import copy_name
from govcloud.cloud.read import Snapshot, read_cloud
from govcloud.errors import CloudError, InputError
from govcloud.provision.desired import Resource, _fields
from govcloud.provision.drift import drift_rows, render_drift
from govcloud.provision.plan import DUPLICATE, Plan, diff, is_copy, render_plan
from govcloud.provision.service import Planned, ProvisionService, Target
from tests.unit.fake_provision import FakeProvision
from tests.unit.helpers import BASE, REQUEST, FakeCloud, load_texts

REQUEST_ID = "REQ-1"


def _resources(tenant: str = "t0") -> list[Resource]:
    return [Resource("project", tenant, tenant, REQUEST_ID),
            Resource("network", f"{tenant}-app", tenant, REQUEST_ID, (), tenant),
            Resource("subnet", f"{tenant}-app-subnet", tenant, REQUEST_ID,
                     _fields({"cidr": "10.1.0.0/24"}), f"{tenant}-app"),
            Resource("router", f"{tenant}-router", tenant, REQUEST_ID,
                     _fields({"external_gateway": True}), tenant),
            Resource("router_interface", f"{tenant}-router:{tenant}-app-subnet", tenant,
                     REQUEST_ID, parent=f"{tenant}-router")]


def _target(tenant: str = "t0", cloud: str = "fake") -> Target:
    request = NS(id=REQUEST_ID, spec={"tenant": tenant, "department": "d"}, body={})
    return Target(cloud, (request,))


def _planned(desired: list[Resource], actual: list[Resource] | None = None) -> Planned:
    actual = actual or []
    plan = diff(desired, actual, {REQUEST_ID})
    return Planned(_target(), FakeCloud(), tuple(desired), Snapshot(resources=actual), plan)


# ---------------------------------------------------------------- targets and planning


def test_targets_follow_os_cloud_then_the_environment_then_each_platform(tmp_path):
    validated = load_texts(tmp_path, base=BASE, req=REQUEST)
    requests = validated.requests()
    platform_only = ProvisionService(environ={})
    assert [(t.cloud, sorted(t.ids)) for t in platform_only.targets(validated, requests, None)
            ] == [("devcloud", ["REQ-1"])]
    from_env = ProvisionService(environ={"OS_CLOUD": "env-cloud"})
    assert [t.cloud for t in from_env.targets(validated, requests, None)] == ["env-cloud"]
    assert [t.cloud for t in from_env.targets(validated, requests, "opt")] == ["opt"]


def test_a_read_conflict_refuses_the_plan_and_closes_the_connection(tmp_path):
    validated = load_texts(tmp_path, base=BASE, req=REQUEST)
    closed = []

    class Closing(FakeCloud):
        def close(self):
            closed.append(True)

    service = ProvisionService(
        connect=lambda name: Closing(),
        read=lambda *a, refresh: Snapshot(conflicts=["project 'health-epi' exists and "
                                                     "belongs to nobody"]))
    target = ProvisionService(environ={}).targets(validated, validated.requests(), None)[0]
    with pytest.raises(CloudError, match="cloud devcloud: project 'health-epi' exists"):
        service.plan(target, validated, refresh=False)
    assert closed == [True]


def test_plan_reads_quotas_live_only_when_asked_and_destroy_plans_every_deletion(tmp_path):
    validated = load_texts(tmp_path, base=BASE, req=REQUEST)
    fake = FakeProvision(images={})
    target = fake.service.targets(validated, validated.requests(), "fake")[0]
    planned = fake.service.plan(target, validated, refresh=True)
    assert fake.reads == [True] and fake.clouds == ["fake"]
    assert {a.op for a in planned.plan.actions} == {"create"}
    fake.actual = list(planned.desired)
    gone = fake.service.plan(target, validated, refresh=False, destroy=True)
    assert fake.reads == [True, False]
    assert {a.op for a in gone.plan.actions} == {"delete"}
    assert len(gone.plan.actions) == len(planned.desired)


def test_destroy_refuses_a_resource_the_requests_did_not_create():
    stray = Resource("network", "hand-made", "t0", "", (), "t0")
    planned = _planned([], [*_resources(), stray])
    planned = Planned(planned.target, planned.cloud, (), planned.snapshot,
                      diff([], planned.snapshot.resources, {REQUEST_ID}), destroy=True)
    with pytest.raises(CloudError, match=r"refusing to destroy: .* network hand-made "
                                         r"\(tenant t0\)"):
        ProvisionService.check_destroyable(planned)
    clean = _planned([], _resources())
    ProvisionService.check_destroyable(clean)  # only what the request made: no error


# ---------------------------------------------------------------- resuming after a dropped call


def _dropped(message: str) -> CloudError:
    from keystoneauth1.exceptions import ConnectFailure

    try:
        raise ConnectFailure("Connection reset by peer")
    except ConnectFailure as exc:
        try:
            raise CloudError(message) from exc
        except CloudError as err:
            return err


def test_a_dropped_connection_reads_the_cloud_again_and_resumes(tmp_path):
    """The apply goes on from a fresh read and plan, as a re-run would; what the first round
    made is adopted, not made again."""
    desired = _resources()
    runs: list[list[str]] = []
    notices: list[str] = []

    def on_run(plan: Plan) -> None:
        runs.append([a.resource.kind for a in plan.actions])
        if len(runs) == 1:
            raise _dropped("tenant t0: router t0-router: create failed: reset")

    fake = FakeProvision(state=tmp_path, on_run=on_run,
                         snapshot=lambda: Snapshot(resources=desired[:3]))
    service = fake.service.reporting(lambda _line: None, notices.append)
    applied = service.execute(_planned(desired))
    assert runs == [["project", "network", "subnet", "router", "router_interface"],
                    ["router", "router_interface"]]
    assert fake.reads == [True, False]  # quotas read live, as apply does; then a last look
    assert fake.sleeps == [2.0]
    assert [a.resource.kind for a in applied.last_plan.actions] == ["router", "router_interface"]
    assert len(applied.plan.actions) == 5 and applied.rounds == 2
    assert "the connection dropped: reading the cloud again and resuming (round 2 of 3)" in (
        notices[0])


def test_a_resumed_apply_deletes_a_copy_its_dropped_create_left(tmp_path):
    """The dropped router create was carried out after the re-read: round 2 made a second
    router; the last look after resuming finds it and deletes the one not in use."""
    desired = _resources()
    router = desired[3]
    copy = dataclasses.replace(router, name=copy_name(router.name, "r-late"))
    reads = iter([Snapshot(resources=desired[:3]),
                  Snapshot(resources=[*desired, copy],
                           copies={copy.key: (router.key, "kept r-2 (in use)")})])
    notices: list[str] = []

    def on_run(plan: Plan) -> None:
        if len(fake.executed) == 0:
            fake.executed.append([])
            raise _dropped("tenant t0: router t0-router: create failed: reset")

    fake = FakeProvision(state=tmp_path, on_run=on_run, snapshot=lambda: next(reads))
    applied = fake.service.reporting(lambda _line: None, notices.append).execute(
        _planned(desired))
    assert fake.executed[-1] == [("delete", "router", copy.name)]
    assert [a.op for a in applied.outcome.done][-1] == "delete"
    assert "the resumed apply left 1 second copy(ies) of a name" in notices[-1]


def test_other_cloud_errors_are_not_retried(tmp_path):
    calls = []

    def on_run(plan):
        calls.append(1)
        raise CloudError("tenant t0: server app-1 went to ERROR")

    fake = FakeProvision(state=tmp_path, on_run=on_run)
    with pytest.raises(CloudError, match="went to ERROR"):
        fake.service.execute(_planned(_resources()))
    assert calls == [1] and fake.reads == []


def test_when_the_cloud_cannot_be_read_again_the_first_error_is_the_one_reported(tmp_path):
    notices: list[str] = []

    def on_run(plan):
        raise _dropped("tenant t0: network net: create failed: refused")

    def down():
        raise CloudError("tenant *: networks: list failed: refused")

    fake = FakeProvision(state=tmp_path, on_run=on_run, snapshot=down)
    service = fake.service.reporting(lambda _line: None, notices.append)
    with pytest.raises(CloudError, match="tenant t0: network net: create failed"):
        service.execute(_planned(_resources()))
    assert "cannot read it again (tenant *: networks: list failed: refused)" in notices[-1]


def test_a_dropped_connection_in_the_last_round_stops_the_apply(tmp_path):
    fake = FakeProvision(state=tmp_path, snapshot=Snapshot,
                         on_run=lambda plan: (_ for _ in ()).throw(_dropped("reset again")))
    with pytest.raises(CloudError, match="reset again"):
        fake.service.execute(_planned(_resources()))
    assert len(fake.reads) == 2 and fake.sleeps == [2.0, 4.0]


def test_one_apply_per_cloud_at_a_time(tmp_path):
    service = FakeProvision(state=tmp_path).service
    with service.cloud_lock("fake"):
        with pytest.raises(InputError, match="another govcloud apply or destroy is running "
                                             "on cloud fake"):
            service.execute(_planned(_resources()))
        with service.cloud_lock("other"):  # another cloud is another lock
            pass
    assert (tmp_path / "locks" / "fake.lock").exists()
    assert service.execute(_planned(_resources())).rounds == 1


# ---------------------------------------------------------------- two routers of one name


class _ListCloud:
    """``Cloud.list`` answered from plain JSON lists, as neutron and keystone send them."""

    def __init__(self, lists):
        self.lists, self.user_id, self.name = lists, "me", "fake"
        self.conn = None

    def list(self, service, path, key, *, params=None, microversion=None):
        return self.lists.get(key, [])


def _router(ident, created, gateway=True, tags=("govcloud:request=REQ-1",)):
    return {"id": ident, "name": "t0-router", "project_id": "p0", "tags": list(tags),
            "created_at": created,
            "external_gateway_info": {"network_id": "ext"} if gateway else None}


def _cloud_with(routers, interface_on=None):
    tag = ["govcloud:request=REQ-1"]
    ports = [] if interface_on is None else [
        {"id": "port-1", "project_id": "p0", "device_owner": "network:router_interface",
         "device_id": interface_on, "network_id": "n0",
         "fixed_ips": [{"subnet_id": "s0", "ip_address": "10.1.0.1"}]}]
    return _ListCloud({
        "projects": [{"id": "p0", "name": "t0", "tags": tag, "description": ""}],
        "networks": [{"id": "n0", "name": "t0-app", "project_id": "p0", "tags": tag}],
        "subnets": [{"id": "s0", "name": "t0-app-subnet", "project_id": "p0", "tags": tag,
                     "cidr": "10.1.0.0/24", "network_id": "n0"}],
        "routers": routers, "ports": ports})


def _read_and_plan(cloud):
    snap = read_cloud(cloud, _resources(), {REQUEST_ID})
    plan = diff(_resources(), snap.resources, {REQUEST_ID}, snap.broken, copies=snap.copies)
    return snap, plan


def test_two_routers_of_one_name_keep_the_one_in_use_and_delete_the_other():
    # r-new was made by a re-run that did not see r-old and holds the interface: kept.
    cloud = _cloud_with([_router("r-old", "2026-12-01T10:00:00Z", gateway=False, tags=()),
                         _router("r-new", "2026-12-01T10:00:09Z")], interface_on="r-new")
    snap, plan = _read_and_plan(cloud)
    assert snap.ids[("t0", "router", "t0-router")] == "r-new"
    copy = copy_name("t0-router", "r-old")
    assert snap.ids[("t0", "router", copy)] == "r-old"
    assert [(a.op, a.resource.kind, a.resource.name) for a in plan.actions] == [
        ("delete", "router", copy)]
    action = plan.actions[0]
    assert is_copy(action) and action.reason == f"{DUPLICATE}; kept r-new (in use)"
    assert f'- router "{copy}" (tenant t0, )  # {DUPLICATE}; kept r-new (in use)' in (
        render_plan(plan))


def test_without_one_in_use_the_oldest_is_kept_whatever_the_order_read():
    older, newer = _router("r-a", "2026-12-01T10:00:01Z"), _router("r-b", "2026-12-01T10:00:05Z")
    for routers in ([newer, older], [older, newer]):
        snap, plan = _read_and_plan(_cloud_with(routers))
        assert snap.ids[("t0", "router", "t0-router")] == "r-a"
        ops = [(a.op, a.resource.name, a.reason) for a in plan.actions]
        assert ("delete", copy_name("t0-router", "r-b"), f"{DUPLICATE}; kept r-a (the oldest)"
                ) in ops
        assert not [op for op in ops if op[0] == "create" and op[1] == "t0-router"]


def test_routers_of_one_name_owned_by_different_requests_are_left_alone():
    other = _router("r-x", "2026-12-01T10:00:05Z", tags=("govcloud:request=REQ-OTHER",))
    snap, plan = _read_and_plan(_cloud_with([_router("r-a", "2026-12-01T10:00:01Z"), other]))
    assert not snap.copies
    assert not [a for a in plan.actions if a.op == "delete"]


def test_an_unmanaged_name_twice_is_not_deleted():
    hand = [{"id": f"h{i}", "name": "by-hand", "project_id": "p0", "tags": [],
             "created_at": f"2026-12-01T10:00:0{i}Z", "external_gateway_info": None}
            for i in (1, 2)]
    snap, plan = _read_and_plan(_cloud_with([_router("r-a", "2026-12-01T10:00:01Z"), *hand]))
    assert len(snap.copies) == 1  # set apart, but no managed name: left to --prune
    assert not [a for a in plan.actions if a.op == "delete"]


def test_drift_shows_the_extra_copy_and_apply_deletes_it_by_its_own_id():
    cloud = _cloud_with([_router("r-old", "2026-12-01T10:00:00Z"),
                         _router("r-new", "2026-12-01T10:00:09Z")], interface_on="r-new")
    snap, plan = _read_and_plan(cloud)
    planned = Planned(_target(), cloud, tuple(_resources()), snap, plan)
    rows = drift_rows(planned)
    assert [(r.status, r.kind, r.name) for r in rows] == [
        ("duplicate", "router", copy_name("t0-router", "r-old"))]
    assert render_drift(rows).endswith("Drift: 1 duplicate.")
    deleted = []
    conn = NS(network=NS(delete_router=lambda rid, ignore_missing: deleted.append(rid)))
    executor = Executor(NS(conn=conn, name="fake"), snap, Options(workers=1))
    executor.run(plan)
    assert deleted == ["r-old"]


def test_a_duplicate_security_group_goes_with_its_rules():
    tag = ["govcloud:request=REQ-1"]

    def group(ident, created, rules):
        return {"id": ident, "name": "web", "project_id": "p0", "tags": tag, "description": "",
                "created_at": created, "security_group_rules": [
                    {"id": f"{ident}-{port}", "direction": "ingress", "protocol": "tcp",
                     "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": None,
                     "description": "govcloud:request=REQ-1", "port_range_min": port,
                     "port_range_max": port} for port in rules]}

    cloud = _ListCloud({
        "projects": [{"id": "p0", "name": "t0", "tags": tag, "description": ""}],
        "security_groups": [group("g-old", "2026-12-01T10:00:00Z", [443]),
                            group("g-new", "2026-12-01T10:00:09Z", [443, 8443])]})
    desired = [Resource("project", "t0", "t0", REQUEST_ID),
               Resource("security_group", "web", "t0", REQUEST_ID,
                        _fields({"description": ""}), "t0"),
               Resource("sg_rule", "web:ingress:tcp:443-443:10.0.0.0/8", "t0", REQUEST_ID,
                        _fields({"direction": "ingress", "protocol": "tcp", "port_min": 443,
                                 "port_max": 443, "remote": "10.0.0.0/8"}), "web")]
    snap = read_cloud(cloud, desired, {REQUEST_ID})
    plan = diff(desired, snap.resources, {REQUEST_ID}, copies=snap.copies)
    assert snap.ids[("t0", "security_group", "web")] == "g-old"
    assert snap.ids[("t0", "sg_rule", "web:ingress:tcp:443-443:10.0.0.0/8")] == "g-old-443"
    assert [(a.op, a.resource.kind, a.resource.name) for a in plan.actions] == [
        ("delete", "security_group", copy_name("web", "g-new"))]


def test_one_port_read_twice_is_not_a_copy():
    cloud = _cloud_with([_router("r-a", "2026-12-01T10:00:01Z")], interface_on="r-a")
    port = cloud.lists["ports"][0]
    port["fixed_ips"].append({"subnet_id": "s0", "ip_address": "10.1.0.2"})  # two addresses
    snap, plan = _read_and_plan(cloud)
    assert not snap.copies and plan.empty
