"""The resolved view of a document that policies evaluate.

Ids are replaced by what they name, so that a policy is plain JSON Schema: a component id becomes
``{id, category, vendor, product, origin}``, ``department`` and ``platform`` become the referenced
document's spec plus its id. Only the parts that change are copied; the rest is shared with the
loaded document (policies never mutate).

Values are canonical, so that policies decide on meaning, not spelling (``netnorm.py``):

- a security-group rule carries its canonical ``remote`` (``0.0.0.0/00`` → ``0.0.0.0/0``; a rule
  without one admits its whole family), ``protocol`` (``any`` when none), ``port_min``/``port_max``
  (a port-less tcp/udp/any rule covers 1-65535), ``remote_any`` (this rule alone admits every
  public address of a family) and ``exposed``: the segments ``{protocol, port_min, port_max,
  scope}`` of the group's ingress union that this rule shares the blame for (``scope`` is
  ``world`` or ``public``: see ``netnorm.scope_of``);
- a security group carries ``exposed_ports`` (the merged segments), ``open_to_world`` and
  ``allow_all`` (every protocol, or every tcp or udp port, open to the public);
- a request's user roles are lower case (keystone matches role names without case);
- a request's server carries ``image_found``, ``image_os`` (the Component of the Image's OS, from
  the inventory's Image documents), ``os_matches_image`` (its declared ``components.os``, else the
  system's, is that OS, or none is declared) and ``components_declared`` (cpu and os declared, on
  the server or system-wide);
- a server in several groups admits the union of their rules: those rules' ``exposed`` and their
  groups' summaries include that union.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from govcloud.documents import Catalog, Document
from govcloud.netnorm import (
    RemoteError,
    allows_all,
    canonical_remote,
    covers_family,
    default_remote,
    group_exposure,
)
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


def _remote(rule: Mapping[str, Any], strict: bool) -> Any:
    remote = rule.get("remote")
    if remote is None:
        return default_remote(rule.get("ethertype"))
    try:
        return canonical_remote(remote, strict=strict)
    except (RemoteError, TypeError):
        return remote  # not a network (a live ``group:<id>``), or reported by validation


def _rule(rule: Mapping[str, Any], strict: bool = True) -> dict[str, Any]:
    out = dict(rule)
    protocol = out.setdefault("protocol", "any")
    if "port" in rule:
        bounds = parse_port(rule["port"])
        if bounds is not None:
            out["port_min"], out["port_max"] = bounds
    elif "port_min" not in rule and protocol in ("tcp", "udp", "any"):
        out["port_min"], out["port_max"] = 1, 65535
    out["remote"] = _remote(rule, strict)
    out["remote_any"] = covers_family(out["remote"])
    return out


_RuleKey = tuple[tuple[Any, ...], ...]


@lru_cache(maxsize=2048)
def _exposure(key: _RuleKey) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]],
                                      bool, bool]:
    """The exposure of a group's rules, by their meaningful fields (groups repeat across
    requests; the result is shared, and policies never mutate what they read)."""
    rules = [{"direction": d, "protocol": p, "remote": r,
              **({"port_min": lo, "port_max": hi} if lo is not None else {})}
             for d, p, lo, hi, r in key]
    summary, per_rule = group_exposure(rules)
    return (summary, per_rule, any(s["scope"] == "world" for s in summary),
            allows_all(summary))


def _group(group: Mapping[str, Any], strict: bool = True) -> dict[str, Any]:
    rules = [_rule(r, strict) for r in group.get("rules", [])]
    key = tuple((r.get("direction"), r.get("protocol"), r.get("port_min"), r.get("port_max"),
                 r["remote"]) for r in rules)
    try:
        summary, per_rule, world, allow_all = _exposure(key)
    except TypeError:  # an unhashable value in a rule the schema let through: compute afresh
        summary, per_rule = group_exposure(rules)
        world, allow_all = any(s["scope"] == "world" for s in summary), allows_all(summary)
    for index, rule in enumerate(rules):
        rule["exposed"] = per_rule.get(index, [])
    return {**group, "rules": rules, "exposed_ports": summary, "open_to_world": world,
            "allow_all": allow_all}


def _server_unions(groups: list[dict[str, Any]], servers: list[Any]) -> None:
    """A server admits the union of all its groups' rules: SSH from 0.0.0.0/1 in one group and
    from 128.0.0.0/1 in another is SSH from the world for a server in both. Such rules get the
    segments of that union in ``exposed`` too, and their groups' summaries grow to match."""
    by_name = {g.get("name"): g for g in groups}
    done: set[tuple[str, ...]] = set()
    for server in servers:
        names = tuple(sorted({n for n in server.get("security_groups", []) if n in by_name}))
        if len(names) < 2 or names in done:
            continue
        done.add(names)
        members = [(by_name[n], index) for n in names for index in range(len(by_name[n]["rules"]))]
        summary, per_rule = group_exposure([g["rules"][i] for g, i in members])
        for k, segments in per_rule.items():
            group, index = members[k]
            rule = group["rules"][index]
            extra = [seg for seg in segments if seg not in rule["exposed"]]
            if extra:  # new lists: the memoised ones are shared
                group["rules"][index] = {**rule, "exposed": [*rule["exposed"], *extra]}
        for name in names:
            group = by_name[name]
            known = group["exposed_ports"]
            group["exposed_ports"] = [*known, *(seg for seg in summary if seg not in known)]
            group["open_to_world"] = group["open_to_world"] or any(
                seg["scope"] == "world" for seg in summary)
            group["allow_all"] = group["allow_all"] or allows_all(summary)


