"""Read an admin cloud into Cloud* documents, one list call per resource type.

This is the audit's adapter to OpenStack: it gets an openstacksdk ``Connection`` (``connect``
makes one from clouds.yaml) and returns plain ``Document`` objects, so the pure policy engine
evaluates live resources exactly as it evaluates YAML. The calls, each made once for the whole
cloud and run concurrently: projects, domains, users, role assignments (effective, with names),
networks, RBAC policies, routers, security groups (with their rules, as neutron returns them; a
separate rules call only if a group came without), servers (all projects), volumes (all
projects), images; then quotas of the *managed* projects only: network quotas in one list call
(plus the defaults once), compute and volume quotas per project (nova and cinder list none).

A live document has no file: its ``file`` is ``cloud:<cloud name>``, its line 0, and a finding's
``path`` still points into the document (e.g. ``/spec/rules/2``).

User-set server and volume metadata is not copied (it may hold secrets); only ``govcloud:*``
keys are.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from govcloud import API_VERSION
from govcloud.cloudkinds import CLASSIFICATIONS
from govcloud.documents import Document
from govcloud.errors import CloudError, InputError
from govcloud.schemas import ID_PATTERN

TAG_PREFIX = "govcloud:"
REQUEST_TAG = "govcloud:request"
_ID_RE = re.compile(ID_PATTERN)
_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "ipv6-icmp"}
# ResourceRequest quota key <- (service, sdk attribute)
_QUOTA_MAP = {
    "compute": {"cores": "cores", "ram_mb": "ram", "instances": "instances",
                "key_pairs": "key_pairs"},
    "volume": {"volumes": "volumes", "gigabytes": "gigabytes", "snapshots": "snapshots"},
    "network": {"networks": "networks", "subnets": "subnets", "routers": "routers",
                "ports": "ports", "floating_ips": "floating_ips",
                "security_groups": "security_groups",
                "security_group_rules": "security_group_rules"},
}


@dataclass(frozen=True, slots=True)
class CloudSnapshot:
    """What one read of a cloud saw: the documents and how many API calls it took."""

    cloud: str
    documents: tuple[Document, ...]
    calls: int
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "cloud": self.cloud,
            "calls": self.calls,
            "counts": self.counts,
            "documents": [dict(d.body) for d in self.documents],
        }


def connect(cloud: str) -> Any:
    """An openstacksdk connection for a clouds.yaml entry (credentials never pass through us)."""
    try:
        import openstack
        import openstack.exceptions
    except ImportError as exc:  # pragma: no cover - openstacksdk is a dependency
        raise CloudError("openstacksdk is not installed", hint="pip install openstacksdk") from exc
    try:
        return openstack.connect(cloud=cloud)
    except openstack.exceptions.ConfigException as exc:
        raise InputError(
            f"cloud '{cloud}' is not in clouds.yaml",
            hint="pass --os-cloud with a name from clouds.yaml (or set OS_CLOUD)",
        ) from exc


def _tags(value: Any) -> list[str]:
    return [str(t) for t in (value or []) if t is not None]


def tag_values(tags: Iterable[str]) -> dict[str, str]:
    """``govcloud:key=value`` tags as {key: value} (other tags ignored)."""
    out = {}
    for tag in tags:
        if tag.startswith(TAG_PREFIX) and "=" in tag:
            key, _, value = tag[len(TAG_PREFIX):].partition("=")
            out[key] = value
    return out


def tenant_context(project: Any, cloud: str) -> dict[str, Any]:
    """The fields every resource of this project carries (from the project's tags)."""
    tags = tag_values(_tags(getattr(project, "tags", None)))
    ctx: dict[str, Any] = {"cloud": cloud, "tenant": project.name or project.id,
                           "project_id": project.id}
    if tags.get("request"):
        ctx["tenant_request"] = tags["request"]
    if tags.get("department"):
        ctx["department"] = tags["department"]
    if tags.get("mlps", "").isdigit() and 1 <= int(tags["mlps"]) <= 5:
        ctx["mlps_level"] = int(tags["mlps"])
    if tags.get("classification") in CLASSIFICATIONS:
        ctx["classification"] = tags["classification"]
    return ctx


def _govcloud_metadata(metadata: Any) -> dict[str, str]:
    if not isinstance(metadata, Mapping):
        return {}
    return {str(k): str(v) for k, v in metadata.items() if str(k).startswith(TAG_PREFIX)}


def _request_of(tags: Iterable[str], metadata: Mapping[str, str] | None = None) -> str | None:
    if metadata and metadata.get(REQUEST_TAG):
        return metadata[REQUEST_TAG]
    return tag_values(tags).get("request")


def _clean(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if v is not None}


def _doc(kind: str, doc_id: str, spec: dict[str, Any], cloud: str, name: str = "") -> Document:
    metadata: dict[str, Any] = {"id": doc_id}
    if name and name != doc_id:
        metadata["labels"] = {"name": name[:253]}
    body = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": _clean(spec)}
    return Document(kind, doc_id, body, f"cloud:{cloud}", 0, {})


def _doc_id(preferred: str | None, fallback: str, taken: set[str]) -> str:
    """A readable id (the name) when it is a valid, unused id; else the OpenStack id."""
    if preferred and _ID_RE.match(preferred) and preferred not in taken:
        taken.add(preferred)
        return preferred
    taken.add(fallback)
    return fallback


class _RuleView:
    """Attribute access to a rule embedded in a security group (a dict in neutron's terms)."""

    _NAMES = {"ether_type": "ethertype"}

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return self._data.get(self._NAMES.get(name, name))


def normalize_rule(rule: Any) -> dict[str, Any]:
    """A neutron rule in the terms policies use (the same as a request's resolved rules):
    no protocol is ``any``, no remote is the whole address family, and a port-less tcp/udp/any
    rule covers 1-65535."""
    ethertype = getattr(rule, "ether_type", None) or "IPv4"
    protocol = rule.protocol
    protocol = "any" if protocol in (None, "", "any") else _PROTOCOLS.get(str(protocol),
                                                                          str(protocol))
    if rule.remote_ip_prefix:
        remote = rule.remote_ip_prefix
    elif rule.remote_group_id:
        remote = f"group:{rule.remote_group_id}"
    elif getattr(rule, "remote_address_group_id", None):
        remote = f"address-group:{rule.remote_address_group_id}"
    else:
        remote = "::/0" if ethertype == "IPv6" else "0.0.0.0/0"
    out: dict[str, Any] = {
        "rule_id": rule.id,
        "direction": rule.direction,
        "ethertype": ethertype,
        "protocol": protocol,
        "remote": remote,
        "description": rule.description or None,
    }
    low, high = rule.port_range_min, rule.port_range_max
    if low is not None:
        out["port_min"] = int(low)
        out["port_max"] = int(high if high is not None else low)
    elif protocol in ("tcp", "udp", "any", "sctp", "udplite", "dccp"):
        out["port_min"], out["port_max"] = 1, 65535
    return _clean(out)


class _Reader:
    def __init__(self, conn: Any, cloud: str) -> None:
        self.conn = conn
        self.cloud = cloud
        self.calls = 0
        self._lock = threading.Lock()  # quotas are read from a few threads

    def _count(self) -> None:
        with self._lock:
            self.calls += 1

    def list(self, what: str, fn: Callable[..., Iterable[Any]], **query: Any) -> list[Any]:
        self._count()
        try:
            return list(fn(**query))
        except Exception as exc:  # openstacksdk and keystoneauth raise many types
            raise cloud_error(self.cloud, what, exc) from exc

    def one(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        self._count()
        try:
            return fn(*args)
        except Exception as exc:
            raise cloud_error(self.cloud, what, exc) from exc


def cloud_error(cloud: str, what: str, exc: Exception) -> CloudError:
    """One line: which cloud, which call, what the API said (no token: sdk messages carry
    the URL and the service's message, never credentials)."""
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else name
    status = getattr(exc, "status_code", None)
    hint = "check that the cloud is reachable and --os-cloud names it"
    if status == 403 or name == "ForbiddenException":
        hint = "the audit reads every project: use an admin cloud (--os-cloud)"
    elif status == 401 or name in ("Unauthorized", "HttpException") and "401" in text:
        hint = "the credentials in clouds.yaml were refused"
    return CloudError(f"cloud '{cloud}': {what} failed: {name}: {text}", hint=hint)


def read_cloud(conn: Any, cloud: str, *, workers: int = 8) -> CloudSnapshot:
    """Every project's resources as Cloud* documents (see the module docstring)."""
    r = _Reader(conn, cloud)
    idp, net = conn.identity, conn.network
    # The list calls are independent: run them together (the slowest, neutron's security
    # groups, then sets the pace instead of the sum of all twelve).
    calls: dict[str, tuple[str, Callable[..., Iterable[Any]], dict[str, Any]]] = {
        "projects": ("listing projects (identity)", idp.projects, {}),
        "domains": ("listing domains (identity)", idp.domains, {}),
        "users": ("listing users (identity)", idp.users, {}),
        "assignments": ("listing role assignments (identity)", idp.role_assignments,
                        {"effective": True, "include_names": True}),
        "networks": ("listing networks (network)", net.networks, {}),
        "rbac": ("listing RBAC policies (network)", net.rbac_policies,
                 {"object_type": "network", "action": "access_as_shared"}),
        "routers": ("listing routers (network)", net.routers, {}),
        # Neutron returns each group's rules with it: no separate rules call.
        "groups": ("listing security groups (network)", net.security_groups, {}),
        "servers": ("listing servers (compute)", conn.compute.servers, {"all_projects": True}),
        "volumes": ("listing volumes (block storage)", conn.block_storage.volumes,
                    {"all_projects": True}),
        "images": ("listing images (image)", conn.image.images, {}),
    }
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(calls)))) as pool:
        futures = {key: pool.submit(r.list, what, fn, **query)
                   for key, (what, fn, query) in calls.items()}
        got = {key: future.result() for key, future in futures.items()}
    projects = [p for p in got["projects"] if not getattr(p, "is_domain", False)]
    domains = {d.id: d.name for d in got["domains"]}
    users, assignments = got["users"], got["assignments"]
    networks, rbac, routers = got["networks"], got["rbac"], got["routers"]
    groups, servers, volumes, images = got["groups"], got["servers"], got["volumes"], got["images"]
    if any(getattr(g, "security_group_rules", None) is None for g in groups):
        rules = r.list("listing security group rules (network)", net.security_group_rules)
    else:
        rules = [rule for g in groups for rule in g.security_group_rules]

    ctx = {p.id: tenant_context(p, cloud) for p in projects}
    names = {p.id: p.name for p in projects}

    def tenant(project_id: Any) -> dict[str, Any]:
        return ctx.get(project_id) or {"cloud": cloud, "tenant": str(project_id or "(none)"),
                                       "project_id": str(project_id or "")}

    docs: list[Document] = []
    managed = [p for p in projects if "tenant_request" in ctx[p.id]]
    quotas = _quotas(r, managed, workers)

    # Identity: who holds which role where.
    by_user: dict[str, list[dict[str, str]]] = defaultdict(list)
    project_users: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for a in assignments:
        user, role, scope = a.user or {}, a.role or {}, a.scope or {}
        if not user.get("id"):
            continue  # a group assignment (effective=True expands them into users)
        role_name = role.get("name") or role.get("id", "?")
        if "project" in scope:
            where = f"project:{scope['project'].get('name') or scope['project'].get('id')}"
            entry = project_users[scope["project"].get("id", "")].setdefault(
                user["id"], {"name": user.get("name") or user["id"], "user_id": user["id"],
                             "roles": []})
            if role_name not in entry["roles"]:
                entry["roles"].append(role_name)
        elif "domain" in scope:
            where = f"domain:{scope['domain'].get('name') or scope['domain'].get('id')}"
        elif "system" in scope:
            where = "system"
        else:
            where = "?"
        item = {"role": role_name, "scope": where}
        if item not in by_user[user["id"]]:
            by_user[user["id"]].append(item)

    taken: set[str] = set()
    for p in projects:
        spec = {**ctx[p.id], "name": p.name, "domain": domains.get(p.domain_id, p.domain_id),
                "enabled": bool(p.is_enabled), "description": p.description or None,
                "tags": _tags(p.tags), "request": ctx[p.id].get("tenant_request"),
                "quotas": quotas.get(p.id),
                "users": sorted(project_users.get(p.id, {}).values(), key=lambda u: u["name"])}
        docs.append(_doc("CloudProject", _doc_id(p.name, p.id, taken), spec, cloud, p.name))

    taken = set()
    for u in users:
        roles = sorted(by_user.get(u.id, []), key=lambda x: (x["scope"], x["role"]))
        spec = {"cloud": cloud, "name": u.name, "user_id": u.id,
                "domain": domains.get(u.domain_id, u.domain_id),
                "enabled": bool(u.is_enabled), "roles": roles,
                "role_names": sorted({x["role"] for x in roles})}
        docs.append(_doc("CloudUser", _doc_id(u.name, u.id, taken), spec, cloud, u.name))

    shared_with: dict[str, list[str]] = defaultdict(list)
    for policy in rbac:
        target = policy.target_project_id
        shared_with[policy.object_id].append(
            "*" if target == "*" else names.get(target, str(target)))
    for n in networks:
        spec = {**tenant(n.project_id), "name": n.name or n.id, "network_id": n.id,
                "status": n.status, "shared": bool(n.is_shared),
                "external": bool(n.is_router_external),
                "shared_with": sorted(set(shared_with.get(n.id, []))), "tags": _tags(n.tags),
                "request": _request_of(_tags(n.tags))}
        docs.append(_doc("CloudNetwork", n.id, spec, cloud, n.name))

    net_names = {n.id: n.name or n.id for n in networks}
    for rt in routers:
        gw = rt.external_gateway_info or {}
        spec = {**tenant(rt.project_id), "name": rt.name or rt.id, "router_id": rt.id,
                "status": rt.status, "external_gateway": bool(gw.get("network_id")),
                "external_network": net_names.get(gw.get("network_id"), gw.get("network_id")),
                "external_ips": [ip.get("ip_address") for ip in gw.get("external_fixed_ips") or []
                                 if ip.get("ip_address")],
                "tags": _tags(rt.tags), "request": _request_of(_tags(rt.tags))}
        docs.append(_doc("CloudRouter", rt.id, spec, cloud, rt.name))

    rules_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rule in rules:
        rule = _RuleView(rule) if isinstance(rule, Mapping) else rule
        rules_of[rule.security_group_id].append(normalize_rule(rule))
    for g in groups:
        spec = {**tenant(g.project_id), "name": g.name or g.id, "group_id": g.id,
                "description": g.description or None, "tags": _tags(g.tags),
                "request": _request_of(_tags(g.tags)),
                "rules": sorted(rules_of.get(g.id, []), key=lambda x: x.get("rule_id", ""))}
        docs.append(_doc("CloudSecurityGroup", g.id, spec, cloud, g.name))

    image_by_id = {i.id: i for i in images}
    for s in servers:
        meta = _govcloud_metadata(s.metadata)
        image_id = (s.image or {}).get("id") if isinstance(s.image, Mapping) else getattr(
            s.image, "id", None)
        img = image_by_id.get(image_id) if image_id else None
        image_ref: dict[str, Any] = {"id": image_id or None, "found": img is not None}
        if img is not None:
            image_ref.update(_image_fields(img))
        flavor = s.flavor
        flavor_name = None
        if flavor is not None:
            flavor_name = (getattr(flavor, "original_name", None) or getattr(flavor, "name", None)
                           or getattr(flavor, "id", None))
        spec = {**tenant(s.project_id), "name": s.name or s.id, "server_id": s.id,
                "status": s.status, "flavor": flavor_name, "image": _clean(image_ref),
                "metadata": meta, "request": meta.get(REQUEST_TAG),
                "security_groups": sorted({g.get("name", "") for g in s.security_groups or []
                                           if isinstance(g, Mapping)})}
        docs.append(_doc("CloudServer", s.id, spec, cloud, s.name))

    for v in volumes:
        meta = _govcloud_metadata(v.metadata)
        spec = {**tenant(v.project_id), "name": v.name or v.id, "volume_id": v.id,
                "status": v.status, "size_gb": v.size, "encrypted": bool(v.is_encrypted),
                "volume_type": v.volume_type, "bootable": bool(v.is_bootable),
                "attached_to": sorted({a.get("server_id") for a in v.attachments or []
                                       if isinstance(a, Mapping) and a.get("server_id")}),
                "metadata": meta, "request": meta.get(REQUEST_TAG)}
        docs.append(_doc("CloudVolume", v.id, spec, cloud, v.name))

    for i in images:
        owner = ctx.get(i.owner_id or getattr(i, "owner", None))
        spec = {**(owner or {"cloud": cloud}), "name": i.name or i.id, "image_id": i.id,
                "status": i.status, "visibility": i.visibility, "disk_format": i.disk_format,
                "size": i.size, **_image_fields(i)}
        spec.pop("id", None)
        spec.pop("found", None)
        docs.append(_doc("CloudImage", i.id, spec, cloud, i.name))

    counts: dict[str, int] = defaultdict(int)
    for d in docs:
        counts[d.kind] += 1
    return CloudSnapshot(cloud, tuple(docs), r.calls, dict(counts))


