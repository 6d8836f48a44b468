"""Read a whole admin cloud into ``Cloud*`` documents (what ``govcloud audit`` judges).

The same reader as plan and drift (``cloud/read.py``: ``fetch``, one list call per resource type
for the whole cloud, run concurrently, counted by the connection's ``CallCounter``, failures
translated once by ``cloud/session.py``), with the lists the audit needs: projects, domains,
users, role assignments (effective, with names), networks, RBAC policies, routers, security
groups (with their rules, as neutron returns them; a separate rules call only if a group came
without), servers (all projects), volumes (all projects), images; then quotas of the *managed*
projects only (a ``govcloud:request`` tag): network quotas in one list call (plus the defaults
once), compute and volume quotas per project (nova and cinder list none). Each kind becomes a
document through its mapper in ``cloud/mappers.py``, so the policy engine evaluates live
resources exactly as it evaluates YAML.

A live document has no file: its ``file`` is ``cloud:<cloud name>``, its line 0, and a finding's
``path`` still points into the document (e.g. ``/spec/rules/2``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from govcloud.cloud import mappers as m
from govcloud.cloud.read import IMAGES, LISTS, ListCall, fetch, read_quotas_of
from govcloud.cloud.session import Cloud
from govcloud.cloudkinds import QUOTA_KEYS
from govcloud.documents import Document

# name -> (service, path, key in the body, query, compute microversion): every field, every
# project and domain (plan's LISTS ask for fewer fields of the default domain).
AUDIT_LISTS: dict[str, ListCall] = {
    "projects": ("identity", "/projects", "projects", {}, None),
    "domains": ("identity", "/domains", "domains", {}, None),
    "users": ("identity", "/users", "users", {}, None),
    "role assignments": ("identity", "/role_assignments", "role_assignments",
                         {"effective": "true", "include_names": "true"}, None),
    "networks": ("network", "/networks", "networks", {}, None),
    "RBAC policies": ("network", "/rbac-policies", "rbac_policies",
                      {"object_type": "network", "action": "access_as_shared"}, None),
    "routers": ("network", "/routers", "routers", {}, None),
    "security groups": ("network", "/security-groups", "security_groups", {}, None),
    "servers": LISTS["servers"],
    "volumes": LISTS["volumes"],
    "images": IMAGES,
}
RULES: ListCall = ("network", "/security-group-rules", "security_group_rules", {}, None)


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


def read_live(cloud: Cloud) -> CloudSnapshot:
    """Every project's resources as Cloud* documents (see the module docstring)."""
    before = cloud.counter.total
    name = cloud.name
    got = fetch(cloud, AUDIT_LISTS, AUDIT_LISTS)
    groups = got["security groups"]
    if any(g.get("security_group_rules") is None for g in groups):
        rules_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rule in fetch(cloud, ["rules"], {"rules": RULES})["rules"]:
            rules_of[rule.get("security_group_id", "")].append(rule)
        groups = [{**g, "security_group_rules": rules_of.get(g["id"], [])} for g in groups]

    projects = [p for p in got["projects"] if not p.get("is_domain")]
    ctx = {p["id"]: m.tenant_context(p, name) for p in projects}

    def tenant(project_id: Any) -> dict[str, Any]:
        return ctx.get(project_id) or m.no_tenant(name, project_id)

    managed = [p for p in projects if "tenant_request" in ctx[p["id"]]]
    docs = _identity(got, projects, _quotas(cloud, managed), name)

    names = {p["id"]: p.get("name") for p in projects}
    shared_with: dict[str, list[str]] = defaultdict(list)
    for policy in got["RBAC policies"]:
        target = policy.get("target_project") or policy.get("target_tenant")
        shared_with[policy.get("object_id", "")].append(
            "*" if target == "*" else names.get(target) or str(target))
    for net in got["networks"]:
        docs.append(m.network_document(net, tenant(net.get("project_id")), name,
                                       shared_with=shared_with.get(net["id"], [])))
    network_names = {n["id"]: n.get("name") or n["id"] for n in got["networks"]}
    for router in got["routers"]:
        docs.append(m.router_document(router, tenant(router.get("project_id")), name,
                                      network_names=network_names))
    for group in groups:
        docs.append(m.security_group_document(group, tenant(group.get("project_id")), name))
    images = {i["id"]: i for i in got["images"]}
    for server in got["servers"]:
        docs.append(m.server_document(server, tenant(server.get("tenant_id")), name,
                                      images=images))
    for volume in got["volumes"]:
        docs.append(m.volume_document(volume, tenant(volume.get("os-vol-tenant-attr:tenant_id")),
                                      name))
    for image in got["images"]:
        docs.append(m.image_document(image, ctx.get(image.get("owner")) or {"cloud": name},
                                     name))

    counts: dict[str, int] = defaultdict(int)
    for d in docs:
        counts[d.kind] += 1
    return CloudSnapshot(name, tuple(docs), cloud.counter.total - before, dict(counts))


def _identity(got: Mapping[str, list[dict[str, Any]]], projects: list[dict[str, Any]],
              quotas: Mapping[str, dict[str, int]], cloud: str) -> list[Document]:
    """Projects and users, and who holds which role where."""
    domains = {d["id"]: d.get("name") for d in got["domains"]}
    by_user: dict[str, list[dict[str, str]]] = defaultdict(list)
    project_users: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for a in got["role assignments"]:
        user, role, scope = a.get("user") or {}, a.get("role") or {}, a.get("scope") or {}
        if not user.get("id"):
            continue  # a group assignment (effective expands them into users)
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

    docs: list[Document] = []
    taken: set[str] = set()
    for p in projects:
        docs.append(m.project_document(
            p, cloud, doc_id=m.readable_id(p.get("name"), p["id"], taken),
            domain=domains.get(p.get("domain_id"), p.get("domain_id")),
            quotas=quotas.get(p["id"]), users=list(project_users.get(p["id"], {}).values())))
    taken = set()
    for u in got["users"]:
        docs.append(m.user_document(
            u, cloud, doc_id=m.readable_id(u.get("name"), u["id"], taken),
            domain=domains.get(u.get("domain_id"), u.get("domain_id")),
            roles=by_user.get(u["id"], [])))
    return docs


def _quotas(cloud: Cloud, projects: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Every quota of each managed project (``read_quotas_of``: neutron's in one list call,
    nova's and cinder's per project)."""
    return read_quotas_of(cloud, {p["id"]: (p.get("name") or "", QUOTA_KEYS) for p in projects})
