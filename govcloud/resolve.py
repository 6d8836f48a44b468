"""The resolved view of a document that policies evaluate.

Ids are replaced by what they name, so that a policy is plain JSON Schema: a component id becomes
``{id, category, vendor, product, origin}``, ``department`` and ``platform`` become the referenced
document's spec plus its id. Security group rules gain ``port_min``/``port_max``. Only the parts
that change are copied; the rest is shared with the loaded document (policies never mutate).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govcloud.documents import Catalog, Document
from govcloud.schemas import COMPONENT_SLOTS
from govcloud.validate import parse_port


def _with_id(doc: Document | None, ref: Any) -> Any:
    if doc is None:
        return ref  # unresolvable ids were already reported by validation
    return {"id": doc.id, **doc.spec}


def _components(components: Any, catalog: Catalog) -> Any:
    if not isinstance(components, Mapping):
        return components
    out = dict(components)
    for slot in COMPONENT_SLOTS:
        if slot in out:
            out[slot] = _with_id(catalog.get("Component", out[slot]), out[slot])
    return out


def _rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(rule)
    if "port" in rule:
        bounds = parse_port(rule["port"])
        if bounds is not None:
            out["port_min"], out["port_max"] = bounds
    elif rule.get("protocol", "any") in ("tcp", "udp", "any"):
        out["port_min"], out["port_max"] = 1, 65535
    return out


def _request(spec: dict[str, Any], catalog: Catalog) -> None:
    platform = spec.get("platform", "")
    spec["platform"] = _with_id(catalog.get("Platform", platform), platform)
    system = spec.get("system")
    if isinstance(system, Mapping) and "components" in system:
        spec["system"] = {**system, "components": _components(system["components"], catalog)}
    if "servers" in spec:
        spec["servers"] = [
            {
                **s,
                "count": s.get("count", 1),
                "components": _components(s.get("components", {}), catalog),
            }
            for s in spec["servers"]
        ]
    if "security_groups" in spec:
        spec["security_groups"] = [
            {**g, "rules": [_rule(r) for r in g.get("rules", [])]} for g in spec["security_groups"]
        ]


def _approved_request(spec: Mapping[str, Any], catalog: Catalog) -> Document | None:
    """The ResourceRequest a live project was provisioned from: by its request tag, else by
    tenant name (a project created by hand under a requested name is still judged by it)."""
    request = catalog.get("ResourceRequest", str(spec.get("request", "")))
    if request is not None:
        return request
    name = spec.get("name")
    return next(
        (r for r in catalog.of_kind("ResourceRequest") if r.spec.get("tenant") == name), None
    )


def _cloud_project(spec: dict[str, Any], catalog: Catalog) -> None:
    """Fold the approved quotas into a CloudProject: ``approved_quotas`` and ``quota_excess``
    (``[{quota, actual, approved}]`` for each quota set above what was approved; -1 is
    unlimited), so "quota above the approval" is a plain JSON Schema rule."""
    if "approved_quotas" not in spec:
        request = _approved_request(spec, catalog)
        if request is None or not isinstance(request.spec.get("quotas"), Mapping):
            return
        spec["approved_quotas"] = dict(request.spec["quotas"])
    approved, actual = spec["approved_quotas"], spec.get("quotas") or {}
    excess = []
    for key, limit in sorted(approved.items()):
        value = actual.get(key)
        if value is None or limit == -1:
            continue
        if value == -1 or value > limit:
            excess.append({"quota": key, "actual": value, "approved": limit})
    spec["quota_excess"] = excess


def _same_cloud(platform: Document, catalog: Catalog) -> dict[str, Any]:
    """The other platforms on the same cloud endpoint (``cloud``), as ``{platform id: zone}``:
    so "the internal network shares no cloud with the external one" is a plain rule
    (GC-CLS-004), and its finding names the other platform in its path and evidence."""
    cloud = platform.spec.get("cloud")
    return {p.id: p.spec.get("zone") for p in catalog.of_kind("Platform")
            if p.id != platform.id and p.spec.get("cloud") == cloud}


def resolve(doc: Document, catalog: Catalog) -> dict[str, Any]:
    """The resolved document (a new top-level dict; untouched subtrees are shared)."""
    body = dict(doc.body)
    spec = dict(doc.spec)
    if "department" in spec:
        spec["department"] = _with_id(
            catalog.get("Department", spec["department"]), spec["department"]
        )
    if doc.kind == "ResourceRequest":
        _request(spec, catalog)
    elif doc.kind == "CloudProject":
        _cloud_project(spec, catalog)
    elif doc.kind == "System":
        if "components" in spec:
            spec["components"] = _components(spec["components"], catalog)
        if "platform" in spec:
            spec["platform"] = _with_id(catalog.get("Platform", spec["platform"]),
                                        spec["platform"])
    elif doc.kind == "Platform":
        spec["shares_cloud_with"] = _same_cloud(doc, catalog)
    body["spec"] = spec
    return body
