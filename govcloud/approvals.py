"""Multi-level approval (逐级审批) of requests by three separated roles (三员).

``govcloud approve REQUEST_FILE --as ROLE --key KEY`` signs each ResourceRequest in the file with
Ed25519 and keeps the detached signatures beside it, in ``<file>.approvals.json``::

    {"version": 1, "approvals": [
      {"request": "REQ-2026-0042", "role": "department", "sm3": "<SM3 of the canonical request>",
       "public_key": "<raw Ed25519 public key, base64>", "signature": "<base64>",
       "signed_at": "2026-11-25T08:00:00+00:00", "signer": "li.ming"}]}

The signature covers ``canonical({"govcloud": "approval/v1", "request": <id>, "role": <role>,
"sm3": <SM3 of canonical JSON of the request document's data>})``: the request (through its
digest) *and* the role, so a department signature cannot be moved to the security slot.
Canonical JSON is sorted keys, no spaces, UTF-8 (the audit log's). Comments and formatting of
the YAML are not data: re-indenting the file does not void approvals; changing a value does.

A trust file (YAML) lists, per role, the public keys allowed to approve as that role, as PEM
(what ``govcloud log keygen`` writes to ``.pub``) or raw base64::

    department: ["-----BEGIN PUBLIC KEY-----\\n...\\n-----END PUBLIC KEY-----\\n"]
    ops: [MCowBQYDK2VwAyEA...]          # or the 32 raw bytes, base64
    security: [...]

``verify_approvals(request_doc, trust_file)`` returns the problems (empty: approved).
"""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from govcloud.auditlog.log import canonical, sm3_hex
from govcloud.documents import Document
from govcloud.errors import InputError
from govcloud.fsutil import write_atomic

ROLES = ("department", "ops", "security")
ROLE_TITLES = {"department": "department head / 部门负责人", "ops": "operations / 运维",
               "security": "security officer / 安全管理员"}
SUFFIX = ".approvals.json"
PAYLOAD_TAG = "approval/v1"


def approvals_path(request_file: str | os.PathLike[str]) -> Path:
    path = Path(request_file)
    return path.with_name(path.name + SUFFIX)


def request_digest(doc: Document) -> str:
    """SM3 of the canonical JSON of the request document's data (apiVersion, kind, metadata,
    spec as loaded)."""
    return sm3_hex(canonical(dict(doc.body)))


def payload(request_id: str, role: str, digest: str) -> bytes:
    return canonical({"govcloud": PAYLOAD_TAG, "request": request_id, "role": role,
                      "sm3": digest})


def raw_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(raw: bytes) -> str:
    """A short, stable name for a public key in messages (SM3 of the raw key, 16 hex)."""
    return sm3_hex(raw)[:16]


