"""Carry out a plan on the cloud: a dependency graph run with a bounded number of API calls.

This is apply's scheduler; what each kind does on the cloud is in ``cloud/kinds.py``
(``OPERATIONS``), what it needs in ``provision/kinds.py`` (``needs``). One graph holds every
action of a plan, creates and deletes alike, with no barrier between kinds or tenants:

- a create or update starts once what its kind needs in its own tenant is made (a subnet after
  its network, a server after its quota, network, subnet and security groups), so one tenant's
  slow server boot does not hold up another tenant's networks;
- a delete starts once everything in its tenant that needs its kind is gone (an interface
  before its subnet and router, a server before its network and security groups, everything
  before the project), and after the creates and updates of those kinds (a server moved off a
  security group before the group goes);
- a replacement first deletes the old resource; the tenant's creates and updates wait for
  that (the old one may hold the name, the quota or the address).

A failed create or update starts nothing new (the first error is raised once the calls under
way have finished). A failed delete stops only what waits for it (its network, its project):
the rest goes on, so one tenant's stuck volume does not keep another tenant's resources, and
what is left is still tagged and in its project, for a re-run to find and finish.

Names are deterministic, so a crash between any two calls leaves resources a re-run finds by
name and adopts, never duplicates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govcloud.cloud.kinds import operations
from govcloud.cloud.read import Snapshot
from govcloud.cloud.session import Cloud, step
from govcloud.errors import CloudError
from govcloud.provision import kinds as declared
from govcloud.provision.desired import Resource
from govcloud.provision.plan import Action, Plan

Key = tuple[str, str, str]
WAIT_S = 300.0


@dataclass
class Options:
    workers: int = 8
    timeout_s: float = WAIT_S
    encrypted_volume_type: str = "encrypted"
    credentials_dir: Path | None = None
    credentials_key: bytes | None = None
    departments: dict[str, str] = field(default_factory=dict)  # tenant -> department


@dataclass
class Outcome:
    done: list[Action] = field(default_factory=list)
    passwords_written: list[str] = field(default_factory=list)  # bundle paths (no secrets)

    def absorb(self, other: Outcome) -> None:
        """Add another run's outcome (a resumed apply is several runs)."""
        self.done.extend(other.done)
        self.passwords_written.extend(p for p in other.passwords_written
                                      if p not in self.passwords_written)


# ---------------------------------------------------------------- the graph (pure)

# What a step is in the plan: the old half of a replacement, a create/update/replace, a delete.
REPLACED, FORWARD, DELETE = "replaced", "forward", "delete"


@dataclass(frozen=True, slots=True)
class Step:
    phase: str
    action: Action


def steps_of(plan: Plan, old_of: Callable[[Resource], Resource]) -> list[Step]:
    """The plan's actions as steps; a replace adds a delete of the old resource (``old_of``
    gives it as the cloud holds it)."""
    forward = [a for a in plan.actions if a.op != "delete"]
    return ([Step(REPLACED, Action("delete", old_of(a.resource), reason=a.reason))
             for a in forward if a.op == "replace"]
            + [Step(FORWARD, a) for a in forward]
            + [Step(DELETE, a) for a in plan.actions if a.op == "delete"])


def waits_of(steps: Sequence[Step]) -> list[list[int]]:
    """For each step, the steps it waits for, all in its own tenant (see the module's text):

    - a create or update: the creates and updates of the kinds it needs, and the old halves of
      the tenant's replacements;
    - the old half of a replacement: the old halves of the kinds that need its kind;
    - a delete: the old halves, creates, updates and deletes of the kinds that need its kind.

    Nothing waits for a delete but a delete, and nothing waits for a create but a create or a
    delete: with the kinds' needs acyclic (``provision/kinds.py`` checks), so is the graph.
    """
    by: dict[tuple[str, str, str], list[int]] = {}  # (phase, tenant, kind) -> steps
    for i, s in enumerate(steps):
        by.setdefault((s.phase, s.action.resource.tenant, s.action.resource.kind), []).append(i)

    def of(phases: tuple[str, ...], tenant: str, kinds: Iterable[str]) -> list[int]:
        return [j for phase in phases for k in kinds for j in by.get((phase, tenant, k), ())]

    out: list[list[int]] = []
    for s in steps:
        r = s.action.resource
        if s.phase == FORWARD:
            out.append(of((FORWARD,), r.tenant, declared.kind(r.kind).needs)
                       + of((REPLACED,), r.tenant, declared.KINDS_ORDER))
        elif s.phase == REPLACED:
            out.append(of((REPLACED,), r.tenant, declared.dependents(r.kind)))
        else:
            out.append(of((REPLACED, FORWARD, DELETE), r.tenant, declared.dependents(r.kind)))
    return out


