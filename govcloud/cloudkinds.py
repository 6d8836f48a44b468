"""Spec schemas of the documents govcloud reads from a live cloud (CloudProject, CloudServer...).

Nobody writes these by hand: `govcloud audit` builds them from the cloud so that the same policy
engine evaluates them. They register here and ``schemas.py`` merges them into the kind registry.
They are closed schemas like the others, so a policy fixture with a typo'd field is an error.

Every tenant-scoped kind carries its tenant's context, read from the project's tags as
provisioning writes them (``govcloud:request=<id>``, ``govcloud:department=<id>``,
``govcloud:mlps=<n>``, ``govcloud:classification=<level>``): ``tenant``, ``project_id``,
``tenant_request``, ``department``, ``mlps_level``, ``classification``. The resource's own request
tag (server metadata, neutron tag, volume metadata) is ``request``. docs/formats.md lists them.
"""

from __future__ import annotations

from typing import Any

CLASSIFICATIONS = ["public", "internal", "sensitive", "secret", "confidential", "top-secret"]
# The one quota table: a ResourceRequest's quota key -> (the service that holds it, its name in
# openstacksdk's quota resource). The request schema, the Cloud* schemas, apply (which sets them)
# and the cloud reader (plan, drift, audit) all derive from it.
_QUOTA_NAMES = {  # service -> {request key: openstacksdk name}
    "compute": {"cores": "cores", "ram_mb": "ram",  # nova counts MiB
                "instances": "instances", "key_pairs": "key_pairs"},
    "volume": {"volumes": "volumes", "gigabytes": "gigabytes", "snapshots": "snapshots"},
    "network": {"networks": "networks", "subnets": "subnets", "routers": "routers",
                "ports": "ports", "floating_ips": "floating_ips",
                "security_groups": "security_groups",
                "security_group_rules": "security_group_rules"},
}
QUOTAS: dict[str, tuple[str, str]] = {key: (service, name)
                                      for service, names in _QUOTA_NAMES.items()
                                      for key, name in names.items()}
QUOTA_KEYS = tuple(QUOTAS)

_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_STRS = {"type": "array", "items": _STR}
_STRMAP = {"type": "object", "additionalProperties": _STR}
_QUOTAS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {key: {"type": "integer", "minimum": -1} for key in QUOTA_KEYS},
}

# The tenant context every tenant-scoped resource carries (from its project's tags).
TENANT_FIELDS: dict[str, Any] = {
    "cloud": _STR,
    "tenant": _STR,  # project name
    "project_id": _STR,
    "tenant_request": _STR,  # the project's govcloud:request tag
    "department": _STR,
    "mlps_level": {"type": "integer", "minimum": 1, "maximum": 5},
    "classification": {"enum": CLASSIFICATIONS},
    "request": _STR,  # the resource's own govcloud:request tag / metadata
}


def _kind(required: list[str], properties: dict[str, Any], tenant: bool = True) -> dict[str, Any]:
    props = {**TENANT_FIELDS, **properties} if tenant else {"cloud": _STR, **properties}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["cloud", *required],
        "properties": props,
    }


_IMAGE_REF = {
    "type": "object",
    "additionalProperties": False,
    "required": ["found"],
    "properties": {
        "id": _STR,
        "name": _STR,
        "found": _BOOL,  # false: the image was deleted (or the server boots from a volume)
        "os_distro": _STR,
        "os_version": _STR,
        "checksum": _STR,
        "hash_algo": _STR,
        "hash_value": _STR,
    },
}

_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["direction", "protocol", "remote"],
    "properties": {
        "rule_id": _STR,
        "direction": {"enum": ["ingress", "egress"]},
        "ethertype": {"enum": ["IPv4", "IPv6"]},
        "protocol": _STR,  # tcp | udp | icmp | any | another IANA name or number
        "port_min": {"type": "integer", "minimum": 0, "maximum": 65535},
        "port_max": {"type": "integer", "minimum": 0, "maximum": 65535},
        "remote": _STR,  # a CIDR (0.0.0.0/0 or ::/0 when open), or "group:<id>"
        "description": _STR,
    },
}

CLOUD_SPEC_SCHEMAS: dict[str, dict[str, Any]] = {
    "CloudProject": _kind(
        ["name", "project_id"],
        {
            "name": _STR,
            "domain": _STR,
            "enabled": _BOOL,
            "description": _STR,
            "tags": _STRS,
            "quotas": _QUOTAS,
            # Filled in by resolution from the ResourceRequest named by `request`
            # (tenant_request), never read from the cloud: see resolve.py.
            "approved_quotas": _QUOTAS,
            "users": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "roles"],
                    "properties": {"name": _STR, "user_id": _STR, "roles": _STRS},
                },
            },
        },
    ),
    "CloudUser": _kind(
        ["name", "user_id", "role_names"],
        {
            "name": _STR,
            "user_id": _STR,
            "domain": _STR,
            "enabled": _BOOL,
            "roles": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["role", "scope"],
                    "properties": {"role": _STR, "scope": _STR},  # project:<n> domain:<n> system
                },
            },
            "role_names": _STRS,  # distinct role names over every scope
        },
        tenant=False,
    ),
    "CloudServer": _kind(
        ["tenant", "name", "server_id", "image"],
        {
            "name": _STR,
            "server_id": _STR,
            "status": _STR,
            "flavor": _STR,
            "image": _IMAGE_REF,
            "metadata": _STRMAP,  # only govcloud:* keys (user metadata may hold secrets)
            "security_groups": _STRS,
        },
    ),
    "CloudVolume": _kind(
        ["tenant", "name", "volume_id", "encrypted"],
        {
            "name": _STR,
            "volume_id": _STR,
            "status": _STR,
            "size_gb": {"type": "integer", "minimum": 0},
            "encrypted": _BOOL,
            "volume_type": _STR,
            "bootable": _BOOL,
            "attached_to": _STRS,  # server ids
            "metadata": _STRMAP,  # only govcloud:* keys
        },
    ),
    "CloudSecurityGroup": _kind(
        ["tenant", "name", "group_id", "rules"],
        {
            "name": _STR,
            "group_id": _STR,
            "description": _STR,
            "tags": _STRS,
            "rules": {"type": "array", "items": _RULE},
        },
    ),
    "CloudNetwork": _kind(
        ["tenant", "name", "network_id", "shared", "external"],
        {
            "name": _STR,
            "network_id": _STR,
            "status": _STR,
            "shared": _BOOL,  # neutron's `shared` flag: every project may use it
            "external": _BOOL,  # router:external (a provider/public network)
            "shared_with": _STRS,  # RBAC access_as_shared targets: project names, or "*"
            "tags": _STRS,
        },
    ),
    "CloudRouter": _kind(
        ["tenant", "name", "router_id", "external_gateway"],
        {
            "name": _STR,
            "router_id": _STR,
            "status": _STR,
            "external_gateway": _BOOL,
            "external_network": _STR,
            "external_ips": _STRS,
            "tags": _STRS,
        },
    ),
    "CloudImage": _kind(
        ["name", "image_id"],
        {
            "name": _STR,
            "image_id": _STR,
            "status": _STR,
            "visibility": _STR,
            "disk_format": _STR,
            "size": {"type": "integer", "minimum": 0},
            "os_distro": _STR,
            "os_version": _STR,
            "checksum": _STR,
            "hash_algo": _STR,
            "hash_value": _STR,
        },
    ),
}
CLOUD_KINDS = tuple(CLOUD_SPEC_SCHEMAS)