def parse_public_key(text: str) -> bytes:
    """Raw 32-byte Ed25519 public key from PEM, base64 DER (SubjectPublicKeyInfo) or base64 raw."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            data = base64.b64decode(text, validate=True)
            if len(data) == 32:
                return data
            key = serialization.load_der_public_key(data)
    except ValueError as exc:
        raise ValueError("not a PEM or base64 public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return raw_key(key)


def load_trust(trust_file: str | os.PathLike[str]) -> dict[str, list[bytes]]:
    """role -> raw public keys. A malformed trust file is an input error (exit 2)."""
    path = Path(trust_file)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the trust file {path}: {exc.strerror}",
                         hint="pass the YAML file listing each role's public keys") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(f"{where}: the trust file is not valid YAML",
                         hint="write role: [public keys]") from exc
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: the trust file must map roles to lists of public keys",
                         hint=f"use the roles {', '.join(ROLES)}")
    trust: dict[str, list[bytes]] = {}
    for role, keys in data.items():
        if role not in ROLES:
            raise InputError(f"{path}: /{role}: unknown role '{role}'",
                             hint=f"use {', '.join(ROLES)}")
        if not isinstance(keys, list):
            raise InputError(f"{path}: /{role}: expected a list of public keys",
                             hint="write each key as a PEM block or base64 string")
        trust[role] = []
        for index, text in enumerate(keys):
            try:
                trust[role].append(parse_public_key(str(text)))
            except ValueError as exc:
                raise InputError(f"{path}: /{role}/{index}: {exc}",
                                 hint="paste the .pub file (PEM) or the raw key in base64"
                                 ) from exc
    return trust


def load_approvals(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data["approvals"]
        if not isinstance(items, list):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a govcloud approvals file",
                         hint="restore it, or delete it and approve again") from exc
    return [a for a in items if isinstance(a, dict)]


def load_requests(request_file: str | os.PathLike[str]) -> list[Document]:
    """The ResourceRequests of one file, schema-checked (references to departments and
    platforms are `validate`'s business: an approval needs only the request itself)."""
    from govcloud.loader import load_file
    from govcloud.validate import schema_errors

    loaded = load_file(Path(request_file))
    problems = list(loaded.input_errors) + list(loaded.errors)
    for doc in loaded.documents:
        problems.extend(schema_errors(doc))
    if problems:
        raise InputError(str(problems[0]), hint="fix the request before approving it "
                         "(`govcloud validate` lists every error)")
    return [d for d in loaded.documents if d.kind == "ResourceRequest"]


def sign_request(doc: Document, role: str, key: Ed25519PrivateKey,
                 signer: str | None = None) -> dict[str, Any]:
    if role not in ROLES:
        raise InputError(f"unknown role '{role}'", hint=f"use --as {'|'.join(ROLES)}")
    digest = request_digest(doc)
    return {
        "request": doc.id,
        "role": role,
        "sm3": digest,
        "public_key": base64.b64encode(raw_key(key.public_key())).decode(),
        "signature": base64.b64encode(key.sign(payload(doc.id, role, digest))).decode(),
        "signed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "signer": signer or _user(),
    }


def add_approval(request_file: Path, approval: Mapping[str, Any]) -> Path:
    """Add (or replace: same request, role and key) one approval; atomic write."""
    path = approvals_path(request_file)
    items = [a for a in load_approvals(path)
             if (a.get("request"), a.get("role"), a.get("public_key"))
             != (approval["request"], approval["role"], approval["public_key"])]
    items.append(dict(approval))
    items.sort(key=lambda a: (str(a.get("request")), ROLES.index(a["role"])
                              if a.get("role") in ROLES else 9, str(a.get("signed_at"))))
    text = json.dumps({"version": 1, "approvals": items}, indent=2, ensure_ascii=False) + "\n"
    write_atomic(path, text.encode("utf-8"))
    return path


def verify_approvals(request_doc: Document, trust_file: str | os.PathLike[str]) -> list[str]:
    """Why ``request_doc`` is not approved (an empty list: it is).

    The request must carry a valid signature of each role (department, ops, security), made by
    a key the trust file lists for that role, over the request as it is now, and no key may
    sign for two roles (三员: separated duties need separate keys). Approvals are read from
    ``<request file>.approvals.json``. A malformed trust or approvals file raises InputError.
    """
    trust = load_trust(trust_file)
    problems: list[str] = []
    listed_for: dict[bytes, list[str]] = {}
    for role, keys in trust.items():
        for raw in keys:
            listed_for.setdefault(raw, []).append(role)
    for raw, roles in listed_for.items():
        if len(set(roles)) > 1:
            problems.append(f"trust file lists key {fingerprint(raw)} for {' and '.join(roles)}; "
                            "each role needs its own key (三员)")
    digest = request_digest(request_doc)
    ref = f"{request_doc.ref} ({request_doc.file})"
    valid: dict[str, set[bytes]] = {}
    for a in load_approvals(approvals_path(request_doc.file)):
        if a.get("request") != request_doc.id:
            continue
        role = str(a.get("role"))
        if role not in ROLES:
            problems.append(f"{ref}: an approval names unknown role {a.get('role')!r}")
            continue
        try:
            raw = base64.b64decode(str(a.get("public_key", "")), validate=True)
            public = Ed25519PublicKey.from_public_bytes(raw)
            signature = base64.b64decode(str(a.get("signature", "")), validate=True)
        except ValueError:
            problems.append(f"{ref}: the {role} approval is malformed")
            continue
        if a.get("sm3") != digest:
            problems.append(f"{ref}: the request changed after the {role} approval "
                            f"(signed {str(a.get('sm3'))[:16]}…, now {digest[:16]}…); "
                            "approve it again")
            continue
        try:
            public.verify(signature, payload(request_doc.id, role, digest))
        except InvalidSignature:
            problems.append(f"{ref}: the {role} approval's signature does not verify")
            continue
        if raw not in trust.get(role, []):
            problems.append(f"{ref}: the {role} approval is signed by key {fingerprint(raw)}, "
                            f"which the trust file does not list for {role}")
            continue
        valid.setdefault(role, set()).add(raw)
    for role in ROLES:
        if role not in valid:
            problems.append(f"{ref}: no valid approval by {role} ({ROLE_TITLES[role]})")
    signed_by: dict[bytes, list[str]] = {}
    for role, signers in valid.items():
        for raw in signers:
            signed_by.setdefault(raw, []).append(role)
    for raw, roles in signed_by.items():
        if len(roles) > 1:
            problems.append(f"{ref}: key {fingerprint(raw)} approved as "
                            f"{' and '.join(sorted(roles, key=ROLES.index))}; "
                            "each role needs a different person's key (三员)")
    return problems


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"
