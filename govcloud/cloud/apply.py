"""Carry out a plan on the cloud in dependency order, independent calls in parallel.

Creates and updates run as soon as what they need in their own tenant is done (a subnet after
its network, a server after its quota, network, subnet and security groups), so one tenant's
slow server boot does not hold up another tenant's networks. Deletes (destroy, and the old half
of a replacement) run stage by stage in reverse kind order.

Every create tags its resource with ``govcloud:request`` in the same call where the API allows
(servers and volumes: metadata; projects: tags; users and rules: description); neutron objects
get their tags right after. Names are deterministic, so a crash between any two calls leaves
resources a re-run finds by name and adopts, never duplicates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govcloud.cloud.read import QUOTA_KEYS, QUOTA_TAG, Snapshot, quota_digest
from govcloud.cloud.session import Cloud, step
from govcloud.errors import CloudError
from govcloud.provision import credentials
from govcloud.provision.desired import KINDS_ORDER, REQUEST_TAG, Resource, neutron_rule
from govcloud.provision.plan import OWNER_FIELD, Action, Plan

Key = tuple[str, str, str]
WAIT_S = 300.0

# Rough seconds an action takes on a busy cloud, to order the ready ones (see _graph).
COST_S: dict[str, float] = {"server": 20.0, "volume": 4.0, "volume_attachment": 4.0,
                            "router": 0.5, "router_interface": 0.5, "user": 0.3}

# What a create or update needs done first, in the same tenant. The project comes first for
# everything, even where a parent already exists (a plan can update the project's tags).
NEEDS: dict[str, tuple[str, ...]] = {
    "project": (),
    "quota": ("project",),
    "user": ("project",),
    "role_assignment": ("project", "user"),
    "network": ("project",),
    "subnet": ("project", "network"),
    "router": ("project",),
    "router_interface": ("project", "router", "subnet"),
    "security_group": ("project",),
    "sg_rule": ("project", "security_group"),
    "server": ("project", "quota", "network", "subnet", "security_group"),
    "volume": ("project", "quota"),
    "volume_attachment": ("project", "volume", "server"),
}


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

    # ---- lookups (each list call at most once per run)

    def _once(self, name: str, load: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._cache:
                self._cache[name] = load()
            return self._cache[name]

    def _flavor(self, tenant: str, name: str) -> str:
        flavors = self._once("flavors", lambda: {f.name: f.id for f in
                                                 self.conn.compute.flavors(details=False)})
        if name not in flavors:
            raise CloudError(f"tenant {tenant}: flavor '{name}' does not exist on cloud "
                             f"{self.cloud.name}", hint=f"use one of {', '.join(sorted(flavors))}")
        return str(flavors[name])

    def _image(self, tenant: str, name: str) -> str:
        images = self._once("images", lambda: {i.name: i.id for i in self.conn.image.images()
                                               if i.status == "active"})
        if name not in images:
            raise CloudError(f"tenant {tenant}: image '{name}' does not exist on cloud "
                             f"{self.cloud.name}", hint=f"use one of {', '.join(sorted(images))}")
        return str(images[name])

    def _external_network(self, tenant: str) -> str:
        nets = self._once("external", lambda: [n.id for n in self.conn.network.networks(
            is_router_external=True)])
        if not nets:
            raise CloudError(f"tenant {tenant}: cloud {self.cloud.name} has no external network "
                             "for the router's gateway", hint="create one (router:external)")
        return str(nets[0])

    def _role(self, name: str) -> str:
        roles = self._once("roles", lambda: {r.name: r.id for r in self.conn.identity.roles()})
        if name not in roles:
            raise CloudError(f"role '{name}' does not exist on cloud {self.cloud.name}",
                             hint=f"use one of {', '.join(sorted(roles))}")
        return str(roles[name])

    def _volume_type(self, tenant: str) -> str:
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
                                                                   self._role("member"))
                self._members.add(pid)
        return self.cloud.scoped(pid)

    # ---- the run

    def run(self, plan: Plan) -> Outcome:
        forward = [a for a in plan.actions if a.op != "delete"]
        backward = [a for a in plan.actions if a.op == "delete"]
        replaced = [Action("delete", self.snap_resource(a.resource), reason=a.reason)
                    for a in forward if a.op == "replace"]
        total = len(plan.actions) + len(replaced)
        done = 0
        # Replacements first lose their old resource (reverse order), then everything forward.
        for stage in _stages(replaced, reverse=True):
            done += self._stage(stage, done, total)
        done += self._graph(forward, done, total)
        for stage in _stages(backward, reverse=True):
            done += self._stage(stage, done, total)
        return self.outcome

    def snap_resource(self, desired: Resource) -> Resource:
        for r in self.snap.resources:
            if r.key == desired.key:
                return r
        return desired

    def _finished(self, action: Action, counter: list[int], total: int) -> None:
        r = action.resource
        with self._lock:
            counter[0] += 1
            self.outcome.done.append(action)
            self.progress(f"[{counter[0]}/{total}] {action.op} {r.kind} {r.name} "
                          f"(tenant {r.tenant})")

    def _graph(self, actions: list[Action], done: int, total: int) -> int:
        """Run each action once what it needs (see NEEDS) is done.

        At most ``workers`` actions make API calls at a time; one that is only waiting for the
        cloud (a server booting, a volume being made) does not count, so a tenant's slow boot
        never holds up another tenant's networks. On the first failure nothing new starts; the
        actions under way finish (so no half-made resource goes unrecorded) and the first error
        is raised.
        """
        if not actions:
            return 0
        workers = max(1, self.opts.workers)
        threads = workers * 4
        rank = {kind: i for i, kind in enumerate(KINDS_ORDER)}
        order = sorted(range(len(actions)), key=lambda i: -rank.get(actions[i].resource.kind, 0))
        by_tenant_kind: dict[tuple[str, str], list[int]] = {}
        for i, a in enumerate(actions):
            by_tenant_kind.setdefault((a.resource.tenant, a.resource.kind), []).append(i)
        waiting_on = [0] * len(actions)
        unlocks: list[list[int]] = [[] for _ in actions]
        for i, a in enumerate(actions):
            for kind in NEEDS.get(a.resource.kind, ()):
                for j in by_tenant_kind.get((a.resource.tenant, kind), ()):
                    waiting_on[i] += 1
                    unlocks[j].append(i)
        # Longest (estimated) time from an action to the end of its tenant's chain: the ready
        # action with the most still to wait for after it goes first, so servers start booting
        # early and routers, whose calls are slow but which nothing waits for, fill the gaps.
        urgency = [0.0] * len(actions)
        for i in order:  # dependents (later kinds) before what they need
            after = max((urgency[k] for k in unlocks[i]), default=0.0)
            urgency[i] = COST_S.get(actions[i].resource.kind, 0.1) + after
        ready = [i for i in range(len(actions)) if waiting_on[i] == 0]
        counter = [done]
        errors: list[BaseException] = []
        finished: list[tuple[int, BaseException | None]] = []
        running = 0
        slots = self._slots

        def run_one(i: int) -> None:
            error: BaseException | None = None
            try:
                self._do(actions[i])
            except BaseException as exc:  # noqa: BLE001 - handed to the scheduler
                error = exc
            with slots:
                self._busy -= 1
                finished.append((i, error))
                slots.notify_all()

        def can_start() -> bool:
            return bool(ready) and not errors and running < threads and self._busy < workers

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
                        continue
                    self._finished(actions[i], counter, total)
                    for k in unlocks[i]:
                        waiting_on[k] -= 1
                        if waiting_on[k] == 0:
                            ready.append(k)
        if errors:
            _raise_first(errors)
        if counter[0] - done != len(actions):  # a cycle in NEEDS would leave actions unrun
            raise CloudError(f"apply stopped with {len(actions) - counter[0] + done} actions "
                             "whose dependencies never completed", hint="report this as a bug")
        return len(actions)

    def _stage(self, actions: list[Action], done: int, total: int) -> int:
        errors: list[BaseException] = []
        counter = [done]

        def one(action: Action) -> None:
            try:
                self._do(action)
            except BaseException as exc:  # noqa: BLE001 - collected, first one raised
                with self._lock:
                    errors.append(exc)
                return
            self._finished(action, counter, total)

        if len(actions) == 1 or self.opts.workers <= 1:
            for action in actions:
                one(action)
                if errors:
                    break
        else:
            with ThreadPoolExecutor(max_workers=self.opts.workers) as pool:
                list(pool.map(one, actions))
        if errors:
            _raise_first(errors)
        return len(actions)

    def _do(self, action: Action) -> None:
        r = action.resource
        op = "create" if action.op == "replace" else action.op
        handler = getattr(self, f"{op}_{r.kind}")
        with step(r.tenant, f"{r.kind} {r.name}", op):
            handler(r, action)

    def _remember(self, r: Resource, ident: str) -> None:
        with self._lock:
            self.ids[r.key] = ident

    def _wait(self, what: str, tenant: str, probe: Callable[[], str | None],
              ok: set[str], bad: set[str], every_s: float = 3.0) -> None:
        # Under _graph this frees a worker slot while the action only polls; under _stage
        # (deletes) nothing counts slots and the pair below is balanced and harmless.
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

    # ---- projects, quotas, users

    def create_project(self, r: Resource, action: Action) -> None:
        f = r.field_map()
        project = self.conn.identity.create_project(
            name=r.name, domain_id="default", description=f.get("description", ""),
            tags=sorted(f["tags"]))
        self._remember(r, project.id)
        with self._lock:
            self._cache[f"tags:{r.tenant}"] = list(project.tags or [])

    def update_project(self, r: Resource, action: Action) -> None:
        f = r.field_map()
        keep = [t for t in self._tags(r.tenant)
                if not t.startswith("govcloud:") or t.startswith(QUOTA_TAG + "=")]
        tags = sorted(set(keep) | set(f["tags"]))
        self.conn.identity.update_project(self.project(r.tenant),
                                          description=f.get("description", ""), tags=tags)
        with self._lock:
            self._cache[f"tags:{r.tenant}"] = tags

    def delete_project(self, r: Resource, action: Action) -> None:
        pid = self.id_of(r.tenant, "project", r.name)
        for group in self.conn.network.security_groups(project_id=pid, name="default"):
            self.conn.network.delete_security_group(group, if_revision=None)
        self.cloud.forget_scoped(pid)
        self.conn.identity.delete_project(pid, ignore_missing=True)

    def _tags(self, tenant: str) -> list[str]:
        with self._lock:
            cached = self._cache.get(f"tags:{tenant}")
        if cached is not None:
            return list(cached)
        tags = self.snap.extra.get((tenant, "project", tenant), {}).get("tags", [])
        return list(tags)

    def create_quota(self, r: Resource, action: Action) -> None:
        pid = self.project(r.tenant)
        by_service: dict[str, dict[str, Any]] = {}
        for key, value in r.fields:
            service, name = QUOTA_KEYS[key]
            by_service.setdefault(service, {})[name] = value
        if "compute" in by_service:
            self.conn.compute.update_quota_set(pid, **by_service["compute"])
        if "volume" in by_service:
            self.conn.block_storage.update_quota_set(pid, **by_service["volume"])
        if "network" in by_service:
            self.conn.network.update_quota(pid, **by_service["network"])
        # Only after the quotas: the tag tells a later plan they need not be read again.
        tags = [t for t in self._tags(r.tenant) if not t.startswith(QUOTA_TAG + "=")]
        tags.append(f"{QUOTA_TAG}={quota_digest(r.field_map())}")
        self.conn.identity.update_project(pid, tags=sorted(tags))
        with self._lock:
            self._cache[f"tags:{r.tenant}"] = sorted(tags)

    update_quota = create_quota

    def delete_quota(self, r: Resource, action: Action) -> None:
        """Quotas go with their project; nothing to remove on their own."""

    def create_user(self, r: Resource, action: Action) -> None:
        f = r.field_map()
        opts = self.opts
        if opts.credentials_dir is None or opts.credentials_key is None:
            raise CloudError(f"tenant {r.tenant}: user {r.name}: no credentials bundle to hold "
                             "its initial password", hint="pass --credentials-key")
        password = credentials.new_password()
        path = credentials.put_password(opts.credentials_dir, opts.credentials_key,
                                        opts.departments.get(r.tenant, r.tenant), r.tenant,
                                        r.name, password)
        attrs: dict[str, Any] = {"email": f["email"]} if f.get("email") else {}
        user = self.conn.identity.create_user(
            name=r.name, password=password, domain_id="default",
            default_project_id=self.project(r.tenant),
            description=f"managed by govcloud {REQUEST_TAG}={r.request}", **attrs)
        del password
        self._remember(r, user.id)
        with self._lock:
            if str(path) not in self.outcome.passwords_written:
                self.outcome.passwords_written.append(str(path))

    def update_user(self, r: Resource, action: Action) -> None:
        f = r.field_map()
        self.conn.identity.update_user(
            self.id_of(r.tenant, "user", r.name), email=f.get("email"),
            description=f"managed by govcloud {REQUEST_TAG}={r.request}")

    def delete_user(self, r: Resource, action: Action) -> None:
        self.conn.identity.delete_user(self.id_of(r.tenant, "user", r.name), ignore_missing=True)

    def create_role_assignment(self, r: Resource, action: Action) -> None:
        user, _, role = r.name.rpartition(":")
        self.conn.identity.assign_project_role_to_user(
            self.project(r.tenant), self.id_of(r.tenant, "user", user), self._role(role))

    def delete_role_assignment(self, r: Resource, action: Action) -> None:
        uid, pid, rid = self.id_of(r.tenant, "role_assignment", r.name).split(":")
        self.conn.identity.unassign_project_role_from_user(pid, uid, rid)

    # ---- network

    def _tag(self, resource: Any, r: Resource) -> None:
        self.conn.network.set_tags(resource, [f"{REQUEST_TAG}={r.request}"])

    def create_network(self, r: Resource, action: Action) -> None:
        net = self.conn.network.create_network(name=r.name, project_id=self.project(r.tenant))
        self._remember(r, net.id)
        self._tag(net, r)

    def update_network(self, r: Resource, action: Action) -> None:
        self._retag(r, action)

    def _retag(self, r: Resource, action: Action) -> None:
        """A resource a crash left without its tag (found again by its name)."""
        if any(name == OWNER_FIELD for name, _, _ in action.changes):
            net = self.conn.network
            get = {"network": net.get_network, "subnet": net.get_subnet,
                   "router": net.get_router, "security_group": net.get_security_group}[r.kind]
            self._tag(get(self.id_of(r.tenant, r.kind, r.name)), r)

    update_subnet = update_network

    def update_router(self, r: Resource, action: Action) -> None:
        """The gateway is set or removed in place (a classified tenant's router loses it)."""
        if any(name == "external_gateway" for name, _, _ in action.changes):
            info: dict[str, Any] = {}
            if r.field_map().get("external_gateway"):
                info = {"network_id": self._external_network(r.tenant)}
            self.conn.network.update_router(self.id_of(r.tenant, "router", r.name),
                                            external_gateway_info=info)
        self._retag(r, action)

    def delete_network(self, r: Resource, action: Action) -> None:
        self.conn.network.delete_network(self.id_of(r.tenant, "network", r.name),
                                         ignore_missing=True)

    def create_subnet(self, r: Resource, action: Action) -> None:
        f = r.field_map()
        sub = self.conn.network.create_subnet(
            name=r.name, network_id=self.id_of(r.tenant, "network", r.parent or ""),
            cidr=f["cidr"], ip_version=6 if ":" in f["cidr"] else 4,
            project_id=self.project(r.tenant))
        self._remember(r, sub.id)
        self._tag(sub, r)

    def delete_subnet(self, r: Resource, action: Action) -> None:
        self.conn.network.delete_subnet(self.id_of(r.tenant, "subnet", r.name),
                                        ignore_missing=True)

    def create_router(self, r: Resource, action: Action) -> None:
        attrs: dict[str, Any] = {}
        if r.field_map().get("external_gateway"):
            attrs["external_gateway_info"] = {"network_id": self._external_network(r.tenant)}
        router = self.conn.network.create_router(name=r.name, project_id=self.project(r.tenant),
                                                 **attrs)
        self._remember(r, router.id)
        self._tag(router, r)

    def delete_router(self, r: Resource, action: Action) -> None:
        rid = self.id_of(r.tenant, "router", r.name)
        # Interfaces govcloud did not make would block the delete: say so instead of forcing.
        self.conn.network.delete_router(rid, ignore_missing=True)

    def create_router_interface(self, r: Resource, action: Action) -> None:
        router, _, subnet = r.name.partition(":")
        self.conn.network.add_interface_to_router(
            self.id_of(r.tenant, "router", router),
            subnet_id=self.id_of(r.tenant, "subnet", subnet))

    def delete_router_interface(self, r: Resource, action: Action) -> None:
        extra = self.snap.extra.get(r.key, {})
        self.conn.network.remove_interface_from_router(extra["router_id"],
                                                       subnet_id=extra["subnet_id"])

    def create_security_group(self, r: Resource, action: Action) -> None:
        group = self.conn.network.create_security_group(
            name=r.name, description=r.field_map().get("description", ""),
            project_id=self.project(r.tenant))
        self._remember(r, group.id)
        self._tag(group, r)

    def update_security_group(self, r: Resource, action: Action) -> None:
        if any(name == "description" for name, _, _ in action.changes):
            self.conn.network.update_security_group(
                self.id_of(r.tenant, "security_group", r.name),
                description=r.field_map().get("description", ""))
        self._retag(r, action)

    def delete_security_group(self, r: Resource, action: Action) -> None:
        self.conn.network.delete_security_group(
            self.id_of(r.tenant, "security_group", r.name), ignore_missing=True)

    def create_sg_rule(self, r: Resource, action: Action) -> None:
        rule = self.conn.network.create_security_group_rule(
            security_group_id=self.id_of(r.tenant, "security_group", r.parent or ""),
            description=f"{REQUEST_TAG}={r.request}", project_id=self.project(r.tenant),
            **neutron_rule(r.field_map()))
        self._remember(r, rule.id)

    def update_sg_rule(self, r: Resource, action: Action) -> None:
        """Rules cannot be changed: one whose description lost its mark is made again."""
        self.delete_sg_rule(r, action)
        self.create_sg_rule(r, action)

    def delete_sg_rule(self, r: Resource, action: Action) -> None:
        self.conn.network.delete_security_group_rule(self.id_of(r.tenant, "sg_rule", r.name),
                                                     ignore_missing=True)

    # ---- compute and storage

    def create_server(self, r: Resource, action: Action) -> None:
        f = r.field_map()
        conn = self.scoped(r.tenant)
        groups = sorted(f.get("security_groups", ("default",)))
        server = conn.compute.create_server(
            name=r.name, flavor_id=self._flavor(r.tenant, f["flavor"]),
            image_id=self._image(r.tenant, f["image"]),
            networks=[{"uuid": self.id_of(r.tenant, "network", f["network"])}],
            security_groups=[{"name": g} for g in groups],
            metadata=_plain_map(f.get("metadata", ())))
        self._remember(r, server.id)
        self._wait_server(r, server.id, fresh=True)

    def _wait_server(self, r: Resource, ident: str, fresh: bool = False) -> None:
        """Until the server is ACTIVE. One this run did not make (an earlier run's) is asked
        for first: it may have been ACTIVE since before the boots list's window."""
        with self._lock:
            if ident in self._booted:
                return
        if not fresh and self.conn.compute.get_server(ident).status.lower() == "active":
            return
        self._wait(f"server {r.name}", r.tenant, lambda: self._boots.status(ident),
                   {"active"}, {"error"}, every_s=_Boots.EVERY_S)
        with self._lock:
            self._booted.add(ident)

    def update_server(self, r: Resource, action: Action) -> None:
        sid = self.id_of(r.tenant, "server", r.name)
        changed = {name for name, _, _ in action.changes}
        compute = self.conn.compute
        if "metadata" in changed:
            want = _plain_map(r.field_map().get("metadata", ()))
            have = dict(self.snap.extra.get(r.key, {}).get("metadata", {}))
            extra = [k for k in have if k not in want]
            if extra:
                compute.delete_server_metadata(sid, extra)
            if any(have.get(k) != v for k, v in want.items()):
                compute.set_server_metadata(sid, **want)
        if "security_groups" in changed:
            old, new = next((a, d) for n, a, d in action.changes if n == "security_groups")
            conn = self.scoped(r.tenant)
            for group in sorted(set(new) - set(old or ())):
                conn.compute.add_security_group_to_server(sid, {"name": group})
            for group in sorted(set(old or ()) - set(new)):
                conn.compute.remove_security_group_from_server(sid, {"name": group})

    def delete_server(self, r: Resource, action: Action) -> None:
        sid = self.id_of(r.tenant, "server", r.name)
        compute = self.conn.compute
        compute.delete_server(sid, ignore_missing=True)

        def status() -> str | None:
            found = compute.find_server(sid, ignore_missing=True, all_projects=True)
            return "deleted" if found is None else found.status

        self._wait(f"server {r.name} deletion", r.tenant, status, {"deleted"}, set())

    def create_volume(self, r: Resource, action: Action) -> None:
        f = r.field_map()
        attrs: dict[str, Any] = {}
        if f.get("encrypted"):
            attrs["volume_type"] = self._volume_type(r.tenant)
        conn = self.scoped(r.tenant)
        volume = conn.block_storage.create_volume(name=r.name, size=f["size_gb"],
                                                  metadata={REQUEST_TAG: r.request}, **attrs)
        self._remember(r, volume.id)
        storage = self.conn.block_storage
        self._wait(f"volume {r.name}", r.tenant, lambda: storage.get_volume(volume.id).status,
                   {"available"}, {"error"})

    def update_volume(self, r: Resource, action: Action) -> None:
        vid = self.id_of(r.tenant, "volume", r.name)
        changed = {name for name, _, _ in action.changes}
        storage = self.scoped(r.tenant).block_storage
        if OWNER_FIELD in changed:
            storage.set_volume_metadata(vid, **{REQUEST_TAG: r.request})
        if "size_gb" not in changed:
            return
        storage.extend_volume(vid, r.field_map()["size_gb"])
        self._wait(f"volume {r.name} extension", r.tenant,
                   lambda: storage.get_volume(vid).status, {"available", "in-use"},
                   {"error_extending", "error"})

    def delete_volume(self, r: Resource, action: Action) -> None:
        vid = self.id_of(r.tenant, "volume", r.name)
        storage = self.conn.block_storage
        storage.delete_volume(vid, ignore_missing=True)

        def status() -> str | None:
            found = storage.find_volume(vid, ignore_missing=True, all_projects=True)
            return "deleted" if found is None else found.status

        self._wait(f"volume {r.name} deletion", r.tenant, status, {"deleted"}, {"error_deleting"})

    def create_volume_attachment(self, r: Resource, action: Action) -> None:
        volume, _, server = r.name.partition(":")
        vid = self.id_of(r.tenant, "volume", volume)
        sid = self.id_of(r.tenant, "server", server)
        self._wait_server(Resource("server", server, r.tenant, r.request), sid)
        conn = self.scoped(r.tenant)
        conn.compute.create_volume_attachment(sid, volume_id=vid)
        storage = self.conn.block_storage
        self._wait(f"attachment of volume {volume} to {server}", r.tenant,
                   lambda: storage.get_volume(vid).status, {"in-use"}, {"error_attaching"})

    def delete_volume_attachment(self, r: Resource, action: Action) -> None:
        extra = self.snap.extra.get(r.key, {})
        vid, sid = extra["volume_id"], extra["server_id"]
        conn = self.scoped(r.tenant)
        conn.compute.delete_volume_attachment(sid, vid, ignore_missing=True)
        storage = self.conn.block_storage
        self._wait(f"detachment of volume {r.name}", r.tenant,
                   lambda: storage.get_volume(vid).status, {"available"}, {"error_detaching"})


def _plain_map(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {str(k): str(v) for k, v in value}


def _raise_first(errors: list[BaseException]) -> None:
    first = errors[0]
    if isinstance(first, CloudError):
        raise first
    raise CloudError(f"apply failed: {type(first).__name__}") from first


def _stages(actions: list[Action], reverse: bool = False) -> list[list[Action]]:
    order = list(KINDS_ORDER)
    if reverse:
        order.reverse()
    out = []
    for kind in order:
        stage = [a for a in actions if a.resource.kind == kind]
        if stage:
            out.append(stage)
    return out
