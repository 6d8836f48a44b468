"""The planned state as the live audit would read it, and the live-cloud policies run on it.

apply must never create what ``govcloud audit`` then flags. So before its first write, plan and
apply turn the resources the requests ask for (what the cloud holds for them once the plan is
carried out: managed security groups hold exactly their requested rules) into the Cloud*
documents the audit's reader would make of them, with the very mappers that read the live cloud
(``govcloud.cloud.mappers``: each resource as the service will return it once made), and run
every policy that applies to a Cloud* kind on them, waivers and ``--fail-on`` as in ``check``.
Findings of a non-waivable policy refuse at any ``--fail-on``.

Pure: the images (name -> glance's JSON) and the ids of resources that already exist come from
the snapshot the plan was computed from. A resource not made yet gets the id
``planned-<kind>-<digest of tenant and name>``; one that exists keeps its OpenStack id, so a
waiver written against the live resource applies to its planned state too. Resources in the
managed projects that govcloud did not make are not part of the planned state (apply does not
create them; ``drift`` reports them and ``apply --prune`` removes them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from govcloud.cloud import mappers
from govcloud.cloudkinds import CLOUD_KINDS
from govcloud.documents import Catalog, Document
from govcloud.model import Finding, at_or_above
from govcloud.policy import PolicySet, apply_waivers, evaluate
from govcloud.policy.waivers import EXPIRED_POLICY
from govcloud.provision.desired import REQUEST_TAG, Resource, neutron_rule

Key = tuple[str, str, str]
# The two allow-all egress rules neutron adds to every new security group.
NEUTRON_DEFAULT_RULES = ({"direction": "egress", "ethertype": "IPv4"},
                         {"direction": "egress", "ethertype": "IPv6"})
_WORD = {"CloudProject": "project", "CloudUser": "user", "CloudNetwork": "network",
         "CloudRouter": "router", "CloudSecurityGroup": "security group",
         "CloudServer": "server", "CloudVolume": "volume"}


def planned_id(r: Resource) -> str:
    """A valid document id for a resource not made yet (names are in the spec)."""
    digest = hashlib.sha256(f"{r.tenant}/{r.kind}/{r.name}".encode()).hexdigest()[:16]
    return f"planned-{r.kind.replace('_', '-')}-{digest}"


def planned_documents(resources: Iterable[Resource], cloud: str, *,
                      ids: Mapping[Key, str] | None = None,
                      images: Mapping[str, Mapping[str, Any]] | None = None) -> list[Document]:
    """The Cloud* documents the audit would read once ``resources`` are in the cloud: each
    resource as the service will return it once apply made it, through the audit's mappers."""
    ids = ids or {}
    images = images or {}
    by_kind: dict[str, list[Resource]] = defaultdict(list)
    for r in resources:
        by_kind[r.kind].append(r)

    def ident(r: Resource) -> str:
        return ids.get(r.key) or planned_id(r)

    def tags(r: Resource) -> list[str]:
        return [f"{REQUEST_TAG}={r.request}"]

    projects = {p.tenant: {"id": ident(p), "name": p.tenant, "domain_id": "default",
                           "enabled": True, "description": p.field_map().get("description"),
                           "tags": sorted(p.field_map().get("tags") or ())}
                for p in by_kind["project"]}
    ctx = {tenant: mappers.tenant_context(project, cloud) for tenant, project in projects.items()}

    def context(r: Resource) -> dict[str, Any]:
        return {**ctx.get(r.tenant, {"cloud": cloud, "tenant": r.tenant,
                                     "project_id": f"planned-project-{r.tenant}"}),
                "request": r.request}

    roles: dict[tuple[str, str], list[str]] = defaultdict(list)  # (tenant, user) -> roles
    for a in by_kind["role_assignment"]:
        user, _, role = a.name.rpartition(":")
        roles[(a.tenant, user)].append(role)
    quotas = {q.tenant: dict(q.fields) for q in by_kind["quota"]}
    users_of: dict[str, list[Resource]] = defaultdict(list)  # once, not per project (O(N^2))
    for u in by_kind["user"]:
        users_of[u.tenant].append(u)
    docs: list[Document] = []
    for tenant, project in projects.items():
        users = [{"name": u.name, "user_id": ident(u), "roles": sorted(roles[(tenant, u.name)])}
                 for u in users_of[tenant]]
        docs.append(mappers.project_document(project, cloud, doc_id=tenant, domain="Default",
                                             quotas=quotas.get(tenant), users=users))
    for u in by_kind["user"]:
        held = [{"role": role, "scope": f"project:{u.tenant}"}
                for role in roles[(u.tenant, u.name)]]
        docs.append(mappers.user_document({"id": ident(u), "name": u.name, "enabled": True},
                                          cloud, doc_id=u.name, domain="Default", roles=held))
    for n in by_kind["network"]:
        net = {"id": ident(n), "name": n.name, "shared": False, "router:external": False,
               "tags": tags(n)}
        docs.append(mappers.network_document(net, context(n), cloud))
    for rt in by_kind["router"]:
        gateway = ({"network_id": "planned-external-network"}
                   if rt.field_map().get("external_gateway") else None)
        router = {"id": ident(rt), "name": rt.name, "tags": tags(rt),
                  "external_gateway_info": gateway}
        docs.append(mappers.router_document(router, context(rt), cloud, network_names={}))
    rules: dict[tuple[str, str], list[Resource]] = defaultdict(list)
    for rule in by_kind["sg_rule"]:
        rules[(rule.tenant, rule.parent or "")].append(rule)
    for g in by_kind["security_group"]:
        made = [{"id": ident(rule), "description": f"{REQUEST_TAG}={rule.request}",
                 **neutron_rule(rule.field_map())} for rule in rules[(g.tenant, g.name)]]
        group = {"id": ident(g), "name": g.name, "tags": tags(g),
                 "description": g.field_map().get("description"),
                 "security_group_rules": [*made, *NEUTRON_DEFAULT_RULES]}
        docs.append(mappers.security_group_document(group, context(g), cloud, by_id=False))
    server_ids = {(s.tenant, s.name): ident(s) for s in by_kind["server"]}
    for s in by_kind["server"]:
        fields = s.field_map()
        image = images.get(str(fields.get("image"))) if fields.get("image") else None
        server = {"id": ident(s), "name": s.name, "status": "ACTIVE",
                  "flavor": {"original_name": fields.get("flavor")},
                  "image": {"id": image["id"]} if image else {"name": fields.get("image")},
                  "metadata": {str(k): str(v) for k, v in fields.get("metadata") or ()},
                  "security_groups": [{"name": g} for g in fields.get("security_groups")
                                      or ("default",)]}
        docs.append(mappers.server_document(server, context(s), cloud,
                                            images={image["id"]: image} if image else {}))
    attached: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a in by_kind["volume_attachment"]:
        volume_name, _, server_name = a.name.partition(":")
        attached[(a.tenant, volume_name)].append(server_ids.get(
            (a.tenant, server_name),
            planned_id(Resource("server", server_name, a.tenant, a.request))))
    for v in by_kind["volume"]:
        fields = v.field_map()
        on = attached[(v.tenant, v.name)]
        volume = {"id": ident(v), "name": v.name, "status": "in-use" if on else "available",
                  "size": fields.get("size_gb"), "encrypted": bool(fields.get("encrypted")),
                  "bootable": "false", "attachments": [{"server_id": sid} for sid in on],
                  "metadata": {REQUEST_TAG: v.request}}
        docs.append(mappers.volume_document(volume, context(v), cloud))
    return [dataclasses.replace(d, file=f"plan:{cloud}") for d in docs]


