"""What each resource kind does on OpenStack: create, update in place, delete (and what it
waits for), one small class per kind, registered in ``OPERATIONS``.

Each class subclasses the kind's declaration in ``govcloud/provision/kinds.py`` (name, needs,
compared fields, what forces a replace), so a kind is read in two short places: what it is
(pure) and what it does (here). The operations get the running ``Executor`` (``cloud/apply.py``)
for everything that is not the kind's own: ids of what it hangs on, connections, lookups of
flavors or roles, and the waits, which free the executor's slot while the cloud works. The
scheduler (dependency graph, slots, waits, the boot poller, resume) knows nothing of a kind but
its declared needs.

Every create tags its resource with ``govcloud:request`` in the same call where the API allows
(servers and volumes: metadata; projects: tags; users and rules: description); neutron objects
get their tags right after. Deletes pass ``ignore_missing=True``: a re-run after a crash finds
some already gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from govcloud.cloud import read
from govcloud.cloud.read import QUOTA_KEYS, QUOTA_TAG, quota_digest
from govcloud.errors import CloudError
from govcloud.provision import credentials
from govcloud.provision import kinds as declared
from govcloud.provision.desired import REQUEST_TAG, Resource, neutron_rule
from govcloud.provision.plan import OWNER_FIELD, Action

if TYPE_CHECKING:
    from govcloud.cloud.apply import Executor


class CloudKind(declared.Kind):
    """The operations every kind has; a kind overrides those it supports."""

    # The function of cloud/read.py that reads the kind (one list call per resource type, so a
    # reader may read several kinds; the kind's Cloud* document comes from cloud/mappers.py).
    reader: ClassVar[Callable[..., Any] | None] = None

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        raise CloudError(f"tenant {r.tenant}: {r.kind} {r.name}: govcloud cannot create a "
                         f"{r.kind}", hint="report this as a bug")

    def update(self, ex: Executor, r: Resource, action: Action) -> None:
        """A kind without fields of its own (an interface, an assignment, an attachment) reads
        its request from what it hangs on, which its own update re-tags: nothing to do here."""
        changed = ", ".join(name for name, _, _ in action.changes if name != OWNER_FIELD)
        if not changed:
            return
        raise CloudError(f"tenant {r.tenant}: {r.kind} {r.name}: {changed} cannot be changed "
                         "in place", hint="delete it (remove it from the request, apply), then "
                                          "ask for it again")

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        raise CloudError(f"tenant {r.tenant}: {r.kind} {r.name}: govcloud cannot delete a "
                         f"{r.kind}", hint="report this as a bug")


def _changed(action: Action) -> set[str]:
    return {name for name, _, _ in action.changes}


# ---------------------------------------------------------------- identity


class Project(declared.Project, CloudKind):
    reader = staticmethod(read.read_cloud)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        f = r.field_map()
        project = ex.conn.identity.create_project(
            name=r.name, domain_id="default", description=f.get("description", ""),
            tags=sorted(f["tags"]))
        ex.remember(r, project.id)
        ex.set_project_tags(r.tenant, list(project.tags or []))

    def update(self, ex: Executor, r: Resource, action: Action) -> None:
        f = r.field_map()
        keep = [t for t in ex.project_tags(r.tenant)
                if not t.startswith("govcloud:") or t.startswith(QUOTA_TAG + "=")]
        tags = sorted(set(keep) | set(f["tags"]))
        ex.conn.identity.update_project(ex.project(r.tenant),
                                        description=f.get("description", ""), tags=tags)
        ex.set_project_tags(r.tenant, tags)

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        pid = ex.id_of(r.tenant, "project", r.name)
        for group in ex.conn.network.security_groups(project_id=pid, name="default"):
            ex.conn.network.delete_security_group(group, if_revision=None)
        ex.cloud.forget_scoped(pid)
        ex.conn.identity.delete_project(pid, ignore_missing=True)


class Quota(declared.Quota, CloudKind):
    reader = staticmethod(read._project_quotas)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        pid = ex.project(r.tenant)
        by_service: dict[str, dict[str, Any]] = {}
        for key, value in r.fields:
            service, name = QUOTA_KEYS[key]
            by_service.setdefault(service, {})[name] = value
        if "compute" in by_service:
            ex.conn.compute.update_quota_set(pid, **by_service["compute"])
        if "volume" in by_service:
            ex.conn.block_storage.update_quota_set(pid, **by_service["volume"])
        if "network" in by_service:
            ex.conn.network.update_quota(pid, **by_service["network"])
        # Only after the quotas: the tag tells a later plan they need not be read again.
        tags = [t for t in ex.project_tags(r.tenant) if not t.startswith(QUOTA_TAG + "=")]
        tags.append(f"{QUOTA_TAG}={quota_digest(r.field_map())}")
        ex.conn.identity.update_project(pid, tags=sorted(tags))
        ex.set_project_tags(r.tenant, sorted(tags))

    update = create

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        """Quotas go with their project; nothing to remove on their own."""


class User(declared.User, CloudKind):
    reader = staticmethod(read._read_identity)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        f = r.field_map()
        opts = ex.opts
        if opts.credentials_dir is None or opts.credentials_key is None:
            raise CloudError(f"tenant {r.tenant}: user {r.name}: no credentials bundle to hold "
                             "its initial password", hint="pass --credentials-key")
        password = credentials.new_password()
        path = credentials.put_password(opts.credentials_dir, opts.credentials_key,
                                        opts.departments.get(r.tenant, r.tenant), r.tenant,
                                        r.name, password)
        attrs: dict[str, Any] = {"email": f["email"]} if f.get("email") else {}
        user = ex.conn.identity.create_user(
            name=r.name, password=password, domain_id="default",
            default_project_id=ex.project(r.tenant),
            description=f"managed by govcloud {REQUEST_TAG}={r.request}", **attrs)
        del password
        ex.remember(r, user.id)
        ex.wrote_passwords(path)

    def update(self, ex: Executor, r: Resource, action: Action) -> None:
        ex.conn.identity.update_user(
            ex.id_of(r.tenant, "user", r.name), email=r.field_map().get("email"),
            description=f"managed by govcloud {REQUEST_TAG}={r.request}")

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        ex.conn.identity.delete_user(ex.id_of(r.tenant, "user", r.name), ignore_missing=True)


class RoleAssignment(declared.RoleAssignment, CloudKind):
    reader = staticmethod(read._read_identity)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        user, _, role = r.name.rpartition(":")
        ex.conn.identity.assign_project_role_to_user(
            ex.project(r.tenant), ex.id_of(r.tenant, "user", user), ex.role(role))

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        uid, pid, rid = ex.id_of(r.tenant, "role_assignment", r.name).split(":")
        ex.conn.identity.unassign_project_role_from_user(pid, uid, rid)


# ---------------------------------------------------------------- network


class _Tagged(CloudKind):
    """A neutron object: tagged right after its create (neutron takes no tags in the create
    call); an update re-tags one a crash left without its tag (found again by its name)."""

    def fetch(self, ex: Executor, ident: str) -> Any:
        raise NotImplementedError

    def tag(self, ex: Executor, found: Any, r: Resource) -> None:
        ex.conn.network.set_tags(found, [f"{REQUEST_TAG}={r.request}"])

    def made(self, ex: Executor, r: Resource, found: Any) -> None:
        ex.remember(r, found.id)
        self.tag(ex, found, r)

    def update(self, ex: Executor, r: Resource, action: Action) -> None:
        if OWNER_FIELD in _changed(action):
            self.tag(ex, self.fetch(ex, ex.id_of(r.tenant, r.kind, r.name)), r)


class Network(declared.Network, _Tagged):
    reader = staticmethod(read._read_network)

    def fetch(self, ex: Executor, ident: str) -> Any:
        return ex.conn.network.get_network(ident)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        self.made(ex, r, ex.conn.network.create_network(name=r.name,
                                                        project_id=ex.project(r.tenant)))

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        ex.conn.network.delete_network(ex.id_of(r.tenant, "network", r.name),
                                       ignore_missing=True)


class Subnet(declared.Subnet, _Tagged):
    reader = staticmethod(read._read_network)

    def fetch(self, ex: Executor, ident: str) -> Any:
        return ex.conn.network.get_subnet(ident)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        cidr = r.field_map()["cidr"]
        self.made(ex, r, ex.conn.network.create_subnet(
            name=r.name, network_id=ex.id_of(r.tenant, "network", r.parent or ""),
            cidr=cidr, ip_version=6 if ":" in cidr else 4, project_id=ex.project(r.tenant)))

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        ex.conn.network.delete_subnet(ex.id_of(r.tenant, "subnet", r.name), ignore_missing=True)


class Router(declared.Router, _Tagged):
    reader = staticmethod(read._read_network)

    def fetch(self, ex: Executor, ident: str) -> Any:
        return ex.conn.network.get_router(ident)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        attrs: dict[str, Any] = {}
        if r.field_map().get("external_gateway"):
            attrs["external_gateway_info"] = {"network_id": ex.external_network(r.tenant)}
        self.made(ex, r, ex.conn.network.create_router(
            name=r.name, project_id=ex.project(r.tenant), **attrs))

    def update(self, ex: Executor, r: Resource, action: Action) -> None:
        """The gateway is set or removed in place (a classified tenant's router loses it)."""
        if "external_gateway" in _changed(action):
            info: dict[str, Any] = {}
            if r.field_map().get("external_gateway"):
                info = {"network_id": ex.external_network(r.tenant)}
            ex.conn.network.update_router(ex.id_of(r.tenant, "router", r.name),
                                          external_gateway_info=info)
        super().update(ex, r, action)

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        # Interfaces govcloud did not make would block the delete: say so instead of forcing.
        ex.conn.network.delete_router(ex.id_of(r.tenant, "router", r.name),
                                      ignore_missing=True)


class RouterInterface(declared.RouterInterface, CloudKind):
    reader = staticmethod(read._read_network)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        router, _, subnet = r.name.partition(":")
        ex.conn.network.add_interface_to_router(
            ex.id_of(r.tenant, "router", router),
            subnet_id=ex.id_of(r.tenant, "subnet", subnet))

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        extra = ex.snap.extra.get(r.key, {})
        ex.conn.network.remove_interface_from_router(extra["router_id"],
                                                     subnet_id=extra["subnet_id"])


class SecurityGroup(declared.SecurityGroup, _Tagged):
    reader = staticmethod(read._read_network)

    def fetch(self, ex: Executor, ident: str) -> Any:
        return ex.conn.network.get_security_group(ident)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        self.made(ex, r, ex.conn.network.create_security_group(
            name=r.name, description=r.field_map().get("description", ""),
            project_id=ex.project(r.tenant)))

    def update(self, ex: Executor, r: Resource, action: Action) -> None:
        if "description" in _changed(action):
            ex.conn.network.update_security_group(
                ex.id_of(r.tenant, "security_group", r.name),
                description=r.field_map().get("description", ""))
        super().update(ex, r, action)

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        ex.conn.network.delete_security_group(
            ex.id_of(r.tenant, "security_group", r.name), ignore_missing=True)


class SecurityGroupRule(declared.SecurityGroupRule, CloudKind):
    reader = staticmethod(read._read_rule)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        rule = ex.conn.network.create_security_group_rule(
            security_group_id=ex.id_of(r.tenant, "security_group", r.parent or ""),
            description=f"{REQUEST_TAG}={r.request}", project_id=ex.project(r.tenant),
            **neutron_rule(r.field_map()))
        ex.remember(r, rule.id)

    def update(self, ex: Executor, r: Resource, action: Action) -> None:
        """Rules cannot be changed: one whose description lost its mark is made again."""
        self.delete(ex, r, action)
        self.create(ex, r, action)

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        ex.conn.network.delete_security_group_rule(ex.id_of(r.tenant, "sg_rule", r.name),
                                                   ignore_missing=True)


# ---------------------------------------------------------------- compute and storage


def _plain_map(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {str(k): str(v) for k, v in value}


def _gone(find: Any, ident: str) -> Any:
    """A status probe for a deletion: ``deleted`` once the resource is not found."""
    def status() -> str | None:
        found = find(ident, ignore_missing=True, all_projects=True)
        return "deleted" if found is None else found.status
    return status


class Server(declared.Server, CloudKind):
    reader = staticmethod(read._read_compute)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        f = r.field_map()
        conn = ex.scoped(r.tenant)
        groups = sorted(f.get("security_groups", ("default",)))
        server = conn.compute.create_server(
            name=r.name, flavor_id=ex.flavor(r.tenant, f["flavor"]),
            image_id=ex.image(r.tenant, f["image"]),
            networks=[{"uuid": ex.id_of(r.tenant, "network", f["network"])}],
            security_groups=[{"name": g} for g in groups],
            metadata=_plain_map(f.get("metadata", ())))
        ex.remember(r, server.id)
        ex.wait_server(r.tenant, r.name, server.id, fresh=True)

    def update(self, ex: Executor, r: Resource, action: Action) -> None:
        sid = ex.id_of(r.tenant, "server", r.name)
        changed = _changed(action)
        compute = ex.conn.compute
        if "metadata" in changed:
            want = _plain_map(r.field_map().get("metadata", ()))
            have = dict(ex.snap.extra.get(r.key, {}).get("metadata", {}))
            extra = [k for k in have if k not in want]
            if extra:
                compute.delete_server_metadata(sid, extra)
            if any(have.get(k) != v for k, v in want.items()):
                compute.set_server_metadata(sid, **want)
        if "security_groups" in changed:
            old, new = next((a, d) for n, a, d in action.changes if n == "security_groups")
            conn = ex.scoped(r.tenant)
            for group in sorted(set(new) - set(old or ())):
                conn.compute.add_security_group_to_server(sid, {"name": group})
            for group in sorted(set(old or ()) - set(new)):
                conn.compute.remove_security_group_from_server(sid, {"name": group})

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        sid = ex.id_of(r.tenant, "server", r.name)
        compute = ex.conn.compute
        compute.delete_server(sid, ignore_missing=True)
        ex.wait(f"server {r.name} deletion", r.tenant, _gone(compute.find_server, sid),
                {"deleted"}, set())


class Volume(declared.Volume, CloudKind):
    reader = staticmethod(read._read_compute)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        f = r.field_map()
        attrs: dict[str, Any] = {}
        if f.get("encrypted"):
            attrs["volume_type"] = ex.volume_type(r.tenant)
        conn = ex.scoped(r.tenant)
        volume = conn.block_storage.create_volume(name=r.name, size=f["size_gb"],
                                                  metadata={REQUEST_TAG: r.request}, **attrs)
        ex.remember(r, volume.id)
        storage = ex.conn.block_storage
        ex.wait(f"volume {r.name}", r.tenant, lambda: storage.get_volume(volume.id).status,
                {"available"}, {"error"})

    def update(self, ex: Executor, r: Resource, action: Action) -> None:
        vid = ex.id_of(r.tenant, "volume", r.name)
        changed = _changed(action)
        storage = ex.scoped(r.tenant).block_storage
        if OWNER_FIELD in changed:
            storage.set_volume_metadata(vid, **{REQUEST_TAG: r.request})
        if "size_gb" not in changed:
            return
        storage.extend_volume(vid, r.field_map()["size_gb"])
        ex.wait(f"volume {r.name} extension", r.tenant,
                lambda: storage.get_volume(vid).status, {"available", "in-use"},
                {"error_extending", "error"})

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        vid = ex.id_of(r.tenant, "volume", r.name)
        storage = ex.conn.block_storage
        storage.delete_volume(vid, ignore_missing=True)
        ex.wait(f"volume {r.name} deletion", r.tenant, _gone(storage.find_volume, vid),
                {"deleted"}, {"error_deleting"})


class VolumeAttachment(declared.VolumeAttachment, CloudKind):
    reader = staticmethod(read._read_compute)

    def create(self, ex: Executor, r: Resource, action: Action) -> None:
        volume, _, server = r.name.partition(":")
        vid = ex.id_of(r.tenant, "volume", volume)
        sid = ex.id_of(r.tenant, "server", server)
        ex.wait_server(r.tenant, server, sid)
        ex.scoped(r.tenant).compute.create_volume_attachment(sid, volume_id=vid)
        storage = ex.conn.block_storage
        ex.wait(f"attachment of volume {volume} to {server}", r.tenant,
                lambda: storage.get_volume(vid).status, {"in-use"}, {"error_attaching"})

    def delete(self, ex: Executor, r: Resource, action: Action) -> None:
        extra = ex.snap.extra.get(r.key, {})
        vid, sid = extra["volume_id"], extra["server_id"]
        ex.scoped(r.tenant).compute.delete_volume_attachment(sid, vid, ignore_missing=True)
        storage = ex.conn.block_storage
        ex.wait(f"detachment of volume {r.name}", r.tenant,
                lambda: storage.get_volume(vid).status, {"available"}, {"error_detaching"})


# ---------------------------------------------------------------- the registry


def _registry(classes: list[type[CloudKind]]) -> dict[str, CloudKind]:
    """The operations by kind name, exactly the declared kinds (in creation order)."""
    made = {cls.name: cls() for cls in classes}
    missing = [name for name in declared.KINDS if name not in made]
    extra = [name for name in made if name not in declared.KINDS]
    if missing or extra:
        raise declared.UnknownKind(
            f"{__name__}: kinds declared in govcloud/provision/kinds.py without operations "
            f"here: {missing}; operations here for undeclared kinds: {extra}")
    return {name: made[name] for name in declared.KINDS}


OPERATIONS: dict[str, CloudKind] = _registry([
    Project, Quota, User, RoleAssignment, Network, Subnet, Router, RouterInterface,
    SecurityGroup, SecurityGroupRule, Server, Volume, VolumeAttachment])


def operations(kind: str) -> CloudKind:
    try:
        return OPERATIONS[kind]
    except KeyError:
        raise declared.UnknownKind(f"resource kind '{kind}' has no operations in "
                                   f"{__name__}") from None