def _server(server: Mapping[str, Any], catalog: Catalog, system_components: Any = None
            ) -> dict[str, Any]:
    raw = server.get("components", {})
    components = _components(raw, catalog)
    out = {**server, "count": server.get("count", 1), "components": components}
    # the system-wide declaration holds for its servers where they declare nothing themselves
    declared = {**(system_components if isinstance(system_components, Mapping) else {}),
                **(raw if isinstance(raw, Mapping) else {})}
    out["components_declared"] = "cpu" in declared and "os" in declared
    image = catalog.get("Image", str(server.get("image", "")))
    out["image_found"] = image is not None
    declared_id = declared.get("os")
    if image is not None:
        os_id = str(image.spec.get("os", ""))
        out["image_os"] = _with_id(catalog.get("Component", os_id), os_id)
        out["os_matches_image"] = declared_id is None or declared_id == os_id
    return out


def _request(spec: dict[str, Any], catalog: Catalog) -> None:
    platform = spec.get("platform", "")
    spec["platform"] = _with_id(catalog.get("Platform", platform), platform)
    system = spec.get("system")
    if isinstance(system, Mapping) and "components" in system:
        spec["system"] = {**system, "components": _components(system["components"], catalog)}
    if "servers" in spec:
        system_components = system.get("components") if isinstance(system, Mapping) else None
        spec["servers"] = [_server(s, catalog, system_components) for s in spec["servers"]]
    if "security_groups" in spec:
        spec["security_groups"] = [_group(g) for g in spec["security_groups"]]
        _server_unions(spec["security_groups"], spec.get("servers", []))
    if "users" in spec:
        spec["users"] = [
            {**u, "roles": [str(r).lower() for r in u.get("roles", [])]} for u in spec["users"]
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


def _cloud_server(spec: dict[str, Any], catalog: Catalog) -> None:
    """A live server in two or more security groups admits the union of their rules: its
    ``exposed_ports`` and ``allow_all`` (a single group is judged on the group itself)."""
    names = set(spec.get("security_groups") or ())
    if len(names) < 2:
        return
    groups = [d.spec for d in catalog.of_kind("CloudSecurityGroup")
              if d.spec.get("tenant") == spec.get("tenant") and d.spec.get("name") in names]
    if len(groups) < 2:
        return
    rules = [_rule(r, strict=False) for g in groups for r in g.get("rules", [])]
    summary, _ = group_exposure(rules)
    spec["exposed_ports"], spec["allow_all"] = summary, allows_all(summary)


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
    elif doc.kind == "CloudServer":
        _cloud_server(spec, catalog)
    elif doc.kind == "CloudSecurityGroup":
        # neutron has masked the prefixes already: read them as it enforces them
        spec.update(_group(spec, strict=False))
    body["spec"] = spec
    return body