@dataclass(frozen=True, slots=True)
class PlannedCheck:
    """The live-cloud policies on the planned state."""

    documents: tuple[Document, ...]
    findings: tuple[Finding, ...]  # on the planned documents, waivers applied
    blocking: tuple[Finding, ...]  # open, and at or above --fail-on or not waivable

    def describe(self, finding: Finding) -> str:
        """``tenant T: router 'x': <message> (<evidence>)``: what apply would have made."""
        doc = next((d for d in self.documents if d.ref == finding.target), None)
        if doc is None:
            return f"{finding.target}: {finding.message}"
        spec = doc.spec
        where = f"{_WORD.get(doc.kind, doc.kind)} '{spec.get('name', doc.id)}'"
        tenant = spec.get("tenant") or (spec.get("name") if doc.kind == "CloudProject" else None)
        if tenant is None and doc.kind == "CloudUser":
            scopes = [r["scope"] for r in spec.get("roles", [])]
            tenant = scopes[0].partition(":")[2] if scopes else None
        evidence = _rule_evidence(doc, finding.path) or finding.evidence
        text = f"tenant {tenant}: {where}: {finding.message}" if tenant else (
            f"{where}: {finding.message}")
        return f"{text} ({evidence})" if evidence else text


def _rule_evidence(doc: Document, path: str) -> str:
    parts = path.split("/")
    if doc.kind != "CloudSecurityGroup" or len(parts) < 4 or not parts[3].isdigit():
        return ""
    rules = doc.spec.get("rules") or []
    if int(parts[3]) >= len(rules):
        return ""
    rule = rules[int(parts[3])]
    low, high = rule.get("port_min"), rule.get("port_max")
    ports = "" if low is None else (f" {low}" if low == high else f" {low}-{high}")
    return f"rule {rule['direction']} {rule['protocol']}{ports} from {rule['remote']}"


def live_policies(policies: PolicySet) -> PolicySet:
    """The policies that judge live-cloud (Cloud*) documents."""
    return PolicySet(tuple(p for p in policies.policies
                           if any(kind in CLOUD_KINDS for kind in p.applies_to)),
                     policies.source)


def check_planned(catalog: Catalog, policies: PolicySet, documents: Iterable[Document], *,
                  fail_on: str, today: dt.date) -> PlannedCheck:
    """Run the live-cloud policies on the planned documents, beside the documents given (the
    requests: a CloudProject's approved quotas come from its request; the waivers)."""
    documents = tuple(documents)
    # The planned documents first: a Cloud* copy among the files must not hide them.
    merged = Catalog([*documents, *catalog.documents])
    refs = {d.ref for d in documents}
    selected = live_policies(policies)
    raw = [f for f in evaluate(merged, selected) if f.target in refs]
    waivable = {p.id: p.waivable for p in policies.policies}
    findings = [f for f in apply_waivers(raw, merged, today, waivable)
                if f.policy != EXPIRED_POLICY]
    blocking = [f for f in findings if not f.waived and (
        at_or_above(f.severity, fail_on) or not waivable.get(f.policy, True))]
    return PlannedCheck(documents, tuple(findings), tuple(blocking))
