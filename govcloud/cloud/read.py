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

import functools
import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from govcloud.cloud import copies
from govcloud.cloud.mappers import (
    TAG_PREFIX,
    is_neutron_default,
    quota_values,
    request_of,
    rule_meaning,
    server_flavor,
    server_image_id,
    tag_values,
)
from govcloud.cloud.session import Cloud, retried
from govcloud.cloudkinds import QUOTAS
from govcloud.provision.desired import REQUEST_TAG, Resource, _fields, rule_name_of

QUOTA_TAG = "govcloud:quota"
ROUTER_INTERFACE = "network:router_interface"
QUOTA_KEYS = QUOTAS  # the name cloud/apply.py imports: request key -> (service, sdk name)


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
    images: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> active image
    refreshed: bool = False

    # a second resource of a name already read (key -> [(resource, id, extra)]): resolved by
    # cloud/copies.py into ``copies`` (copy key -> (key of the one kept, why it was kept))
    clashes: dict[tuple[str, str, str], list[tuple[Resource, str, dict[str, Any]]]] = field(
        default_factory=dict)
    copies: dict[tuple[str, str, str], tuple[tuple[str, str, str], str]] = field(
        default_factory=dict)

    def add(self, resource: Resource, ident: str, **extra: Any) -> None:
        if resource.key in self.ids:
            self.clashes.setdefault(resource.key, []).append((resource, ident, extra))
            return
        self.resources.append(resource)
        self.ids[resource.key] = ident
        if extra:
            self.extra[resource.key] = extra


# name -> (service, path, key in the body, query, compute microversion). Neutron's security
# groups carry their rules: listing /security-group-rules instead costs neutron a query per rule
# (4 s of a 100-tenant plan). Nova >= 2.47 embeds the flavor with its name.
ListCall = tuple[str, str, str, dict[str, Any], str | None]
LISTS: dict[str, ListCall] = {
    "projects": ("identity", "/projects", "projects", {"domain_id": "default"}, None),
    "users": ("identity", "/users", "users", {"domain_id": "default"}, None),
    "roles": ("identity", "/roles", "roles", {}, None),
    "role assignments": ("identity", "/role_assignments", "role_assignments", {}, None),
    "networks": ("network", "/networks", "networks",
                 {"fields": ["id", "name", "project_id", "tags", "created_at"]}, None),
    "subnets": ("network", "/subnets", "subnets",
                {"fields": ["id", "name", "project_id", "tags", "cidr", "network_id",
                           "created_at"]}, None),
    "routers": ("network", "/routers", "routers",
                {"fields": ["id", "name", "project_id", "tags", "external_gateway_info",
                            "created_at"]}, None),
    "ports": ("network", "/ports", "ports",
              {"fields": ["id", "project_id", "device_owner", "device_id", "fixed_ips",
                          "network_id", "security_groups"]}, None),
    "security groups": ("network", "/security-groups", "security_groups",
                        {"fields": ["id", "name", "project_id", "tags", "description",
                                    "security_group_rules", "created_at"]}, None),
    "servers": ("compute", "/servers/detail", "servers", {"all_tenants": 1}, "2.47"),
    "volumes": ("block_storage", "/volumes/detail", "volumes", {"all_tenants": 1}, None),
}
# Listed only when servers exist or are requested (a server's image is judged by its OS).
IMAGES: ListCall = ("image", "/images", "images", {"limit": 1000}, None)
READERS = 8  # concurrent list calls / quota reads


