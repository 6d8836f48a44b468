"""JSON Schemas (draft 2020-12) of every document kind, assembled from one registry.

Each kind registers the schema of its ``spec``; the envelope (apiVersion, kind, metadata) is
shared. Schemas are closed (``additionalProperties: false``) so that a typo'd field is an error.
Checks JSON Schema cannot express (CIDRs, port ranges, references) live in ``validate.py``.
"""

from __future__ import annotations

import copy
from typing import Any

from govcloud import API_VERSION

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_ID_BODY = "[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
ID_PATTERN = f"^{_ID_BODY}$"
# OpenStack object names govcloud creates; also used in file names, so never a path.
NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
ZONES = ["gov-internal", "gov-external", "internet"]
CLASSIFICATIONS = ["public", "internal", "sensitive", "secret", "confidential", "top-secret"]
CLASSIFIED = ("secret", "confidential", "top-secret")
LEVELS = ["province", "prefecture", "county"]
COMPONENT_CATEGORIES = ["cpu", "os", "database", "middleware", "server", "storage", "network"]
COMPONENT_SLOTS = ["cpu", "os", "database", "middleware"]
SEVERITIES = ["critical", "high", "medium", "low"]
# Who may sign or approve what (三员 and the approvers of 逐级审批). One key holds one role.
ROLES = ["department", "ops", "security", "audit", "evidence"]

_ID = {"type": "string", "pattern": ID_PATTERN}
_NAME = {"type": "string", "pattern": NAME_PATTERN}
_TEXT = {"type": "string", "minLength": 1}
_MLPS = {"type": "integer", "minimum": 1, "maximum": 5}
_COMPONENTS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {slot: _ID for slot in COMPONENT_SLOTS},
}


def _obj(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


_SYSTEM_FIELDS = {
    "name": _TEXT,
    "function": _TEXT,
    "mlps_level": _MLPS,
    "classification": {"enum": CLASSIFICATIONS},
    "network_zone": {"enum": ZONES},
    "components": _COMPONENTS,
    "personal_data": {"type": "boolean"},
}

_RULE = _obj(
    ["direction"],
    {
        "direction": {"enum": ["ingress", "egress"]},
        "protocol": {"enum": ["tcp", "udp", "icmp", "any"]},
        "port": {
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"type": "string", "pattern": "^[0-9]{1,5}-[0-9]{1,5}$"},
            ]
        },
        "remote": {"type": "string", "minLength": 1},
        "ethertype": {"enum": ["IPv4", "IPv6"]},
        "description": {"type": "string"},
    },
)

_QUOTA = {"type": "integer", "minimum": -1}