def _image_fields(img: Any) -> dict[str, Any]:
    return _clean({"name": img.name, "os_distro": img.os_distro, "os_version": img.os_version,
                   "checksum": img.checksum or None, "hash_algo": img.hash_algo or None,
                   "hash_value": img.hash_value or None})


def _quotas(r: _Reader, projects: list[Any], workers: int) -> dict[str, dict[str, int]]:
    """Compute, volume and network quotas of each managed project. Neutron lists the quotas of
    every project that has its own in one call (the others have the defaults, one more call);
    nova and cinder have no such list: two calls per project, in a few threads (the one part of
    the read that grows with the number of tenants)."""
    conn = r.conn
    if not projects:
        return {}
    network = {q.project_id: q for q in r.list("listing network quotas (network)",
                                                conn.network.quotas)}
    defaults: list[Any] = []
    lock = threading.Lock()

    def network_quota(project: Any) -> Any:
        if project.id in network:
            return network[project.id]
        with lock:
            if not defaults:
                defaults.append(r.one("reading default network quotas",
                                      conn.network.get_quota_default, project.id))
            return defaults[0]

    def one(project: Any) -> tuple[str, dict[str, int]]:
        out: dict[str, int] = {}
        for service, fn in (("compute", conn.compute.get_quota_set),
                            ("volume", conn.block_storage.get_quota_set),
                            ("network", None)):
            value = (network_quota(project) if fn is None else
                     r.one(f"reading {service} quotas of project {project.name}", fn, project.id))
            for key, attr in _QUOTA_MAP[service].items():
                got = getattr(value, attr, None)
                if isinstance(got, int) and not isinstance(got, bool):
                    out[key] = got
        return project.id, out

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(projects)))) as pool:
        return dict(pool.map(one, projects))