def fetch(cloud: Cloud, names: Iterable[str],
          table: Mapping[str, ListCall] = LISTS) -> dict[str, list[dict[str, Any]]]:
    """The named lists of ``table`` (``LISTS`` by default), read concurrently, each retried when
    the connection drops; a failure names the cloud and the list."""
    def one(name: str) -> list[dict[str, Any]]:
        service, path, key, params, microversion = table[name]
        return retried("*", name, lambda: cloud.list(service, path, key, params=params,
                                                     microversion=microversion),
                       message=f"cloud '{cloud.name}': listing {name} ({service}) failed")

    names = list(names)
    with ThreadPoolExecutor(max_workers=min(READERS, len(names) or 1)) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def read_cloud(cloud: Cloud, desired: list[Resource], managed_requests: set[str],
               *, refresh: bool = False) -> Snapshot:
    """Everything in the projects the desired resources (or the managed requests) live in."""
    snap = Snapshot(refreshed=refresh)
    tenants = {r.tenant for r in desired}
    want_project = {r.tenant: r for r in desired if r.kind == "project"}
    want_quota = {r.tenant: r for r in desired if r.kind == "quota"}

    lists = fetch(cloud, LISTS)
    ours: dict[str, dict[str, Any]] = {}  # id -> project
    for project in lists["projects"]:
        request = request_of(project.get("tags"))
        name = project["name"]
        if name in tenants or (request and request in managed_requests):
            wanted = want_project.get(name)
            if wanted is not None and request != wanted.request:
                owner = f"request {request}" if request else "nobody (no govcloud:request tag)"
                snap.conflicts.append(
                    f"project '{name}' exists and belongs to {owner}, not "
                    f"{wanted.request}: pick another tenant name, or adopt it with `openstack "
                    f"project set --tag {REQUEST_TAG}={wanted.request} {name}`")
                continue
            ours[project["id"]] = project
    wants_servers = any(r.kind == "server" for r in desired)
    if not ours:
        _images(cloud, snap, wants_servers)
        return snap
    name_of = {pid: p["name"] for pid, p in ours.items()}

    quotas = _project_quotas(cloud, ours, want_quota, refresh)
    for pid, project in ours.items():
        quota = quotas.get(pid)
        tenant = project["name"]
        snap.projects[tenant] = pid
        all_tags = list(project.get("tags") or ())
        request = request_of(all_tags)
        tags = frozenset(t for t in all_tags if t.startswith(TAG_PREFIX)
                         and not t.startswith(QUOTA_TAG + "="))
        snap.add(Resource("project", tenant, tenant, request,
                          _fields({"description": project.get("description") or "",
                                   "tags": tags})),
                 pid, tags=all_tags)
        if quota is not None:
            snap.add(Resource("quota", tenant, tenant, request, _fields(quota), tenant), pid)

    def mine(name: str, project_key: str = "project_id") -> list[dict[str, Any]]:
        return [x for x in lists[name] if x.get(project_key) in name_of]

    _read_identity(cloud, snap, lists, name_of)
    _read_network(snap, {n: mine(n) for n in ("networks", "subnets", "routers", "ports",
                                               "security groups")}, name_of)
    servers = mine("servers", "tenant_id")
    listed = _images(cloud, snap, bool(servers) or wants_servers)
    images = {i["id"]: i.get("name") for i in listed}
    volumes = mine("volumes", "os-vol-tenant-attr:tenant_id")
    _read_compute(snap, servers, volumes, images, name_of)
    if snap.clashes:
        copies.set_apart(snap, *copies.facts(lists, servers, volumes))
    return snap


def _images(cloud: Cloud, snap: Snapshot, needed: bool) -> list[dict[str, Any]]:
    """The images, when servers exist or are requested; ``snap.images`` gets the active one of
    each name (what a requested server boots from: apply picks the same; the planned state
    the live policies are run on needs its OS and checksum)."""
    if not needed:
        return []
    listed = fetch(cloud, ["images"], {"images": IMAGES})["images"]
    snap.images = {str(i["name"]): i for i in listed
                   if i.get("name") and i.get("status") == "active"}
    return listed


def _project_quotas(cloud: Cloud, projects: Mapping[str, dict[str, Any]],
                    want_quota: Mapping[str, Resource], refresh: bool) -> dict[str, dict[str, Any]]:
    """Each project's quotas, as far as they are compared: those of a requested quota unless
    its ``govcloud:quota`` tag says apply set exactly them (then the request's values), every
    key when ``refresh``; nothing for a project without requested quotas unless ``refresh``."""
    out: dict[str, dict[str, Any]] = {}
    to_read: dict[str, tuple[str, list[str]]] = {}
    for pid, project in projects.items():
        wanted = want_quota.get(project["name"])
        if wanted is None and not refresh:
            continue
        want = wanted.field_map() if wanted is not None else {}
        recorded = tag_values(project.get("tags")).get(QUOTA_TAG.removeprefix(TAG_PREFIX))
        if not refresh and want and recorded == quota_digest(want):
            out[pid] = dict(want)  # applied by govcloud and the request has not changed since
        else:
            to_read[pid] = (project["name"], list(want.keys() or QUOTA_KEYS.keys()))
    out.update(read_quotas_of(cloud, to_read))
    return out


# Neutron lists the quotas of every project that has its own in one call (each with all keys,
# neutron's defaults filled in); nova and cinder have no such list: one call per project each.
NETWORK_QUOTAS: ListCall = ("network", "/quotas", "quotas", {}, None)