SPEC_SCHEMAS: dict[str, dict[str, Any]] = {
    "Department": _obj(
        ["name", "level", "region"],
        {
            "name": _TEXT,
            "name_zh": _TEXT,
            "level": {"enum": LEVELS},
            "region": {"type": "string", "pattern": "^[1-9][0-9]{5}$"},
            "parent": _ID,
        },
    ),
    "MachineRoom": _obj(
        ["department", "kind", "site", "status"],
        {
            "department": _ID,
            "kind": {"enum": ["independent", "shared-cloud"]},
            "site": _TEXT,
            "status": {"enum": ["active", "migrating", "retired"]},
            "racks": {"type": "integer", "minimum": 0},
            "servers": {"type": "integer", "minimum": 0},
            "utilization_pct": {"type": "number", "minimum": 0, "maximum": 100},
            "power_kw": {"type": "number", "minimum": 0},
            "networks": {"type": "array", "items": {"enum": ZONES}, "uniqueItems": True},
        },
    ),
    "System": _obj(
        [
            "department",
            "name",
            "function",
            "hosted_in",
            "mlps_level",
            "classification",
            "network_zone",
        ],
        {
            "department": _ID,
            **_SYSTEM_FIELDS,
            "hosted_in": {
                "type": "string",
                "pattern": f"^(cloud:{_ID_BODY}|{_ID_BODY})$",
            },
            "data_sources": {"type": "array", "items": _TEXT},
            "authoritative_for": {"type": "array", "items": _TEXT, "uniqueItems": True},
            "public_url": {"type": "string", "pattern": "^https?://"},
        },
    ),
    "Platform": _obj(
        ["cloud", "zone", "mlps_level", "location"],
        {
            "cloud": _TEXT,
            "zone": {"enum": ZONES},
            "mlps_level": {"type": "integer", "minimum": 1, "maximum": 4},
            "location": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "region": _TEXT,
        },
    ),
    "Component": _obj(
        ["category", "vendor", "product", "origin"],
        {
            "category": {"enum": COMPONENT_CATEGORIES},
            "vendor": _TEXT,
            "product": _TEXT,
            "origin": {"enum": ["domestic", "foreign"]},
            "architecture": _TEXT,
        },
    ),
    "ResourceRequest": _obj(
        ["department", "platform", "tenant", "purpose", "system"],
        {
            "department": _ID,
            "platform": _ID,
            "tenant": _NAME,
            "purpose": _TEXT,
            "system": _obj(
                ["name", "function", "mlps_level", "classification", "network_zone"],
                _SYSTEM_FIELDS,
            ),
            "replaces": {"type": "array", "items": _ID, "uniqueItems": True},
            "quotas": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    key: _QUOTA
                    for key in (
                        "cores",
                        "ram_mb",
                        "instances",
                        "volumes",
                        "gigabytes",
                        "snapshots",
                        "networks",
                        "subnets",
                        "routers",
                        "ports",
                        "floating_ips",
                        "security_groups",
                        "security_group_rules",
                        "key_pairs",
                    )
                },
            },
            "users": {
                "type": "array",
                "items": _obj(
                    ["name", "roles"],
                    {
                        "name": _NAME,
                        "email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$"},
                        "roles": {
                            "type": "array",
                            "items": _NAME,
                            "minItems": 1,
                            "uniqueItems": True,
                        },
                    },
                ),
            },
            "networks": {
                "type": "array",
                "items": _obj(
                    ["name", "cidr"],
                    {
                        "name": _NAME,
                        "cidr": {"type": "string"},
                        "router": {"type": "boolean"},
                        "dns": {"type": "array", "items": {"type": "string"}},
                    },
                ),
            },
            "security_groups": {
                "type": "array",
                "items": _obj(
                    ["name"],
                    {
                        "name": _NAME,
                        "description": {"type": "string"},
                        "rules": {"type": "array", "items": _RULE},
                    },
                ),
            },
            "servers": {
                "type": "array",
                "items": _obj(
                    ["name", "flavor", "image", "network"],
                    {
                        "name": _NAME,
                        "count": {"type": "integer", "minimum": 1, "maximum": 100},
                        "flavor": _TEXT,
                        "image": _TEXT,
                        "network": _NAME,
                        "security_groups": {"type": "array", "items": _NAME},
                        "components": _COMPONENTS,
                    },
                ),
            },
            "volumes": {
                "type": "array",
                "items": _obj(
                    ["name", "size_gb"],
                    {
                        "name": _NAME,
                        "size_gb": {"type": "integer", "minimum": 1},
                        "attach_to": _NAME,
                        "encrypted": {"type": "boolean"},
                    },
                ),
            },
        },
    ),
    "Waiver": _obj(
        ["policy", "target", "reason", "approved_by", "issued", "expires"],
        {
            "policy": _ID,
            "target": {
                "type": "string",
                "pattern": "^[A-Z][A-Za-z]+/[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
            },
            "reason": _TEXT,
            "approved_by": _TEXT,  # a Role (id or account) with role: security
            "issued": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
            "expires": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        },
    ),
    # Authority data: a person holding a role, with the public key they sign with (SM2 or Ed25519,
    # PEM SubjectPublicKeyInfo). Read only from the inventory.
    "Role": _obj(
        ["role", "holder", "account"],
        {
            "role": {"enum": ROLES},
            "holder": _TEXT,
            "account": _TEXT,
            "department": _ID,
            "public_key": {"type": "string", "pattern": "^-----BEGIN PUBLIC KEY-----"},
            "expires": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        },
    ),
    # Authority data: the gate's settings, one document in the inventory (all fields optional).
    "Settings": _obj(
        [],
        {
            # the longest waiver term, from issued to expires (default 365 days)
            "waiver_max_days": {"type": "integer", "minimum": 1, "maximum": 1095},
        },
    ),
    "Policy": _obj(
        ["title", "severity", "applies_to", "require", "message"],
        {
            "title": _TEXT,
            "severity": {"enum": SEVERITIES},
            "applies_to": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": []},  # every kind but Policy: filled in below
            },
            "select": {"type": "string", "pattern": "^(/[^/]*)*$"},
            "when": {"type": ["object", "boolean"]},
            "require": {"type": ["object", "boolean"]},
            "message": _TEXT,
            "remediation": {"type": "string"},
            "references": {"type": "array", "items": _TEXT},
            "waivable": {"type": "boolean"},
            "family": {"type": "string"},
        },
    ),
}

# Kinds read from a live cloud are documents too, so policies can apply to them.
from govcloud.cloudkinds import CLOUD_SPEC_SCHEMAS  # noqa: E402

SPEC_SCHEMAS.update(CLOUD_SPEC_SCHEMAS)
KINDS = tuple(SPEC_SCHEMAS)
SPEC_SCHEMAS["Policy"]["properties"]["applies_to"]["items"] = {
    "enum": [k for k in KINDS if k != "Policy"]
}


def document_schema(kind: str) -> dict[str, Any]:
    """The full schema of one document kind (envelope + spec)."""
    spec = copy.deepcopy(SPEC_SCHEMAS[kind])
    return {
        "$schema": DIALECT,
        "$id": f"https://govcloud.invalid/schemas/v1/{kind}.json",
        "title": f"govcloud {kind}",
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": kind},
            "metadata": _obj(
                ["id"],
                {
                    "id": _ID,
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            ),
            "spec": spec,
        },
    }
