"""What OpenStack returns, in govcloud's terms: one small pure mapper per kind.

Every mapper takes what a service's API returns (its JSON, as dicts: keystone, neutron, nova,
cinder, glance) and returns govcloud's fields or ``Cloud*`` documents. Nothing here talks to a
cloud: ``cloud/read.py`` and ``cloud/live.py`` feed these with what they listed, and
``provision/planned.py`` feeds them with what apply is about to create (so the planned state
the live policies judge is built by the very mappers that read the live one).

The meaning of a security-group rule is decided once, here (``rule_meaning``), as neutron
stores it: ``ethertype`` is always set (the API defaults it to IPv4), a missing
``remote_ip_prefix`` with no remote group or address group means the whole family of the
ethertype (``::/0`` for IPv6), a missing protocol is every protocol, and a prefix is the network
neutron enforces (it keeps ``remote_ip_prefix`` as it was sent and matches its
``normalized_cidr``, host bits cleared; any spelling of a network is one text).

Tenant context, request tags and ``govcloud:*`` metadata are parsed once too (``tag_values``,
``request_of``, ``tenant_context``). User-set server and volume metadata is never copied (it may
hold secrets); only ``govcloud:*`` keys are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from govcloud import API_VERSION
from govcloud.cloudkinds import CLASSIFICATIONS, QUOTAS
from govcloud.documents import Document
from govcloud.netnorm import MAX_PORT, PORT_PROTOCOLS, RemoteError, canonical_remote, default_remote
from govcloud.provision.desired import REQUEST_TAG
from govcloud.schemas import ID_PATTERN

TAG_PREFIX = "govcloud:"
_ID_RE = re.compile(ID_PATTERN)
# Neutron keeps the protocol as it was given, a name or an IANA number: one meaning, one name.
PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "ipv6-icmp"}
# Neutron's API names of the quotas whose openstacksdk names differ (QUOTAS has the SDK's).
NEUTRON_QUOTA_NAMES = {"floating_ips": "floatingip", "security_groups": "security_group",
                       "security_group_rules": "security_group_rule", "networks": "network",
                       "subnets": "subnet", "routers": "router", "ports": "port"}


# ---------------------------------------------------------------- tags and the tenant context


def tags_of(value: Any) -> list[str]:
    return [str(t) for t in (value or []) if t is not None]


def tag_values(tags: Iterable[str] | None) -> dict[str, str]:
    """``govcloud:key=value`` tags as {key: value} (other tags ignored)."""
    out = {}
    for tag in tags or ():
        if tag.startswith(TAG_PREFIX) and "=" in tag:
            key, _, value = tag[len(TAG_PREFIX):].partition("=")
            out[key] = value
    return out


def request_of(tags: Iterable[str] | None = None, *, text: str | None = None,
               metadata: Mapping[str, Any] | None = None) -> str:
    """The request a resource was made for: its ``govcloud:request`` metadata key, tag, or a
    ``govcloud:request=<id>`` word in its description (users and rules have no tags); ``""``
    when none."""
    if metadata and metadata.get(REQUEST_TAG):
        return str(metadata[REQUEST_TAG])
    words = (text or "").split()
    return tag_values([*tags_of(tags), *words]).get("request", "")


def govcloud_metadata(metadata: Any) -> dict[str, str]:
    """Only the ``govcloud:*`` keys of server or volume metadata (the rest may hold secrets)."""
    if not isinstance(metadata, Mapping):
        return {}
    return {str(k): str(v) for k, v in metadata.items() if str(k).startswith(TAG_PREFIX)}


def tenant_context(project: Mapping[str, Any], cloud: str) -> dict[str, Any]:
    """The fields every resource of this project carries (from the project's tags)."""
    tags = tag_values(tags_of(project.get("tags")))
    ctx: dict[str, Any] = {"cloud": cloud, "tenant": project.get("name") or project["id"],
                           "project_id": project["id"]}
    if tags.get("request"):
        ctx["tenant_request"] = tags["request"]
    if tags.get("department"):
        ctx["department"] = tags["department"]
    if tags.get("mlps", "").isdigit() and 1 <= int(tags["mlps"]) <= 5:
        ctx["mlps_level"] = int(tags["mlps"])
    if tags.get("classification") in CLASSIFICATIONS:
        ctx["classification"] = tags["classification"]
    return ctx


def no_tenant(cloud: str, project_id: Any) -> dict[str, Any]:
    """The context of a resource whose project was not listed (deleted, or another domain's)."""
    return {"cloud": cloud, "tenant": str(project_id or "(none)"),
            "project_id": str(project_id or "")}


# ---------------------------------------------------------------- documents


def clean(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if v is not None}


def document(kind: str, doc_id: str, spec: Mapping[str, Any], cloud: str,
             name: str | None = "") -> Document:
    """A ``Cloud*`` document read from ``cloud`` (file ``cloud:<name>``, line 0)."""
    metadata: dict[str, Any] = {"id": doc_id}
    if name and name != doc_id:
        metadata["labels"] = {"name": name[:253]}
    body = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": clean(spec)}
    return Document(kind, doc_id, body, f"cloud:{cloud}", 0, {})


def readable_id(preferred: str | None, fallback: str, taken: set[str]) -> str:
    """A readable id (the name) when it is a valid, unused id; else the OpenStack id."""
    if preferred and _ID_RE.match(preferred) and preferred not in taken:
        taken.add(preferred)
        return preferred
    taken.add(fallback)
    return fallback


# ---------------------------------------------------------------- security-group rules


def rule_meaning(rule: Mapping[str, Any]) -> dict[str, Any]:
    """What a neutron rule admits: direction, ethertype, protocol (a name, ``any`` when none),
    remote (a canonical network, the ethertype's world when neutron holds none, or
    ``group:<id>`` / ``address-group:<id>``), and the ports neutron holds (None when none)."""
    ethertype = rule.get("ethertype") or "IPv4"
    protocol = rule.get("protocol")
    protocol = "any" if protocol in (None, "", "any") else PROTOCOL_NAMES.get(str(protocol),
                                                                              str(protocol))
    if rule.get("remote_ip_prefix"):
        try:
            remote = canonical_remote(str(rule["remote_ip_prefix"]), strict=False)
        except RemoteError:
            remote = str(rule["remote_ip_prefix"])
    elif rule.get("remote_group_id"):
        remote = f"group:{rule['remote_group_id']}"
    elif rule.get("remote_address_group_id"):
        remote = f"address-group:{rule['remote_address_group_id']}"
    else:
        remote = default_remote(ethertype)
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    return {"direction": rule.get("direction"), "ethertype": ethertype, "protocol": protocol,
            "remote": remote, "port_min": None if low is None else int(low),
            "port_max": None if low is None else int(high if high is not None else low)}


def normalize_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule in the terms policies use (the same as a request's resolved rules): its meaning,
    and a port-less rule of a port protocol (or of any protocol) covers 1-65535."""
    meaning = rule_meaning(rule)
    low, high = meaning.pop("port_min"), meaning.pop("port_max")
    if low is None and meaning["protocol"] in ("any", *PORT_PROTOCOLS):
        low, high = 1, MAX_PORT
    return clean({"rule_id": rule.get("id"), **meaning,
                  "description": rule.get("description") or None,
                  "port_min": low, "port_max": high})


def is_neutron_default(rule: Mapping[str, Any]) -> bool:
    """One of the allow-all egress rules neutron adds to every new group by itself."""
    return (rule.get("direction") == "egress" and rule.get("protocol") is None
            and not rule.get("remote_ip_prefix") and not rule.get("remote_group_id")
            and not rule.get("remote_address_group_id") and not rule.get("description"))


# ---------------------------------------------------------------- quotas and images


def quota_values(answers: Mapping[str, Any], keys: Iterable[str]) -> dict[str, int]:
    """The requested quota keys out of each service's quota answer (openstacksdk's quota
    resources, keyed by service as in ``cloudkinds.QUOTAS``); keys a service did not answer are
    left out."""
    out: dict[str, int] = {}
    for key in keys:
        service, name = QUOTAS[key]
        answer = answers.get(service)
        value = _field(answer, name)
        if value is None and service == "network":
            value = _field(answer, NEUTRON_QUOTA_NAMES.get(key, name))
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = value
    return out


def _field(answer: Any, name: str) -> Any:
    if isinstance(answer, Mapping):
        return answer.get(name)
    return getattr(answer, name, None)


def image_fields(image: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a glance image (its JSON) that say what a server runs."""
    return clean({"name": image.get("name"), "os_distro": image.get("os_distro"),
                  "os_version": image.get("os_version"),
                  "checksum": image.get("checksum") or None,
                  "hash_algo": image.get("os_hash_algo") or None,
                  "hash_value": image.get("os_hash_value") or None})


def image_ref(image_id: str | None, image: Mapping[str, Any] | None,
              name: str | None = None) -> dict[str, Any]:
    """A server's image: ``found`` false when glance no longer has it (or it boots from a
    volume); ``name`` is what was asked for, when glance's own is not known."""
    ref: dict[str, Any] = {"id": image_id or None, "found": image is not None}
    ref.update(image_fields(image) if image is not None else {"name": name})
    return clean(ref)


# ---------------------------------------------------------------- one mapper per Cloud* kind


def project_document(project: Mapping[str, Any], cloud: str, *, doc_id: str,
                     domain: str | None, quotas: Mapping[str, int] | None,
                     users: list[dict[str, Any]]) -> Document:
    """A keystone project; ``users`` are ``{name, user_id, roles}`` of who holds a role in it."""
    ctx = tenant_context(project, cloud)
    spec = {**ctx, "name": project.get("name"), "domain": domain,
            "enabled": bool(project.get("enabled")),
            "description": project.get("description") or None,
            "tags": tags_of(project.get("tags")), "request": ctx.get("tenant_request"),
            "quotas": dict(quotas) if quotas is not None else None,
            "users": sorted(users, key=lambda u: u["name"])}
    return document("CloudProject", doc_id, spec, cloud, project.get("name"))


def user_document(user: Mapping[str, Any], cloud: str, *, doc_id: str, domain: str | None,
                  roles: list[dict[str, str]]) -> Document:
    """A keystone user; ``roles`` are ``{role, scope}`` over every scope it holds one in."""
    roles = sorted(roles, key=lambda x: (x["scope"], x["role"]))
    spec = {"cloud": cloud, "name": user.get("name"), "user_id": user["id"], "domain": domain,
            "enabled": bool(user.get("enabled")), "roles": roles,
            "role_names": sorted({x["role"] for x in roles})}
    return document("CloudUser", doc_id, spec, cloud, user.get("name"))


def network_document(net: Mapping[str, Any], ctx: Mapping[str, Any], cloud: str, *,
                     shared_with: Iterable[str] = ()) -> Document:
    """A neutron network; ``shared_with`` are the projects RBAC shares it with (or ``*``)."""
    tags = tags_of(net.get("tags"))
    spec = {**ctx, "name": net.get("name") or net["id"], "network_id": net["id"],
            "status": net.get("status"), "shared": bool(net.get("shared")),
            "external": bool(net.get("router:external")),
            "shared_with": sorted(set(shared_with)), "tags": tags,
            "request": request_of(tags) or None}
    return document("CloudNetwork", net["id"], spec, cloud, net.get("name"))


def router_document(router: Mapping[str, Any], ctx: Mapping[str, Any], cloud: str, *,
                    network_names: Mapping[Any, str]) -> Document:
    gateway = router.get("external_gateway_info") or {}
    tags = tags_of(router.get("tags"))
    spec = {**ctx, "name": router.get("name") or router["id"], "router_id": router["id"],
            "status": router.get("status"),
            "external_gateway": bool(gateway.get("network_id")),
            "external_network": network_names.get(gateway.get("network_id"),
                                                  gateway.get("network_id")),
            "external_ips": [ip.get("ip_address") for ip in gateway.get("external_fixed_ips")
                             or [] if ip.get("ip_address")],
            "tags": tags, "request": request_of(tags) or None}
    return document("CloudRouter", router["id"], spec, cloud, router.get("name"))


def security_group_document(group: Mapping[str, Any], ctx: Mapping[str, Any], cloud: str, *,
                            by_id: bool = True) -> Document:
    """A neutron security group with the rules it embeds, ordered by rule id (``by_id=False``:
    as given, for the planned state whose rules have no id yet)."""
    tags = tags_of(group.get("tags"))
    rules = [normalize_rule(r) for r in group.get("security_group_rules") or ()]
    spec = {**ctx, "name": group.get("name") or group["id"], "group_id": group["id"],
            "description": group.get("description") or None, "tags": tags,
            "request": request_of(tags) or None,
            "rules": sorted(rules, key=lambda x: x.get("rule_id", "")) if by_id else rules}
    return document("CloudSecurityGroup", group["id"], spec, cloud, group.get("name"))


def server_flavor(server: Mapping[str, Any]) -> str | None:
    """The flavor's name (nova >= 2.47 embeds the flavor: ``original_name``)."""
    flavor = server.get("flavor")
    if not isinstance(flavor, Mapping):
        return None
    return flavor.get("original_name") or flavor.get("name") or flavor.get("id")


def server_image_id(server: Mapping[str, Any]) -> str | None:
    """The image a server booted from (nova says ``""`` when it boots from a volume)."""
    image = server.get("image")
    return (image.get("id") or None) if isinstance(image, Mapping) else None


def server_document(server: Mapping[str, Any], ctx: Mapping[str, Any], cloud: str, *,
                    images: Mapping[str, Mapping[str, Any]]) -> Document:
    """A nova server (``/servers/detail``, microversion >= 2.47: the flavor embedded);
    ``images`` are glance's images by id."""
    meta = govcloud_metadata(server.get("metadata"))
    image_id = server_image_id(server)
    asked = server.get("image")
    spec = {**ctx, "name": server.get("name") or server["id"], "server_id": server["id"],
            "status": server.get("status"), "flavor": server_flavor(server),
            "image": image_ref(image_id, images.get(image_id) if image_id else None,
                               asked.get("name") if isinstance(asked, Mapping) else None),
            "metadata": meta, "request": request_of(metadata=meta) or None,
            "security_groups": sorted({g.get("name", "") for g in server.get("security_groups")
                                       or [] if isinstance(g, Mapping)})}
    return document("CloudServer", server["id"], spec, cloud, server.get("name"))


def volume_document(volume: Mapping[str, Any], ctx: Mapping[str, Any], cloud: str) -> Document:
    """A cinder volume (``/volumes/detail``: ``bootable`` is the text "true" or "false")."""
    meta = govcloud_metadata(volume.get("metadata"))
    bootable = volume.get("bootable")
    spec = {**ctx, "name": volume.get("name") or volume["id"], "volume_id": volume["id"],
            "status": volume.get("status"), "size_gb": volume.get("size"),
            "encrypted": bool(volume.get("encrypted")), "volume_type": volume.get("volume_type"),
            "bootable": bootable is True or str(bootable).lower() == "true",
            "attached_to": sorted({a.get("server_id") for a in volume.get("attachments") or []
                                   if isinstance(a, Mapping) and a.get("server_id")}),
            "metadata": meta, "request": request_of(metadata=meta) or None}
    return document("CloudVolume", volume["id"], spec, cloud, volume.get("name"))


def image_document(image: Mapping[str, Any], ctx: Mapping[str, Any], cloud: str) -> Document:
    """A glance image (its owner's context when the owner is a listed project)."""
    spec = {**ctx, "name": image.get("name") or image["id"], "image_id": image["id"],
            "status": image.get("status"), "visibility": image.get("visibility"),
            "disk_format": image.get("disk_format"), "size": image.get("size"),
            **image_fields(image)}
    spec["name"] = image.get("name") or image["id"]
    return document("CloudImage", image["id"], spec, cloud, image.get("name"))