def read_quotas_of(cloud: Cloud,
                   projects: Mapping[str, tuple[str, Iterable[str]]]) -> dict[str, dict[str, Any]]:
    """The quotas of several projects (id -> (name, keys)): neutron's of all of them in one
    list call (plus neutron's defaults once, for a project without quotas of its own), nova's
    and cinder's one call per project each, ``READERS`` at a time. The per-project calls are
    the one part of reading a cloud that grows with the number of tenants."""
    wanted = {pid: (name, list(keys)) for pid, (name, keys) in projects.items()}
    if not wanted:
        return {}
    own: dict[str, Any] = {}
    if any(QUOTAS[k][0] == "network" for _, keys in wanted.values() for k in keys):
        listed = fetch(cloud, ["network quotas"],
                       {"network quotas": NETWORK_QUOTAS})["network quotas"]
        own = {str(q.get("project_id") or q.get("tenant_id")): q for q in listed}
    default: list[Any] = []
    lock = threading.Lock()

    def network(pid: str) -> Any:
        if pid in own:
            return own[pid]
        with lock:
            if not default:
                default.append(retried("*", "default network quotas",
                                       lambda: cloud.conn.network.get_quota_default(pid)))
        return default[0]

    def one(pid: str) -> dict[str, Any]:
        name, keys = wanted[pid]
        network_keys = [k for k in keys if QUOTAS[k][0] == "network"]
        out = read_quotas(cloud, pid, name, [k for k in keys if k not in network_keys])
        if network_keys:
            out.update(quota_values({"network": network(pid)}, network_keys))
        return out

    with ThreadPoolExecutor(max_workers=min(READERS, len(wanted))) as pool:
        return dict(zip(wanted, pool.map(one, wanted), strict=True))


# service in QUOTAS -> (openstacksdk proxy, path of one project's quota set, answer's key)
QUOTA_SETS = {"compute": ("compute", "/os-quota-sets/{}", "quota_set"),
              "volume": ("block_storage", "/os-quota-sets/{}", "quota_set"),
              "network": ("network", "/quotas/{}", "quota")}


def read_quotas(cloud: Cloud, pid: str, tenant: str, keys: Iterable[str]) -> dict[str, Any]:
    """The quotas ``keys`` of one project: one GET per service they belong to, as plain JSON."""
    keys = list(keys)
    answers = {}
    for service in sorted({QUOTAS[k][0] for k in keys}):
        proxy, path, key = QUOTA_SETS[service]
        answers[service] = retried(tenant, "quota", functools.partial(
            cloud.get, proxy, path.format(pid), key))
    return quota_values(answers, keys)


def _read_identity(cloud: Cloud, snap: Snapshot, lists: Mapping[str, list[dict[str, Any]]],
                   name_of: dict[str, str]) -> None:
    roles = {r["id"]: r["name"] for r in lists["roles"]}
    me = cloud.user_id
    user_tenant: dict[str, tuple[str, str]] = {}
    for user in lists["users"]:
        request = request_of(text=user.get("description"))
        tenant = name_of.get(user.get("default_project_id") or "")
        if tenant is None:
            continue
        user_tenant[user["id"]] = (tenant, user["name"])
        snap.add(Resource("user", user["name"], tenant, request,
                          _fields({"email": user.get("email")}), tenant), user["id"])
    requests_of = {r.name: r.request for r in snap.resources if r.kind == "project"}
    for item in lists["role assignments"]:
        scope = (item.get("scope") or {}).get("project", {})
        pid = scope.get("id")
        uid = (item.get("user") or {}).get("id")
        if pid not in name_of or not uid:
            continue
        if uid == me:  # govcloud's own way into the project (servers and volumes need it)
            snap.ops_member_of.add(pid)
            continue
        role_id = (item.get("role") or {}).get("id", "")
        role = roles.get(role_id, "?")
        tenant = name_of[pid]
        owner = user_tenant.get(uid)
        user_name = owner[1] if owner else uid
        # An assignment made by govcloud belongs to a user govcloud made for that project.
        request = requests_of.get(tenant, "") if owner and owner[0] == tenant else ""
        snap.add(Resource("role_assignment", f"{user_name}:{role}", tenant, request,
                          parent=user_name), f"{uid}:{pid}:{role_id}")


