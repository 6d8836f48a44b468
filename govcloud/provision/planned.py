"""The planned state as the live audit would read it, and the live-cloud policies run on it.

apply must never create what ``govcloud audit`` then flags. So before its first write, plan and
apply turn the resources the requests ask for (what the cloud holds for them once the plan is
carried out: managed security groups hold exactly their requested rules) into the Cloud*
documents the audit's reader would make of them, with the audit's own mappers
(``govcloud.audit.live``: the tenant context from the project's tags, neutron's rule
normalisation, the image fields), and run every policy that applies to a Cloud* kind on them,
waivers and ``--fail-on`` as in ``check``. Findings of a non-waivable policy refuse at any
``--fail-on``.

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
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from govcloud.audit.live import _doc, _image_fields, _RuleView, normalize_rule, tenant_context
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
    """The Cloud* documents the audit would read once ``resources`` are in the cloud."""
    ids = ids or {}
    images = images or {}
    by_kind: dict[str, list[Resource]] = defaultdict(list)
    for r in resources:
        by_kind[r.kind].append(r)

    def ident(r: Resource) -> str:
        return ids.get(r.key) or planned_id(r)

    source = f"plan:{cloud}"
    ctx: dict[str, dict[str, Any]] = {}
    for p in by_kind["project"]:
        tags = sorted(p.field_map().get("tags") or ())
        ctx[p.tenant] = tenant_context(SimpleNamespace(name=p.tenant, id=ident(p), tags=tags),
                                       cloud)

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
    for u in sorted(by_kind["user"], key=lambda u: u.name):
        users_of[u.tenant].append(u)
    docs: list[Document] = []
    for p in by_kind["project"]:
        fields = p.field_map()
        users = [{"name": u.name, "user_id": ident(u), "roles": sorted(roles[(p.tenant, u.name)])}
                 for u in users_of[p.tenant]]
        spec = {**ctx[p.tenant], "name": p.tenant, "domain": "Default", "enabled": True,
                "description": fields.get("description") or None,
                "tags": sorted(fields.get("tags") or ()), "request": p.request,
                "quotas": quotas.get(p.tenant), "users": users}
        docs.append(_doc("CloudProject", p.tenant, spec, cloud, p.tenant))
    for u in by_kind["user"]:
        held = sorted(roles[(u.tenant, u.name)])
        spec = {"cloud": cloud, "name": u.name, "user_id": ident(u), "domain": "Default",
                "enabled": True, "roles": [{"role": role, "scope": f"project:{u.tenant}"}
                                           for role in held],
                "role_names": held}
        docs.append(_doc("CloudUser", u.name, spec, cloud, u.name))
    for n in by_kind["network"]:
        spec = {**context(n), "name": n.name, "network_id": ident(n), "shared": False,
                "external": False, "shared_with": [], "tags": [f"{REQUEST_TAG}={n.request}"]}
        docs.append(_doc("CloudNetwork", ident(n), spec, cloud, n.name))
    for rt in by_kind["router"]:
        spec = {**context(rt), "name": rt.name, "router_id": ident(rt),
                "external_gateway": bool(rt.field_map().get("external_gateway")),
                "tags": [f"{REQUEST_TAG}={rt.request}"]}
        docs.append(_doc("CloudRouter", ident(rt), spec, cloud, rt.name))
    rules: dict[tuple[str, str], list[Resource]] = defaultdict(list)
    for rule in by_kind["sg_rule"]:
        rules[(rule.tenant, rule.parent or "")].append(rule)
    for g in by_kind["security_group"]:
        made = [{"id": ident(rule), "description": f"{REQUEST_TAG}={rule.request}",
                 **_as_neutron_stores(neutron_rule(rule.field_map()))}
                for rule in rules[(g.tenant, g.name)]]
        spec = {**context(g), "name": g.name, "group_id": ident(g),
                "description": g.field_map().get("description") or None,
                "tags": [f"{REQUEST_TAG}={g.request}"],
                "rules": [normalize_rule(_RuleView(rule))
                          for rule in (*made, *NEUTRON_DEFAULT_RULES)]}
        docs.append(_doc("CloudSecurityGroup", ident(g), spec, cloud, g.name))
    server_ids = {(s.tenant, s.name): ident(s) for s in by_kind["server"]}
    for s in by_kind["server"]:
        fields = s.field_map()
        metadata = {str(k): str(v) for k, v in fields.get("metadata") or ()}
        spec = {**context(s), "name": s.name, "server_id": ident(s), "status": "ACTIVE",
                "flavor": fields.get("flavor"), "image": _image_ref(fields.get("image"), images),
                "metadata": metadata, "security_groups": sorted(fields.get("security_groups")
                                                                or ("default",))}
        docs.append(_doc("CloudServer", ident(s), spec, cloud, s.name))
    attached: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a in by_kind["volume_attachment"]:
        volume, _, server = a.name.partition(":")
        attached[(a.tenant, volume)].append(server_ids.get(
            (a.tenant, server), planned_id(Resource("server", server, a.tenant, a.request))))
    for v in by_kind["volume"]:
        fields = v.field_map()
        on = sorted(attached[(v.tenant, v.name)])
        spec = {**context(v), "name": v.name, "volume_id": ident(v),
                "status": "in-use" if on else "available", "size_gb": fields.get("size_gb"),
                "encrypted": bool(fields.get("encrypted")), "bootable": False,
                "attached_to": on, "metadata": {REQUEST_TAG: v.request}}
        docs.append(_doc("CloudVolume", ident(v), spec, cloud, v.name))
    return [dataclasses.replace(d, file=source) for d in docs]


def _as_neutron_stores(rule: dict[str, Any]) -> dict[str, Any]:
    """neutron keeps a rule's prefix as a network (``0.0.0.0/00`` -> ``0.0.0.0/0``, ``::0/0``
    -> ``::/0``, host bits cleared): judge what it will hold, not how the request spelled it."""
    try:
        prefix = ipaddress.ip_network(str(rule["remote_ip_prefix"]), strict=False)
    except ValueError:
        return rule
    return {**rule, "remote_ip_prefix": str(prefix)}


def _image_ref(name: Any, images: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The server's image as the audit reads it (glance's JSON names two fields differently
    from the SDK object the audit's mapper takes)."""
    image = images.get(str(name)) if name else None
    if image is None:
        return {"name": str(name), "found": False} if name else {"found": False}
    sdk_like = SimpleNamespace(name=image.get("name"), os_distro=image.get("os_distro"),
                               os_version=image.get("os_version"),
                               checksum=image.get("checksum"),
                               hash_algo=image.get("os_hash_algo"),
                               hash_value=image.get("os_hash_value"))
    return {"id": image.get("id"), "found": True, **_image_fields(sdk_like)}


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
