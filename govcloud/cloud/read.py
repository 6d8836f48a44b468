"""Read what a cloud holds for a set of tenants into the provisioning model's ``Resource``s.

One list call per resource type, for all projects at once (an admin cloud), then filtered to the
managed projects: the number of calls does not grow with the number of tenants. Quotas have no
list call in nova and cinder; by default a project's quotas are trusted when its
``govcloud:quota=<digest>`` tag (set by apply right after the quotas) matches the request, and
read live only where it does not. ``refresh=True`` (apply, drift) reads every project's quotas.

Names follow ``govcloud.provision.desired``: a resource in a managed project with a desired name
is found again even when a crash kept its tag from being set, so nothing is created twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from govcloud.cloud.session import Cloud, retried
from govcloud.provision.desired import REQUEST_TAG, Resource, _fields, rule_name_of

QUOTA_TAG = "govcloud:quota"
ROUTER_INTERFACE = "network:router_interface"
# request key -> (service, cloud key)
QUOTA_KEYS: dict[str, tuple[str, str]] = {
    "cores": ("compute", "cores"),
    "ram_mb": ("compute", "ram"),
    "instances": ("compute", "instances"),
    "key_pairs": ("compute", "key_pairs"),
    "volumes": ("volume", "volumes"),
    "gigabytes": ("volume", "gigabytes"),
    "snapshots": ("volume", "snapshots"),
    "networks": ("network", "networks"),
    "subnets": ("network", "subnets"),
    "routers": ("network", "routers"),
    "ports": ("network", "ports"),
    "floating_ips": ("network", "floating_ips"),
    "security_groups": ("network", "security_groups"),
    "security_group_rules": ("network", "security_group_rules"),
}
# neutron's quota names differ from the SDK's keyword names
NEUTRON_QUOTA_NAMES = {"floating_ips": "floatingip", "security_groups": "security_group",
                       "security_group_rules": "security_group_rule", "networks": "network",
                       "subnets": "subnet", "routers": "router", "ports": "port"}


def quota_digest(quotas: Mapping[str, Any]) -> str:
    text = json.dumps(dict(sorted(quotas.items())), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Snapshot:
    """What the cloud holds for the managed tenants."""

    resources: list[Resource] = field(default_factory=list)
    ids: dict[tuple[str, str, str], str] = field(default_factory=dict)  # key -> cloud id
    extra: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    broken: dict[tuple[str, str, str], str] = field(default_factory=dict)  # key -> why
    conflicts: list[str] = field(default_factory=list)  # cannot plan: name taken by others
    projects: dict[str, str] = field(default_factory=dict)  # tenant -> project id
    server_ports: dict[str, list[tuple[str | None, list[str]]]] = field(default_factory=dict)
    group_names: dict[str, str] = field(default_factory=dict)  # security group id -> name
    ops_member_of: set[str] = field(default_factory=set)  # projects govcloud's user is in
    refreshed: bool = False

    def add(self, resource: Resource, ident: str, **extra: Any) -> None:
        self.resources.append(resource)
        self.ids[resource.key] = ident
        if extra:
            self.extra[resource.key] = extra


def _request_of_tags(tags: Iterable[str]) -> str:
    for tag in tags or ():
        if tag.startswith(REQUEST_TAG + "="):
            return tag.partition("=")[2]
    return ""


def _request_of_text(text: str | None) -> str:
    for word in (text or "").split():
        if word.startswith(REQUEST_TAG + "="):
            return word.partition("=")[2]
    return ""


def read_cloud(cloud: Cloud, desired: list[Resource], managed_requests: set[str],
               *, refresh: bool = False) -> Snapshot:
    """Everything in the projects the desired resources (or the managed requests) live in."""
    conn = cloud.conn
    snap = Snapshot(refreshed=refresh)
    tenants = {r.tenant for r in desired}
    want_project = {r.tenant: r for r in desired if r.kind == "project"}
    want_quota = {r.tenant: r for r in desired if r.kind == "quota"}

    projects = retried("*", "projects", lambda: list(conn.identity.projects(domain_id="default")))
    ours: dict[str, Any] = {}  # id -> project
    for project in projects:
        request = _request_of_tags(project.tags)
        if project.name in tenants or (request and request in managed_requests):
            wanted = want_project.get(project.name)
            if wanted is not None and request != wanted.request:
                owner = f"request {request}" if request else "nobody (no govcloud:request tag)"
                snap.conflicts.append(
                    f"project '{project.name}' exists and belongs to {owner}, not "
                    f"{wanted.request}: pick another tenant name, or adopt it with `openstack "
                    f"project set --tag {REQUEST_TAG}={wanted.request} {project.name}`")
                continue
            ours[project.id] = project
    if not ours:
        return snap
    name_of = {pid: p.name for pid, p in ours.items()}
    for pid, project in ours.items():
        tenant = project.name
        snap.projects[tenant] = pid
        request = _request_of_tags(project.tags)
        tags = frozenset(t for t in project.tags or () if t.startswith("govcloud:")
                         and not t.startswith(QUOTA_TAG + "="))
        snap.add(Resource("project", tenant, tenant, request,
                          _fields({"description": project.description or "", "tags": tags})),
                 pid, tags=list(project.tags or ()))
        quota = _read_quota(cloud, pid, tenant, project.tags, want_quota.get(tenant), refresh)
        if quota is not None:
            snap.add(Resource("quota", tenant, tenant, request, _fields(quota), tenant), pid)

    _read_identity(cloud, snap, ours, name_of)
    _read_network(cloud, snap, name_of)
    _read_compute(cloud, snap, name_of)
    return snap


def _read_quota(cloud: Cloud, pid: str, tenant: str, tags: list[str] | None,
                wanted: Resource | None, refresh: bool) -> dict[str, Any] | None:
    if wanted is None and not refresh:
        return None
    want = wanted.field_map() if wanted is not None else {}
    recorded = next((t.partition("=")[2] for t in tags or () if t.startswith(QUOTA_TAG + "=")),
                    None)
    if not refresh and want and recorded == quota_digest(want):
        return dict(want)  # applied by govcloud and the request has not changed since
    return read_quotas(cloud, pid, tenant, want.keys() or QUOTA_KEYS.keys())


def read_quotas(cloud: Cloud, pid: str, tenant: str, keys: Iterable[str]) -> dict[str, Any]:
    keys = list(keys)
    services = {QUOTA_KEYS[k][0] for k in keys}
    got: dict[str, Any] = {}
    conn = cloud.conn
    if "compute" in services:
        got["compute"] = retried(tenant, "quota", lambda: conn.compute.get_quota_set(pid))
    if "volume" in services:
        got["volume"] = retried(tenant, "quota", lambda: conn.block_storage.get_quota_set(pid))
    if "network" in services:
        got["network"] = retried(tenant, "quota", lambda: conn.network.get_quota(pid))
    out: dict[str, Any] = {}
    for key in keys:
        service, name = QUOTA_KEYS[key]
        value = getattr(got[service], name, None)
        if value is None and service == "network":
            value = getattr(got[service], NEUTRON_QUOTA_NAMES.get(key, name), None)
        out[key] = value
    return out


def _read_identity(cloud: Cloud, snap: Snapshot, ours: dict[str, Any],
                   name_of: dict[str, str]) -> None:
    conn = cloud.conn
    users = retried("*", "users", lambda: list(conn.identity.users(domain_id="default")))
    roles = retried("*", "roles", lambda: {r.id: r.name for r in conn.identity.roles()})
    assignments = retried("*", "role assignments",
                          lambda: list(conn.identity.role_assignments()))
    me = cloud.user_id
    user_tenant: dict[str, tuple[str, str]] = {}
    for user in users:
        request = _request_of_text(user.description)
        tenant = name_of.get(user.default_project_id or "")
        if tenant is None:
            continue
        user_tenant[user.id] = (tenant, user.name)
        snap.add(Resource("user", user.name, tenant, request,
                          _fields({"email": getattr(user, "email", None)}), tenant), user.id)
    requests_of = {r.name: r.request for r in snap.resources if r.kind == "project"}
    for item in assignments:
        scope = (item.scope or {}).get("project", {})
        pid = scope.get("id")
        uid = (item.user or {}).get("id")
        if pid not in name_of or not uid:
            continue
        if uid == me:  # govcloud's own way into the project (servers and volumes need it)
            snap.ops_member_of.add(pid)
            continue
        role = roles.get((item.role or {}).get("id", ""), "?")
        tenant = name_of[pid]
        owner = user_tenant.get(uid)
        user_name = owner[1] if owner else uid
        # An assignment made by govcloud belongs to a user govcloud made for that project.
        request = requests_of.get(tenant, "") if owner and owner[0] == tenant else ""
        snap.add(Resource("role_assignment", f"{user_name}:{role}", tenant, request,
                          parent=user_name), f"{uid}:{pid}:{(item.role or {}).get('id')}")


def _read_network(cloud: Cloud, snap: Snapshot, name_of: dict[str, str]) -> None:
    conn = cloud.conn
    net = conn.network

    def ours(what: str, lister: Callable[[], Iterable[Any]]) -> list[Any]:
        return retried("*", what, lambda: [x for x in lister() if x.project_id in name_of])

    networks = ours("networks", net.networks)
    subnets = ours("subnets", net.subnets)
    routers = ours("routers", net.routers)
    ports = ours("ports", net.ports)
    groups = ours("security groups", net.security_groups)
    rules = ours("security group rules", net.security_group_rules)
    net_names = {n.id: n.name for n in networks}
    sub_names = {s.id: s.name for s in subnets}
    router_names = {r.id: r.name for r in routers}
    for net in networks:
        snap.add(Resource("network", net.name, name_of[net.project_id],
                          _request_of_tags(net.tags), (), name_of[net.project_id]), net.id)
    for sub in subnets:
        snap.add(Resource("subnet", sub.name, name_of[sub.project_id],
                          _request_of_tags(sub.tags), _fields({"cidr": sub.cidr}),
                          net_names.get(sub.network_id)), sub.id)
    router_request = {}
    for router in routers:
        request = _request_of_tags(router.tags)
        router_request[router.id] = request
        snap.add(Resource("router", router.name, name_of[router.project_id], request,
                          _fields({"external_gateway": bool(router.external_gateway_info)}),
                          name_of[router.project_id]), router.id)
    for port in ports:
        if port.device_owner == ROUTER_INTERFACE and port.device_id in router_names:
            for fixed in port.fixed_ips or ():
                subnet = sub_names.get(fixed.get("subnet_id"))
                if subnet is None:
                    continue
                router = router_names[port.device_id]
                snap.add(Resource("router_interface", f"{router}:{subnet}",
                                  name_of[port.project_id], router_request[port.device_id],
                                  parent=router), port.id, router_id=port.device_id,
                         subnet_id=fixed.get("subnet_id"))
        elif (port.device_owner or "").startswith("compute:"):
            snap.server_ports.setdefault(port.device_id, []).append(
                (net_names.get(port.network_id), list(port.security_group_ids or ())))
    group_names = {g.id: g.name for g in groups}
    snap.group_names = group_names
    for group in groups:
        if group.name == "default":
            continue  # neutron makes one per project; servers may use it, nobody owns it
        snap.add(Resource("security_group", group.name, name_of[group.project_id],
                          _request_of_tags(group.tags),
                          _fields({"description": group.description or ""}),
                          name_of[group.project_id]), group.id)
    for rule in rules:
        group = group_names.get(rule.security_group_id)
        if group is None or group == "default":
            continue
        if (rule.direction == "egress" and rule.protocol is None and rule.remote_ip_prefix is None
                and rule.remote_group_id is None and not rule.description):
            continue  # the allow-all egress rules neutron adds to every new group
        remote = rule.remote_ip_prefix or (f"group:{rule.remote_group_id}"
                                           if rule.remote_group_id else "0.0.0.0/0")
        values = {"direction": rule.direction, "protocol": rule.protocol or "any",
                  "port_min": rule.port_range_min, "port_max": rule.port_range_max,
                  "remote": remote}
        snap.add(Resource("sg_rule", rule_name_of(group, values), name_of[rule.project_id],
                          _request_of_text(rule.description), _fields(values), group), rule.id)


def _read_compute(cloud: Cloud, snap: Snapshot, name_of: dict[str, str]) -> None:
    conn = cloud.conn
    servers = retried("*", "servers", lambda: [
        s for s in conn.compute.servers(details=True, all_projects=True)
        if s.project_id in name_of])
    volumes = retried("*", "volumes", lambda: [
        v for v in conn.block_storage.volumes(details=True, all_projects=True)
        if v.project_id in name_of])
    images = retried("*", "images", lambda: {i.id: i.name for i in conn.image.images()}
                     ) if servers else {}
    ports = snap.server_ports
    group_names = snap.group_names
    server_names = {}
    for server in servers:
        tenant = name_of[server.project_id]
        server_names[server.id] = server.name
        attached = ports.get(server.id, [])
        network = attached[0][0] if attached else None
        groups = frozenset(group_names.get(g, g) for _, ids in attached for g in ids)
        flavor = (server.flavor or {}).get("original_name") or (server.flavor or {}).get("name")
        image = images.get((server.image or {}).get("id", ""), (server.image or {}).get("id"))
        metadata = dict(server.metadata or {})
        values = {"flavor": flavor, "image": image, "network": network, "metadata": metadata}
        if attached:
            values["security_groups"] = groups
        resource = Resource("server", server.name, tenant, metadata.get(REQUEST_TAG, ""),
                            _fields(values), network)
        snap.add(resource, server.id, status=server.status, metadata=metadata)
        if (server.status or "").upper() == "ERROR":
            snap.broken[resource.key] = "the server is in ERROR state"
    for volume in volumes:
        tenant = name_of[volume.project_id]
        metadata = dict(volume.metadata or {})
        request = metadata.get(REQUEST_TAG, "")
        resource = Resource("volume", volume.name, tenant, request,
                            _fields({"size_gb": volume.size,
                                     "encrypted": bool(volume.is_encrypted)}), tenant)
        snap.add(resource, volume.id, status=volume.status)
        if (volume.status or "").lower() in ("error", "error_extending"):
            snap.broken[resource.key] = f"the volume is in {volume.status} state"
        for attachment in volume.attachments or ():
            server = server_names.get(attachment.get("server_id"))
            if server is None:
                continue
            snap.add(Resource("volume_attachment", f"{volume.name}:{server}", tenant, request,
                              parent=volume.name), attachment.get("attachment_id") or "",
                     server_id=attachment.get("server_id"), volume_id=volume.id)