def _read_network(snap: Snapshot, lists: Mapping[str, list[dict[str, Any]]],
                  name_of: dict[str, str]) -> None:
    networks, subnets, routers = lists["networks"], lists["subnets"], lists["routers"]
    net_names = {n["id"]: n["name"] for n in networks}
    sub_names = {s["id"]: s["name"] for s in subnets}
    router_names = {r["id"]: r["name"] for r in routers}
    for net in networks:
        tenant = name_of[net["project_id"]]
        snap.add(Resource("network", net["name"], tenant, request_of(net.get("tags")), (),
                          tenant), net["id"])
    for sub in subnets:
        snap.add(Resource("subnet", sub["name"], name_of[sub["project_id"]],
                          request_of(sub.get("tags")), _fields({"cidr": sub.get("cidr")}),
                          net_names.get(sub.get("network_id"))), sub["id"])
    router_request = {}
    for router in routers:
        request = request_of(router.get("tags"))
        router_request[router["id"]] = request
        tenant = name_of[router["project_id"]]
        snap.add(Resource("router", router["name"], tenant, request,
                          _fields({"external_gateway": bool(router.get("external_gateway_info"))}),
                          tenant), router["id"])
    for port in lists["ports"]:
        owner, device = port.get("device_owner") or "", port.get("device_id") or ""
        if owner == ROUTER_INTERFACE and device in router_names:
            for fixed in port.get("fixed_ips") or ():
                subnet = sub_names.get(fixed.get("subnet_id"))
                if subnet is None:
                    continue
                router = router_names[device]
                snap.add(Resource("router_interface", f"{router}:{subnet}",
                                  name_of[port["project_id"]], router_request[device],
                                  parent=router), port["id"], router_id=device,
                         subnet_id=fixed.get("subnet_id"))
        elif owner.startswith("compute:"):
            snap.server_ports.setdefault(device, []).append(
                (net_names.get(port.get("network_id")), list(port.get("security_groups") or ())))
    groups = lists["security groups"]
    snap.group_names = {g["id"]: g["name"] for g in groups}
    for group in groups:
        if group["name"] == "default":
            continue  # neutron makes one per project; servers may use it, nobody owns it
        tenant = name_of[group["project_id"]]
        snap.add(Resource("security_group", group["name"], tenant,
                          request_of(group.get("tags")),
                          _fields({"description": group.get("description") or ""}), tenant),
                 group["id"])
        for rule in group.get("security_group_rules") or ():
            _read_rule(snap, tenant, group["name"], rule)


def _read_rule(snap: Snapshot, tenant: str, group: str, rule: dict[str, Any]) -> None:
    if is_neutron_default(rule):
        return  # the allow-all egress rules neutron adds to every new group
    meaning = rule_meaning(rule)
    values = {k: meaning[k] for k in ("direction", "protocol", "port_min", "port_max", "remote")}
    snap.add(Resource("sg_rule", rule_name_of(group, values), tenant,
                      request_of(text=rule.get("description")), _fields(values), group),
             rule["id"])


def _read_compute(snap: Snapshot, servers: list[dict[str, Any]], volumes: list[dict[str, Any]],
                  images: dict[str, Any], name_of: dict[str, str]) -> None:
    ports = snap.server_ports
    group_names = snap.group_names
    server_names: dict[str, str] = {}
    for server in servers:
        tenant = name_of[server["tenant_id"]]
        server_names[server["id"]] = str(server["name"])
        attached = ports.get(server["id"], [])
        network = attached[0][0] if attached else None
        groups = frozenset(group_names.get(g, g) for _, ids in attached for g in ids)
        flavor = server_flavor(server)
        image_id = server_image_id(server)
        image = images.get(image_id, image_id) if image_id else None
        metadata = dict(server.get("metadata") or {})
        values = {"flavor": flavor, "image": image, "network": network, "metadata": metadata}
        if attached:
            values["security_groups"] = groups
        status = server.get("status") or ""
        resource = Resource("server", server["name"], tenant, metadata.get(REQUEST_TAG, ""),
                            _fields(values), network)
        snap.add(resource, server["id"], status=status, metadata=metadata)
        if status.upper() == "ERROR":
            snap.broken[resource.key] = "the server is in ERROR state"
    for volume in volumes:
        tenant = name_of[volume["os-vol-tenant-attr:tenant_id"]]
        metadata = dict(volume.get("metadata") or {})
        request = metadata.get(REQUEST_TAG, "")
        status = volume.get("status") or ""
        name = volume.get("name") or ""
        resource = Resource("volume", name, tenant, request,
                            _fields({"size_gb": volume.get("size"),
                                     "encrypted": bool(volume.get("encrypted"))}), tenant)
        snap.add(resource, volume["id"], status=status)
        if status.lower() in ("error", "error_extending"):
            snap.broken[resource.key] = f"the volume is in {status} state"
        for attachment in volume.get("attachments") or ():
            attached_to = server_names.get(attachment.get("server_id") or "")
            if attached_to is None:
                continue
            snap.add(Resource("volume_attachment", f"{name}:{attached_to}", tenant, request,
                              parent=name), attachment.get("attachment_id") or "",
                     server_id=attachment.get("server_id"), volume_id=volume["id"])