def _topological(waiting_on: Sequence[int], unlocks: Sequence[Sequence[int]]) -> list[int]:
    """The steps in an order where each comes after those it waits for (steps on a cycle,
    which the kinds' declaration rules out, are left out)."""
    left = list(waiting_on)
    order = [i for i, n in enumerate(left) if n == 0]
    for i in order:  # grows while it is walked
        for k in unlocks[i]:
            left[k] -= 1
            if left[k] == 0:
                order.append(k)
    return order


# ---------------------------------------------------------------- the run


class _Boots:
    """Which servers are ACTIVE or in ERROR, from two list calls per second for all the boots
    an apply waits on, instead of one GET per server per poll: nova answers a server's GET by
    asking neutron for its ports and security groups, so per-server polls were a good part of
    neutron's work in an apply. Lists servers changed since shortly before the first wait, by
    the compute API's own clock (its ``Date`` header), so a skewed local clock does not matter.
    """

    EVERY_S = 1.0

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self._lock = threading.Lock()
        self._since: str | None = None
        self._at = -1e9
        self._active: set[str] = set()
        self._error: set[str] = set()

    def status(self, ident: str) -> str | None:
        with self._lock:  # one refresh at a time; the other waiters read its result
            if time.monotonic() - self._at >= self.EVERY_S:
                self._refresh()
                self._at = time.monotonic()
            if ident in self._error:
                return "ERROR"
            return "ACTIVE" if ident in self._active else None

    def _refresh(self) -> None:
        if self._since is None:
            self._since = self._api_now(margin_s=120)
        query = {"all_tenants": 1, "changes-since": self._since}
        self._active = {s["id"] for s in self.cloud.list(
            "compute", "/servers", "servers", params={**query, "status": "ACTIVE"})}
        self._error = {s["id"] for s in self.cloud.list(
            "compute", "/servers", "servers", params={**query, "status": "ERROR"})}

    def _api_now(self, margin_s: float) -> str:
        import datetime as dt
        import email.utils

        response = self.cloud.conn.compute.get("/")
        stamp = response.headers.get("Date")
        now = (email.utils.parsedate_to_datetime(stamp) if stamp
               else dt.datetime.now(dt.UTC))
        return (now - dt.timedelta(seconds=margin_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Executor:
    def __init__(self, cloud: Cloud, snap: Snapshot, options: Options,
                 progress: Callable[[str], None] = lambda _: None) -> None:
        self.cloud = cloud
        self.conn = cloud.conn
        self.snap = snap
        self.ids: dict[Key, str] = dict(snap.ids)
        self.opts = options
        self.progress = progress
        self.outcome = Outcome()
        self._lock = threading.Lock()
        self._cache: dict[str, Any] = {}
        self._members: set[str] = set(snap.ops_member_of)
        self._granting: dict[str, threading.Lock] = {}
        self._booted: set[str] = set()  # servers this run saw ACTIVE
        self._boots = _Boots(cloud)
        self._slots = threading.Condition()  # the scheduler's; guards _busy
        self._busy = 0  # actions making API calls (not those only polling for a status)

    # ---- the run

    def run(self, plan: Plan) -> Outcome:
        steps = steps_of(plan, self.snap_resource)
        self._graph(steps, waits_of(steps))
        return self.outcome

    def snap_resource(self, desired: Resource) -> Resource:
        for r in self.snap.resources:
            if r.key == desired.key:
                return r
        return desired

    def _finished(self, action: Action, total: int) -> None:
        r = action.resource
        with self._lock:
            self.outcome.done.append(action)
            self.progress(f"[{len(self.outcome.done)}/{total}] {action.op} {r.kind} {r.name} "
                          f"(tenant {r.tenant})")

    def _graph(self, steps: Sequence[Step], waits: Sequence[Sequence[int]]) -> None:
        """Run each step once the steps it waits for are done.

        At most ``workers`` steps make API calls at a time; one that is only waiting for the
        cloud (a server booting, a volume being made or deleted) does not count, so a tenant's
        slow boot never holds up another tenant's networks. A failed create or update starts
        nothing new; a failed delete holds back only the steps that wait for it, directly or
        not. The steps under way finish (so no half-made resource goes unrecorded) and the
        first error is raised.
        """
        if not steps:
            return
        workers = max(1, self.opts.workers)
        threads = workers * 4
        waiting_on = [len(w) for w in waits]
        unlocks: list[list[int]] = [[] for _ in steps]
        for i, before in enumerate(waits):
            for j in before:
                unlocks[j].append(i)
        # Longest (estimated) time from a step to the end of what waits for it: the ready step
        # with the most still to come after it goes first, so servers start booting early and
        # routers, whose calls are slow but which nothing waits for, fill the gaps.
        urgency = [0.0] * len(steps)
        for i in reversed(_topological(waiting_on, unlocks)):
            after = max((urgency[k] for k in unlocks[i]), default=0.0)
            urgency[i] = declared.kind(steps[i].action.resource.kind).cost_s + after
        ready = [i for i in range(len(steps)) if waiting_on[i] == 0]
        errors: list[BaseException] = []
        finished: list[tuple[int, BaseException | None]] = []
        running = 0
        stopped = False  # a create or update failed: nothing new starts
        slots = self._slots

        def run_one(i: int) -> None:
            error: BaseException | None = None
            try:
                self._do(steps[i].action)
            except BaseException as exc:  # noqa: BLE001 - handed to the scheduler
                error = exc
            with slots:
                self._busy -= 1
                finished.append((i, error))
                slots.notify_all()

        def can_start() -> bool:
            return bool(ready) and not stopped and running < threads and self._busy < workers

        def take() -> int:
            best = max(range(len(ready)), key=lambda k: (urgency[ready[k]], -ready[k]))
            return ready.pop(best)

        with ThreadPoolExecutor(max_workers=threads) as pool:
            while True:
                with slots:
                    while can_start():
                        running += 1
                        self._busy += 1
                        pool.submit(run_one, take())
                    if running == 0:
                        break
                    while not finished and not can_start():
                        slots.wait()
                    batch = finished[:]
                    finished.clear()
                for i, error in batch:
                    running -= 1
                    if error is not None:
                        errors.append(error)
                        stopped = stopped or steps[i].phase == FORWARD
                        continue
                    self._finished(steps[i].action, len(steps))
                    for k in unlocks[i]:
                        waiting_on[k] -= 1
                        if waiting_on[k] == 0:
                            ready.append(k)
        if errors:
            _raise_first(errors)
        left = sum(1 for n in waiting_on if n > 0)
        if left:  # a cycle in the kinds' needs would leave steps unrun
            raise CloudError(f"apply stopped with {left} actions whose dependencies never "
                             "completed", hint="report this as a bug")

    def _do(self, action: Action) -> None:
        r = action.resource
        ops = operations(r.kind)
        if action.op == "delete":
            verb, handler = "delete", ops.delete
        elif action.op == "update":
            verb, handler = "update", ops.update
        else:  # create, and the new half of a replace (its old half is a delete step)
            verb, handler = "create", ops.create
        with step(r.tenant, f"{r.kind} {r.name}", verb):
            handler(self, r, action)

    def wait(self, what: str, tenant: str, probe: Callable[[], str | None],
             ok: set[str], bad: set[str], every_s: float = 3.0) -> None:
        """Until ``probe`` says a status in ``ok`` (one in ``bad`` fails); the step's slot is
        free meanwhile, for steps that make calls."""
        with self._slots:
            self._busy -= 1
            self._slots.notify_all()
        try:
            self._poll(what, tenant, probe, ok, bad, every_s)
        finally:
            with self._slots:
                while self._busy >= max(1, self.opts.workers):
                    self._slots.wait()
                self._busy += 1

    def _poll(self, what: str, tenant: str, probe: Callable[[], str | None],
              ok: set[str], bad: set[str], every_s: float) -> None:
        deadline = time.monotonic() + self.opts.timeout_s
        delay = 0.5
        status = None
        while time.monotonic() < deadline:
            try:
                status = probe()
            except Exception as exc:  # noqa: BLE001 - a dropped poll is retried, not fatal
                if "NotFound" in type(exc).__name__:
                    raise
                time.sleep(delay)
                continue
            if status is not None and status.lower() in ok:
                return
            if status is not None and status.lower() in bad:
                raise CloudError(f"tenant {tenant}: {what} went to {status}",
                                 hint="see the service's log; re-run apply to replace it")
            time.sleep(delay)
            delay = min(delay * 1.5, every_s)
        raise CloudError(f"tenant {tenant}: {what} still {status} after "
                         f"{self.opts.timeout_s:.0f} s", hint="re-run apply; it resumes")

    # ---- for the kinds' operations (cloud/kinds.py): ids, connections, lookups

    def remember(self, r: Resource, ident: str) -> None:
        with self._lock:
            self.ids[r.key] = ident

    def project_tags(self, tenant: str) -> list[str]:
        """The project's tags as this run last set them (else as read)."""
        with self._lock:
            cached = self._cache.get(f"tags:{tenant}")
        if cached is not None:
            return list(cached)
        return list(self.snap.extra.get((tenant, "project", tenant), {}).get("tags", []))

    def set_project_tags(self, tenant: str, tags: list[str]) -> None:
        with self._lock:
            self._cache[f"tags:{tenant}"] = list(tags)

    def wrote_passwords(self, path: Path) -> None:
        with self._lock:
            if str(path) not in self.outcome.passwords_written:
                self.outcome.passwords_written.append(str(path))

    def wait_server(self, tenant: str, name: str, ident: str, fresh: bool = False) -> None:
        """Until the server is ACTIVE. One this run did not make (an earlier run's) is asked
        for first: it may have been ACTIVE since before the boots list's window."""
        with self._lock:
            if ident in self._booted:
                return
        if not fresh and self.conn.compute.get_server(ident).status.lower() == "active":
            return
        self.wait(f"server {name}", tenant, lambda: self._boots.status(ident),
                  {"active"}, {"error"}, every_s=_Boots.EVERY_S)
        with self._lock:
            self._booted.add(ident)

    # lookups: each list call at most once per run

    def _once(self, name: str, load: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._cache:
                self._cache[name] = load()
            return self._cache[name]

    def flavor(self, tenant: str, name: str) -> str:
        flavors = self._once("flavors", lambda: {f.name: f.id for f in
                                                 self.conn.compute.flavors(details=False)})
        if name not in flavors:
            raise CloudError(f"tenant {tenant}: flavor '{name}' does not exist on cloud "
                             f"{self.cloud.name}", hint=f"use one of {', '.join(sorted(flavors))}")
        return str(flavors[name])

    def image(self, tenant: str, name: str) -> str:
        images = self._once("images", lambda: {i.name: i.id for i in self.conn.image.images()
                                               if i.status == "active"})
        if name not in images:
            raise CloudError(f"tenant {tenant}: image '{name}' does not exist on cloud "
                             f"{self.cloud.name}", hint=f"use one of {', '.join(sorted(images))}")
        return str(images[name])

    def external_network(self, tenant: str) -> str:
        nets = self._once("external", lambda: [n.id for n in self.conn.network.networks(
            is_router_external=True)])
        if not nets:
            raise CloudError(f"tenant {tenant}: cloud {self.cloud.name} has no external network "
                             "for the router's gateway", hint="create one (router:external)")
        return str(nets[0])

    def role(self, name: str) -> str:
        roles = self._once("roles", lambda: {r.name: r.id for r in self.conn.identity.roles()})
        if name not in roles:
            raise CloudError(f"role '{name}' does not exist on cloud {self.cloud.name}",
                             hint=f"use one of {', '.join(sorted(roles))}")
        return str(roles[name])

    def volume_type(self, tenant: str) -> str:
        name = self.opts.encrypted_volume_type
        found = self._once("vtype", lambda: self.conn.block_storage.find_type(name))
        if found is None:
            raise CloudError(f"tenant {tenant}: cloud {self.cloud.name} has no volume type "
                             f"'{name}' for encrypted volumes",
                             hint="create one with an encryption spec, or pass "
                                  "--encrypted-volume-type NAME")
        return str(found.id)

    def id_of(self, tenant: str, kind: str, name: str) -> str:
        ident = self.ids.get((tenant, kind, name))
        if not ident:
            raise CloudError(f"tenant {tenant}: {kind} {name} is missing",
                             hint="re-run plan: something was deleted meanwhile")
        return ident

    def project(self, tenant: str) -> str:
        return self.id_of(tenant, "project", tenant)

    def scoped(self, tenant: str) -> Any:
        """A connection in the tenant's project; govcloud's own user gets ``member`` there."""
        pid = self.project(tenant)
        with self._lock:
            granting = self._granting.setdefault(pid, threading.Lock())
        with granting:  # a tenant's server and volume ask at once: one grant, not two
            if pid not in self._members:
                with step(tenant, "project", "grant govcloud's user member role"):
                    self.conn.identity.assign_project_role_to_user(pid, self.cloud.user_id,
                                                                   self.role("member"))
                self._members.add(pid)
        return self.cloud.scoped(pid)


def _raise_first(errors: list[BaseException]) -> None:
    first = errors[0]
    if isinstance(first, CloudError):
        raise first
    raise CloudError(f"apply failed: {type(first).__name__}") from first
