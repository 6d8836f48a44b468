"""The apply scheduler on plain data: what runs before what, and what happens on a failure."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace as NS

import pytest

from govcloud.cloud.apply import Executor, Options
from govcloud.cloud.read import Snapshot
from govcloud.errors import CloudError
from govcloud.provision.desired import Resource
from govcloud.provision.kinds import KINDS, KINDS_ORDER
from govcloud.provision.plan import Action, Plan

NEEDS = {name: kind.needs for name, kind in KINDS.items()}

TENANT_KINDS = [("project", ""), ("quota", "t"), ("user", "t-ops"), ("role_assignment",
                "t-ops:member"), ("network", "net"), ("subnet", "net-sub"), ("router", "r"),
                ("router_interface", "r:net-sub"), ("security_group", "app"),
                ("sg_rule", "app:22"), ("sg_rule", "app:443"), ("server", "app-1"),
                ("volume", "data"), ("volume_attachment", "data:app-1")]


def _plan(tenants: list[str]) -> Plan:
    actions = [Action("create", Resource(kind, tenant if kind == "project" else name, tenant,
                                         f"REQ-{tenant}"))
               for tenant in tenants for kind, name in TENANT_KINDS]
    return Plan(actions=tuple(actions), fingerprint="")


class _Recorder(Executor):
    """Makes no cloud call: records when each action starts and ends. Servers boot for a
    while (polled through the executor's own wait, as real ones are); the rest is quick."""

    def __init__(self, workers: int, boot_s: float, fail: set[tuple[str, str]],
                 slow: dict[str, float] | None = None) -> None:
        super().__init__(NS(conn=None, name="fake"), Snapshot(), Options(workers=workers))
        self.boot_s = boot_s
        self.slow = slow or {}  # tenant -> seconds its servers take instead of boot_s
        self.fail = fail
        self.times: dict[tuple[str, str, str], tuple[float, float]] = {}
        self.log: list[tuple[str, tuple[str, str, str], float, float]] = []  # op, key, start, end
        self.calling = 0  # actions in an API call now, as opposed to waiting for a status
        self.most = 0
        self.guard = threading.Lock()

    def _call(self) -> None:
        with self.guard:
            self.calling += 1
            self.most = max(self.most, self.calling)
        time.sleep(0.002)
        with self.guard:
            self.calling -= 1

    def _do(self, action: Action) -> None:
        r = action.resource
        start = time.monotonic()
        self._call()
        if r.kind == "server":
            up = start + self.slow.get(r.tenant, self.boot_s)
            self.wait(f"server {r.name}", r.tenant,
                       lambda: "ACTIVE" if time.monotonic() >= up else "BUILD", {"active"}, set())
            self._call()
        with self.guard:
            self.times[r.key] = (start, time.monotonic())
            self.log.append((action.op, r.key, start, self.times[r.key][1]))
        if (r.tenant, r.kind) in self.fail:
            raise CloudError(f"tenant {r.tenant}: {r.kind} {r.name}: {action.op}: boom")


def test_needs_cover_every_kind_and_only_point_backwards():
    assert set(NEEDS) == set(KINDS_ORDER)
    rank = {kind: i for i, kind in enumerate(KINDS_ORDER)}
    for kind, needs in NEEDS.items():
        assert all(rank[need] < rank[kind] for need in needs), kind
        if kind != "project":
            assert "project" in needs


def test_every_action_starts_after_what_it_needs_and_tenants_do_not_wait_for_each_other():
    tenants = [f"t{i}" for i in range(6)]
    ex = _Recorder(workers=2, boot_s=0.6, fail=set())
    ex.run(_plan(tenants))
    assert len(ex.outcome.done) == len(tenants) * len(TENANT_KINDS)
    assert ex.most == 2  # the bound on concurrent calls is used and kept
    for (tenant, kind, name), (start, _end) in ex.times.items():
        for need in NEEDS[kind]:
            for (t2, k2, _n2), (_s2, end2) in ex.times.items():
                if t2 == tenant and k2 == need:
                    assert end2 <= start, f"{tenant} {kind} {name} started before its {need}"
    # No stage barrier, and a booting server holds no worker: other tenants' networks were
    # made meanwhile, and all six servers booted at once although only two calls may run.
    overlaps = [
        (t1, t2) for (t1, k1, _), (s1, e1) in ex.times.items() if k1 == "server"
        for (t2, k2, _), (s2, e2) in ex.times.items()
        if t2 != t1 and k2 in ("network", "subnet", "router", "security_group") and s1 < s2 < e1]
    assert overlaps
    boots = sorted(ex.times[(t, "server", "app-1")] for t in tenants)
    assert max(start for start, _ in boots) < min(end for _, end in boots)


def test_what_a_server_waits_for_goes_first_and_what_nothing_waits_for_last():
    ex = _Recorder(workers=1, boot_s=0.0, fail=set())
    ex.run(_plan(["t0", "t1"]))
    started = sorted(ex.times, key=lambda k: ex.times[k][0])
    kinds = [kind for _, kind, _ in started]
    first_server = kinds.index("server")
    # Both projects first, then each tenant's quota, network, subnet and group: the servers
    # (longest to finish) start before any router, user or rule.
    assert kinds[:2] == ["project", "project"]
    assert {"router", "router_interface", "user", "role_assignment", "sg_rule"}.isdisjoint(
        kinds[:first_server])
    assert kinds[-1] in ("router_interface", "role_assignment", "sg_rule", "volume_attachment")


def test_a_failure_starts_nothing_new_lets_running_calls_finish_and_raises_it():
    ex = _Recorder(workers=1, boot_s=0.0, fail={("t0", "network")})
    with pytest.raises(CloudError, match="t0: network net: create: boom"):
        ex.run(_plan(["t0", "t1"]))
    done = {a.resource.key for a in ex.outcome.done}
    assert ("t0", "network", "net") not in done
    # One worker: after the failing call nothing else was started.
    last_start = max(start for start, _ in ex.times.values())
    assert ex.times[("t0", "network", "net")][0] == last_start
    assert ("t0", "subnet", "net-sub") not in ex.times


# Resuming after a dropped call (the service's loop): tests/unit/test_provision_service.py


def test_boots_are_watched_with_two_list_calls_per_second_for_all_servers():
    from govcloud.cloud.apply import _Boots

    calls = []

    def listing(service, path, key, *, params=None, microversion=None):
        calls.append((path, params["status"], params["changes-since"]))
        return {"ACTIVE": [{"id": "s1"}], "ERROR": [{"id": "s2"}]}[params["status"]]

    root = NS(headers={"Date": "Tue, 01 Dec 2026 03:00:00 GMT"})
    cloud = NS(list=listing, conn=NS(compute=NS(get=lambda path: root)))
    boots = _Boots(cloud)
    assert [boots.status(i) for i in ("s1", "s2", "s3")] == ["ACTIVE", "ERROR", None]
    # One refresh served all three questions; the window starts by the API's clock.
    assert calls == [("/servers", "ACTIVE", "2026-12-01T02:58:00Z"),
                     ("/servers", "ERROR", "2026-12-01T02:58:00Z")]
    boots._at -= _Boots.EVERY_S
    boots.status("s3")
    assert len(calls) == 4
