"""What a set of ResourceRequests asks the cloud to hold, as deterministic, tagged resources.

Names are derived from the tenant and the request's own names, so a re-run (or a run after a
crash) finds what an earlier run created instead of creating it again. Every resource carries
its request id (``govcloud:request``) so plan, drift and audit can tell managed from unmanaged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from govcloud.documents import Catalog, Document
from govcloud.netnorm import RemoteError, canonical_remote, default_remote
from govcloud.provision.kinds import KINDS_ORDER  # noqa: F401 - re-exported: the creation order
from govcloud.schemas import CLASSIFIED
from govcloud.validate import parse_port

REQUEST_TAG = "govcloud:request"


@dataclass(frozen=True, slots=True)
class Resource:
    kind: str
    name: str  # unique within (tenant, kind); what the cloud is searched by
    tenant: str
    request: str
    fields: tuple[tuple[str, Any], ...] = ()  # compared with the cloud, sorted by key
    parent: str | None = None  # the name of the resource this one hangs on

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.tenant, self.kind, self.name)

    def field_map(self) -> dict[str, Any]:
        return dict(self.fields)


def _fields(values: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    def freeze(value: Any) -> Any:
        if isinstance(value, Mapping):
            return tuple(sorted((k, freeze(v)) for k, v in value.items()))
        if isinstance(value, list | tuple | set | frozenset):
            items = [freeze(v) for v in value]
            return tuple(sorted(items, key=repr)) if isinstance(value, set | frozenset) else (
                tuple(items))
        return value

    return tuple(sorted((k, freeze(v)) for k, v in values.items() if v is not None))


def remote_of(rule: Mapping[str, Any], strict: bool = True) -> str:
    """The canonical remote the cloud gets (``0.0.0.0/00`` is sent as ``0.0.0.0/0``; none is the
    rule's whole family), so what is checked is what is sent and names stay stable."""
    remote = rule.get("remote")
    if remote is None:
        return default_remote(rule.get("ethertype"))
    try:
        return canonical_remote(remote, strict=strict)
    except RemoteError:
        return str(remote)  # validation refuses it before a plan is made


def rule_values(rule: Mapping[str, Any]) -> dict[str, Any]:
    bounds = parse_port(rule["port"]) if "port" in rule else None
    return {"direction": rule["direction"], "protocol": rule.get("protocol", "any"),
            "port_min": bounds[0] if bounds else None, "port_max": bounds[1] if bounds else None,
            "remote": remote_of(rule)}


def neutron_rule(values: Mapping[str, Any]) -> dict[str, Any]:
    """A rule's values as neutron is asked to create them (apply) and shows them (the planned
    state the live audit's reader is run on): no protocol for ``any``, the ethertype from the
    remote's family."""
    remote = values.get("remote") or "0.0.0.0/0"
    protocol = values.get("protocol")
    return {"direction": values["direction"],
            "protocol": None if protocol in (None, "any") else protocol,
            "port_range_min": values.get("port_min"), "port_range_max": values.get("port_max"),
            "remote_ip_prefix": remote, "ethertype": "IPv6" if ":" in remote else "IPv4"}


def rule_name_of(group: str, values: Mapping[str, Any]) -> str:
    """Rules have no names in OpenStack: their content is their identity."""
    low, high = values.get("port_min"), values.get("port_max")
    ports = "any" if low is None and high is None else f"{low}-{high}"
    return f"{group}:{values['direction']}:{values['protocol']}:{ports}:{values['remote']}"


def rule_name(group: str, rule: Mapping[str, Any]) -> str:
    return rule_name_of(group, rule_values(rule))


def request_resources(request: Document, catalog: Catalog) -> list[Resource]:
    spec = request.spec
    tenant = spec["tenant"]
    rid = request.id
    out: list[Resource] = []

    def add(kind: str, name: str, parent: str | None = None, **values: Any) -> None:
        out.append(Resource(kind, name, tenant, rid, _fields(values), parent))

    system = spec["system"]
    add("project", tenant, description=spec["purpose"],
        tags=frozenset({f"{REQUEST_TAG}={rid}", f"govcloud:department={spec['department']}",
                        f"govcloud:mlps={system['mlps_level']}",
                        f"govcloud:classification={system['classification']}"}))
    if spec.get("quotas"):
        add("quota", tenant, parent=tenant, **spec["quotas"])
    for user in spec.get("users", []):
        add("user", user["name"], parent=tenant, email=user.get("email"))
        for role in user["roles"]:  # keystone matches role names without case
            add("role_assignment", f"{user['name']}:{role.lower()}", parent=user["name"])
    for net in spec.get("networks", []):
        name = f"{tenant}-{net['name']}"
        add("network", name, parent=tenant)
        add("subnet", f"{name}-subnet", parent=name, cidr=net["cidr"])
        if net.get("router"):
            router = f"{tenant}-router"
            if not any(r.kind == "router" and r.name == router for r in out):
                # A classified (涉密) tenant never gets a path to a public network (GC-CLS-002).
                add("router", router, parent=tenant,
                    external_gateway=system["classification"] not in CLASSIFIED)
            add("router_interface", f"{router}:{name}-subnet", parent=router)
    for group in spec.get("security_groups", []):
        add("security_group", group["name"], parent=tenant,
            description=group.get("description", ""))
        for rule in group.get("rules", []):
            values = rule_values(rule)
            add("sg_rule", rule_name_of(group["name"], values), parent=group["name"], **values)
    for server in spec.get("servers", []):
        components = {f"govcloud:{slot}": comp
                      for slot, comp in sorted(server.get("components", {}).items())}
        for index in range(1, server.get("count", 1) + 1):
            add("server", f"{server['name']}-{index}", parent=f"{tenant}-{server['network']}",
                flavor=server["flavor"], image=server["image"],
                network=f"{tenant}-{server['network']}",
                security_groups=frozenset(server.get("security_groups", ["default"])),
                metadata={REQUEST_TAG: rid, **components})
    for volume in spec.get("volumes", []):
        add("volume", volume["name"], parent=tenant, size_gb=volume["size_gb"],
            encrypted=volume.get("encrypted", False))
        if volume.get("attach_to"):
            add("volume_attachment", f"{volume['name']}:{volume['attach_to']}",
                parent=volume["name"])
    return out


def desired_state(catalog: Catalog, requests: Iterable[Document] | None = None) -> list[Resource]:
    docs = list(requests) if requests is not None else catalog.of_kind("ResourceRequest")
    out: list[Resource] = []
    for request in sorted(docs, key=lambda d: d.id):
        out.extend(request_resources(request, catalog))
    return out
