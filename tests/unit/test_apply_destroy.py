"""Destroy (and the deletes of any plan) on plain data: dependency-driven, no barrier between
kinds or tenants, and a failed delete stops only what depends on it."""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from govcloud.cloud.apply import DELETE, FORWARD, REPLACED, Executor, Options, steps_of, waits_of
from govcloud.cloud.read import Snapshot
from govcloud.errors import CloudError
from govcloud.provision.desired import Resource
from govcloud.provision.kinds import KINDS_ORDER, dependents
from govcloud.provision.plan import OWNER_FIELD, Action, Plan, diff
from tests.unit.test_apply_order import TENANT_KINDS, _Recorder


def _held(tenants: list[str]) -> list[Resource]:
    """What the cloud holds for each tenant: one of every kind (as the create plan makes)."""
    return [Resource(kind, tenant if kind == "project" else name, tenant, f"REQ-{tenant}")
            for tenant in tenants for kind, name in TENANT_KINDS]


def _destroy(tenants: list[str]) -> Plan:
    return diff([], _held(tenants), {f"REQ-{t}" for t in tenants})


def _assert_dependents_gone_first(ex: _Recorder) -> None:
    for (tenant, kind, name), (start, _end) in ex.times.items():
        for (t2, k2, n2), (_s2, end2) in ex.times.items():
            if t2 == tenant and k2 in dependents(kind):
                assert end2 <= start, f"{tenant}: {kind} {name} deleted before {k2} {n2} was gone"


def test_destroy_plan_lists_deletes_in_reverse_creation_order():
    kinds = [a.resource.kind for a in _destroy(["t0"]).actions]
    assert {a.op for a in _destroy(["t0"]).actions} == {"delete"}
    assert kinds == sorted(kinds, key=lambda k: -KINDS_ORDER.index(k))


def test_deletes_wait_for_what_depends_on_them_and_tenants_do_not_wait_for_each_other():
    tenants = [f"t{i}" for i in range(4)]
    # t0's server takes long to go; the others' are quicker. Not instant: a server gone at the
    # first poll could be gone before the last one's delete started on a starved CPU.
    ex = _Recorder(workers=8, boot_s=0.2, fail=set(), slow={"t0": 1.0})
    ex.run(_destroy(tenants))
    assert len(ex.outcome.done) == len(tenants) * len(TENANT_KINDS)
    _assert_dependents_gone_first(ex)
    for t in tenants:  # the pairs the cloud refuses to delete in the other order
        assert ex.times[(t, "router_interface", "r:net-sub")][1] <= \
            ex.times[(t, "subnet", "net-sub")][0]
        assert ex.times[(t, "server", "app-1")][1] <= ex.times[(t, "network", "net")][0]
        assert ex.times[(t, "volume_attachment", "data:app-1")][1] <= \
            ex.times[(t, "volume", "data")][0]
    # No barrier by kind: while t0's server was still going, the other tenants' networks,
    # subnets and even projects went, and so did t0's own rules, users and router.
    t0_server_end = ex.times[("t0", "server", "app-1")][1]
    for t in tenants[1:]:
        assert ex.times[(t, "project", t)][1] < t0_server_end
    for kind, name in (("sg_rule", "app:22"), ("user", "t-ops"), ("router", "r")):
        assert ex.times[("t0", kind, name)][1] < t0_server_end
    # Server deletions (waits) hold no slot: all four were under way together.
    gone = [ex.times[(t, "server", "app-1")] for t in tenants]
    assert max(start for start, _ in gone) < min(end for _, end in gone)


def test_deletes_run_with_the_slots_apply_has():
    ex = _Recorder(workers=2, boot_s=0.0, fail=set())
    ex.run(_destroy([f"t{i}" for i in range(3)]))
    assert ex.most == 2
    _assert_dependents_gone_first(ex)


def test_a_failed_delete_stops_only_what_depends_on_it():
    tenants = ["t0", "t1"]
    ex = _Recorder(workers=4, boot_s=0.0, fail={("t0", "subnet")})
    with pytest.raises(CloudError, match="tenant t0: subnet net-sub: delete: boom"):
        ex.run(_destroy(tenants))
    done = {a.resource.key for a in ex.outcome.done}
    # The other tenant is gone entirely.
    assert {key for key in done if key[0] == "t1"} == {r.key for r in _held(["t1"])}
    # In t0, what needs the subnet gone (its network, the project) was not touched, so the
    # project still holds what is left, tagged, for a re-run to find; the rest went.
    assert ("t0", "network", "net") not in ex.times
    assert ("t0", "project", "t0") not in ex.times
    for kind, name in (("security_group", "app"), ("user", "t-ops"), ("router", "r"),
                       ("volume", "data"), ("server", "app-1")):
        assert ("t0", kind, name) in done, kind
    _assert_dependents_gone_first(ex)


