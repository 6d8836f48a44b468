"""JSON Schemas (draft 2020-12) of every document kind, assembled from one registry.

Each kind registers the schema of its ``spec``; the envelope (apiVersion, kind, metadata) is
shared. Schemas are closed (``additionalProperties: false``) so that a typo'd field is an error.
Checks JSON Schema cannot express (CIDRs, port ranges, references) live in ``validate.py``.
"""

from __future__ import annotations

import copy
from typing import Any

from govcloud import API_VERSION
from govcloud.cloudkinds import QUOTA_KEYS  # a request sets the quotas a live project reports
from govcloud.model import SEVERITIES

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
# The slots of a component map: the software stack, plus the hardware a system runs on (the
# server model and the storage array: the "E" of IOE).
COMPONENT_SLOTS = ["cpu", "os", "database", "middleware", "server", "storage"]
# Administrative levels that may build a function once for everyone below them (统建).
BUILT_ONCE_LEVELS = ["province", "prefecture"]
# 等保备案证明编号 (the MLPS filing certificate number the public-security organ issues): 11 digits
# (the first six of the accepting organ's code, GA 380, i.e. its administrative division; then
# the filing unit's number there), a hyphen, 5 digits (the filed system's number; in practice
# the filing year's last two digits and a sequence). Example: 39010099999-26001.
FILING_NUMBER_PATTERN = "^[1-9][0-9]{10}-[0-9]{5}$"
# A Chinese contact number: a mobile (11 digits, 1[3-9]...) or a landline with its area code
# (0 + 2-3 digits, optional hyphen, 7-8 digits, optional -extension); optional +86 prefix.
PHONE_PATTERN = "^(\\+86[ -]?)?(1[3-9][0-9]{9}|0[1-9][0-9]{1,2}-?[0-9]{7,8}(-[0-9]{1,6})?)$"
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# Who may sign or approve what (三员 and the approvers of 逐级审批). One key holds one role.
ROLES = ["department", "ops", "security", "audit", "evidence"]

_ID = {"type": "string", "pattern": ID_PATTERN}
_NAME = {"type": "string", "pattern": NAME_PATTERN}
# Text must say something: whitespace (incl. U+3000 全角空格, NBSP), zero-width and format
# characters (U+200B-U+200F, U+202A-U+202E, U+2060-U+2064, BOM), soft hyphen and the "blank"
# letters (Hangul fillers, braille blank) alone are blank. ``search`` semantics: one visible
# character anywhere is enough.
BLANK_PATTERN = (
    r"[^\s\u00ad\u034f\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u2064\u206a-\u206f\u2800\u3164\ufeff\uffa0]"
)
_TEXT = {"type": "string", "minLength": 1, "pattern": BLANK_PATTERN}
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
    "filing_number": {
        "type": "string",
        "pattern": FILING_NUMBER_PATTERN,
        "description": "an MLPS filing certificate number (等保备案证明编号): write 11 digits, "
        "'-', 5 digits, as on the certificate, e.g. 39010099999-26001",
    },
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
        "description": _TEXT,
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
            # The people's government of its level (or its general office, 政府办): the one unit
            # below province level that runs a portal (国办发〔2017〕47号).
            "government": {"type": "boolean"},
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
            "platform": _ID,  # the shared platform of a system hosted in a cloud tenant
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
            # 分级保护: the highest secrecy level the platform is accredited for; absent = none.
            "accredited_for": {"enum": list(CLASSIFIED)},
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
            "cpu": _ID,  # server models: the CPU they carry (a Component of category cpu)
        },
    ),
    # Authority data: the controlled vocabulary of system functions. `name`, `name_zh` and
    # `synonyms` map other spellings onto the id; `built_once_at` marks a function one level
    # builds for everyone below it (省级统建), `provided_by` the System(s) that serve it.
    "Function": _obj(
        ["name"],
        {
            "name": _TEXT,
            "name_zh": _TEXT,
            "synonyms": {"type": "array", "items": _TEXT, "uniqueItems": True},
            "built_once_at": {"enum": BUILT_ONCE_LEVELS},
            "provided_by": {"type": "array", "items": _ID, "uniqueItems": True},
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
            # who answers for the request (the form's 联系人), and when the lease ends (租用期限)
            "contact": _obj(
                ["name"],
                {
                    "name": _TEXT,
                    "phone": {
                        "type": "string",
                        "pattern": PHONE_PATTERN,
                        "description": "a phone number: write a mobile (13812345678) or a "
                        "landline with its area code (0391-12345678), digits only",
                    },
                    "email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$"},
                },
            ),
            "lease_until": {"type": "string", "pattern": DATE_PATTERN},
            "quotas": {
                "type": "object",
                "additionalProperties": False,
                "properties": {key: _QUOTA for key in QUOTA_KEYS},
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
                        "description": _TEXT,
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
            "severity": {"enum": list(SEVERITIES)},
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

# Authority data: a glance image the platform offers, by name (metadata.id = the image name), and
# the operating system it boots (a Component of category os). Read only from the inventory, so a
# request's server image is checked against what the platform says, never what the request says.
SPEC_SCHEMAS["Image"] = _obj(["os"], {"os": _ID, "architecture": _TEXT})

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
