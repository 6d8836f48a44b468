"""The provisioning service on fake clouds: targets, planning, the resume loop, the cloud lock,
and destroy's guard. The commands' own tests (options, output, exit codes) are in
test_provision_cli.py."""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from govcloud.cloud.read import Snapshot
from govcloud.errors import CloudError, InputError
from govcloud.provision.desired import Resource, _fields
from govcloud.provision.plan import Plan, diff
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
    assert fake.reads == [True]  # quotas read live, as apply does
    assert fake.sleeps == [2.0]
    assert [a.resource.kind for a in applied.last_plan.actions] == ["router", "router_interface"]
    assert len(applied.plan.actions) == 5 and applied.rounds == 2
    assert "the connection dropped: reading the cloud again and resuming (round 2 of 3)" in (
        notices[0])


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