def test_a_failed_create_still_starts_nothing_new_in_a_mixed_plan():
    create = [Action("create", Resource("network", "net2", "t0", "REQ-t0"))]
    deletes = _destroy(["t1"]).actions
    ex = _Recorder(workers=1, boot_s=0.0, fail={("t0", "network")})
    with pytest.raises(CloudError, match="t0: network net2: create: boom"):
        ex.run(Plan(actions=(*create, *deletes), fingerprint=""))
    # One worker: after the failing create nothing else was started, deletes included.
    assert max(start for start, _ in ex.times.values()) == ex.times[("t0", "network", "net2")][0]
    assert ("t1", "project", "t1") not in ex.times  # the last delete: never reached


def test_in_a_mixed_plan_deletes_wait_for_the_updates_of_what_needs_them():
    """A server moved off a security group that goes: the group is deleted after the move."""
    tenant = "t0"
    move = Action("update", Resource("server", "app-1", tenant, "REQ-t0"),
                  (("security_groups", frozenset({"old"}), frozenset({"app"})),))
    drop = Action("delete", Resource("security_group", "old", tenant, "REQ-t0"))
    other = Action("delete", Resource("network", "spare", "t1", "REQ-t1"))
    steps = steps_of(Plan(actions=(move, drop, other), fingerprint=""), lambda r: r)
    assert [s.phase for s in steps] == [FORWARD, DELETE, DELETE]
    assert waits_of(steps) == [[], [0], []]
    ex = _Recorder(workers=4, boot_s=0.05, fail=set())
    ex.run(Plan(actions=(move, drop, other), fingerprint=""))
    assert ex.times[(tenant, "server", "app-1")][1] <= ex.times[(tenant, "security_group",
                                                                 "old")][0]
    assert ex.times[("t1", "network", "spare")][0] < ex.times[(tenant, "server", "app-1")][1]


def test_a_replacement_deletes_the_old_resource_before_the_tenants_creates():
    old = Resource("server", "app-1", "t0", "REQ-t0", (("image", "a"),))
    new = Resource("server", "app-1", "t0", "REQ-t0", (("image", "b"),))
    plan = Plan(actions=(Action("create", Resource("network", "net", "t0", "REQ-t0")),
                         Action("replace", new, (("image", "a", "b"),), "image"),
                         Action("create", Resource("network", "net", "t1", "REQ-t1"))),
                fingerprint="")
    steps = steps_of(plan, lambda r: old if r.key == old.key else r)
    assert [(s.phase, s.action.op, s.action.resource) for s in steps][0] == (REPLACED, "delete",
                                                                              old)
    # Both of t0's forward steps wait for the old server to go; t1 waits for nothing.
    assert [sorted(w) for w in waits_of(steps)] == [[], [0], [0, 1], []]
    ex = _Recorder(workers=4, boot_s=0.0, fail=set())
    ex.run(plan)
    assert [op for op, key, _, _ in ex.log if key == old.key] == ["delete", "replace"]


# ---------------------------------------------------------------- the operations, faked cloud


class _Calls:
    """A connection that records every call made through it (``conn.network.delete_subnet``)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, service: str) -> NS:
        calls = self.calls

        class Service:
            def __getattr__(self, method: str):
                def call(*args, **kwargs):
                    calls.append(f"{service}.{method}")
                    return NS(id=f"id-{method}", tags=[], status="ACTIVE")
                return call

        return Service()


def _executor(held: list[Resource]) -> tuple[Executor, _Calls]:
    conn = _Calls()
    snap = Snapshot()
    for r in held:
        snap.add(r, f"id-{r.name}", router_id="rid", subnet_id="sid")
    return Executor(NS(conn=conn, name="fake"), snap, Options(workers=4)), conn


def test_each_delete_calls_its_kinds_operation():
    held = [r for r in _held(["t0"]) if r.kind in ("router_interface", "subnet", "network",
                                                   "sg_rule", "router")]
    ex, conn = _executor(held)
    ex.run(diff([], held, {"REQ-t0"}))
    assert sorted(conn.calls) == sorted([
        "network.remove_interface_from_router", "network.delete_subnet",
        "network.delete_network", "network.delete_security_group_rule",
        "network.delete_security_group_rule", "network.delete_router"])
    assert conn.calls.index("network.remove_interface_from_router") < \
        conn.calls.index("network.delete_subnet") < conn.calls.index("network.delete_network")


def test_an_untagged_parent_makes_its_interface_an_update_that_calls_nothing():
    """A router left untagged by a crash: its interface (whose request is the router's) is
    adopted with it; the router's own update re-tags, the interface's has nothing to do."""
    iface = Resource("router_interface", "r:net-sub", "t0", "REQ-t0")
    router = Resource("router", "r", "t0", "REQ-t0")
    ex, conn = _executor([router, iface])
    change = ((OWNER_FIELD, None, "REQ-t0"),)
    ex.run(Plan(actions=(Action("update", router, change), Action("update", iface, change)),
                fingerprint=""))
    assert conn.calls == ["network.get_router", "network.set_tags"]
    assert len(ex.outcome.done) == 2
