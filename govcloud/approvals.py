"""Multi-level approval (逐级审批) of requests by three separated roles (三员).

``govcloud approve REQUEST_FILE --as ROLE --key KEY`` signs each ResourceRequest in the file
(SM2 by default; the key decides: SM2 or Ed25519) and keeps the detached signatures beside it,
in ``<file>.approvals.json``::

    {"version": 2, "approvals": [
      {"payload": {"govcloud": "approval/v2", "request": "REQ-2026-0042",
                   "request_sm3": "<SM3 of the canonical request>", "role": "security",
                   "signer": {"holder": "王芳", "account": "wang.fang", "role_id": "...",
                              "key": "<fingerprint>", "os_account": "wangf"},
                   "signed_at": "2026-11-25T08:00:00+00:00", "cloud": "gov-ext",
                   "waivers": {"WVR-2026-003": "<SM3>"}, "policies": {"GC-NET-001": "<SM3>"}},
       "algorithm": "sm2", "signature": "<base64 DER (r, s)>"}]}

The signature covers ``canonical(payload)``: signer, role, time, the request (through its
digest), the waivers in force for it, the policies in force and the target cloud. Canonical JSON
is sorted keys, no spaces, UTF-8 (the audit log's). YAML comments and formatting are not data.

Trust comes from the inventory's signed roles (``govcloud.roles``), never from a file the
applier passes: an approval counts when the key that signed it holds that role there.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import pwd
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govcloud import signing
from govcloud.auditlog.log import canonical, sm3_hex
from govcloud.documents import Document
from govcloud.errors import InputError
from govcloud.fsutil import write_atomic
from govcloud.roles import RoleHolder, RoleSet

ROLES = ("department", "ops", "security")
ROLE_TITLES = {"department": "department head / 部门负责人", "ops": "operations / 运维",
               "security": "security officer / 安全管理员"}
SUFFIX = ".approvals.json"
PAYLOAD_TAG = "approval/v2"
REQUIRED_FROM_MLPS = 3  # apply needs the three approvals for MLPS level 3 and above


@dataclass(frozen=True)
class Context:
    """What an approval is given for besides the request itself."""

    cloud: str
    waivers: Mapping[str, str] = field(default_factory=dict)  # waiver id -> SM3 of the document
    policies: Mapping[str, str] = field(default_factory=dict)  # policy id -> SM3 of the document


def approvals_path(request_file: str | os.PathLike[str]) -> Path:
    path = Path(request_file)
    return path.with_name(path.name + SUFFIX)


def request_digest(doc: Document) -> str:
    """SM3 of the canonical JSON of the request document's data (apiVersion, kind, metadata,
    spec as loaded)."""
    return sm3_hex(canonical(dict(doc.body)))


def document_digest(doc: Document) -> str:
    return sm3_hex(canonical(dict(doc.body)))


def needs_approval(doc: Document) -> bool:
    """MLPS level 3 and above (GB/T 22239-2019 level 3: 授权和审批)."""
    level = (doc.spec.get("system") or {}).get("mlps_level")
    return isinstance(level, int) and level >= REQUIRED_FROM_MLPS


def waivers_in_force(request: Document, waivers: Iterable[Document],
                     today: dt.date) -> dict[str, str]:
    """The unexpired inventory waivers that target this request: id -> SM3."""
    target = f"ResourceRequest/{request.id}"
    out: dict[str, str] = {}
    for waiver in waivers:
        if waiver.kind != "Waiver" or waiver.spec.get("target") != target:
            continue
        try:
            expires = dt.date.fromisoformat(str(waiver.spec.get("expires")))
        except ValueError:
            continue
        if expires >= today:
            out[waiver.id] = document_digest(waiver)
    return dict(sorted(out.items()))


def policy_digests(policies_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Policy id -> SM3 of the policy's meaning, for the policy set in force (``load_policies``:
    the folder or the baseline, plus the shipped hard rules)."""
    from govcloud.policy import load_policies

    return policy_set_digests(load_policies(policies_dir))


_POLICY_FIELDS = ("id", "title", "severity", "applies_to", "select", "when", "require",
                  "message", "remediation", "references", "waivable", "family", "title_zh",
                  "message_zh", "remediation_zh")


def policy_set_digests(policy_set: Any) -> dict[str, str]:
    """Id -> SM3 of the canonical JSON of each policy's fields (not its file or line: moving a
    policy to another file is not a change of what is in force)."""
    out: dict[str, str] = {}
    for policy in policy_set.policies:
        fields = {name: getattr(policy, name, None) for name in _POLICY_FIELDS}
        out[policy.id] = sm3_hex(canonical(json.loads(json.dumps(fields, default=list))))
    return dict(sorted(out.items()))


def os_account() -> str:
    """The OS account running govcloud (not $LOGNAME, which anyone can set)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid:{os.geteuid()}"


def sign_request(doc: Document, role: str, key: signing.SigningKey, holder: RoleHolder,
                 context: Context, *, now: dt.datetime | None = None) -> dict[str, Any]:
    if role not in ROLES:
        raise InputError(f"unknown role '{role}'", hint=f"use --as {'|'.join(ROLES)}")
    payload = {
        "govcloud": PAYLOAD_TAG,
        "request": doc.id,
        "request_sm3": request_digest(doc),
        "role": role,
        "signer": {"holder": holder.holder, "account": holder.account, "role_id": holder.id,
                   "key": key.fingerprint, "os_account": os_account()},
        "signed_at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "cloud": context.cloud,
        "waivers": dict(context.waivers),
        "policies": dict(context.policies),
    }
    return {"payload": payload, "algorithm": key.algorithm,
            "signature": base64.b64encode(key.sign(canonical(payload))).decode()}


def load_approvals(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        if not path.is_file() or path.stat().st_size > 16 * 1024 * 1024:
            raise ValueError
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


def _identity(approval: Mapping[str, Any]) -> tuple[str, str, str]:
    payload = approval.get("payload")
    if not isinstance(payload, Mapping):
        return (str(approval.get("request")), str(approval.get("role")), "")
    signer = payload.get("signer")
    if not isinstance(signer, Mapping):
        signer = {}
    return (str(payload.get("request")), str(payload.get("role")), str(signer.get("key")))


def add_approval(request_file: Path, approval: Mapping[str, Any]) -> Path:
    """Add (or replace: same request, role and key) one approval; atomic write."""
    path = approvals_path(request_file)
    mine = _identity(approval)
    items = [a for a in load_approvals(path) if _identity(a) != mine]
    items.append(dict(approval))

    def order(a: Mapping[str, Any]) -> tuple[str, int, str]:
        request, role, _ = _identity(a)
        payload = a.get("payload")
        if not isinstance(payload, Mapping):
            payload = {}
        return (request, ROLES.index(role) if role in ROLES else 9,
                str(payload.get("signed_at")))

    items.sort(key=order)
    text = json.dumps({"version": 2, "approvals": items}, indent=2, ensure_ascii=False) + "\n"
    write_atomic(path, text.encode("utf-8"))
    return path


def _diff(what: str, signed: Any, now: Mapping[str, str]) -> str | None:
    if not isinstance(signed, Mapping):
        return f"the {what} it approved are not recorded"
    if dict(signed) == dict(now):
        return None
    added = sorted(set(now) - set(signed))
    removed = sorted(set(signed) - set(now))
    changed = sorted(k for k in set(now) & set(signed) if now[k] != signed[k])
    parts = [f"{label} {', '.join(ids[:5])}{'…' if len(ids) > 5 else ''}"
             for label, ids in (("added", added), ("removed", removed), ("changed", changed))
             if ids]
    return f"the {what} in force differ from the approved ones ({'; '.join(parts)})"


def verify_approvals(request_doc: Document, roles: RoleSet, context: Context,
                     today: dt.date | None = None) -> list[str]:
    """Why ``request_doc`` is not approved for ``context`` (an empty list: it is).

    The request must carry a valid approval of each role (department, ops, security), each
    signed by a key that holds that role in the inventory's signed roles, over the request as it
    is now, the waivers and policies in force now and the target cloud; and the three must be
    three different people (三员). A malformed approvals file raises InputError.
    """
    today = today or dt.date.today()
    digest = request_digest(request_doc)
    ref = f"{request_doc.ref} ({request_doc.file})"
    problems: list[str] = []
    valid: dict[str, list[RoleHolder]] = {}
    explained: set[str] = set()  # roles whose approval was refused with a reason already given
    for a in load_approvals(approvals_path(request_doc.file)):
        payload = a.get("payload")
        if not isinstance(payload, Mapping):
            if a.get("request") == request_doc.id:
                problems.append(f"{ref}: the {a.get('role')} approval is in the old format "
                                "(approval/v1 signs neither signer, time, waivers, policies nor "
                                "cloud); approve again")
            continue
        if payload.get("request") != request_doc.id:
            continue
        role = str(payload.get("role"))
        if role not in ROLES or payload.get("govcloud") != PAYLOAD_TAG:
            problems.append(f"{ref}: an approval names unknown role {role!r}")
            continue
        problem, holder = _check_one(payload, a, role, roles, today)
        if problem is None and holder is not None and role == "department" and (
                holder.department and holder.department != request_doc.spec.get("department")):
            problem = (f"the department approval is by {holder.describe()}, head of "
                       f"{holder.department}, not of the requesting department "
                       f"{request_doc.spec.get('department')}")
        if problem is None:
            problem = _check_context(payload, role, digest, context)
        if problem is not None:
            problems.append(f"{ref}: {problem}")
            explained.add(role)
            continue
        assert holder is not None
        valid.setdefault(role, []).append(holder)
    for role in ROLES:
        if role not in valid and role not in explained:
            problems.append(f"{ref}: no valid approval by {role} ({ROLE_TITLES[role]})")
    people: dict[str, list[str]] = {}
    for role, holders in valid.items():
        for account in {h.account for h in holders}:
            people.setdefault(account, []).append(role)
    for account, held in sorted(people.items()):
        if len(held) > 1:
            problems.append(f"{ref}: {account} approved as "
                            f"{' and '.join(sorted(held, key=ROLES.index))}; the three roles "
                            "need three different people (三员)")
    return problems


def _check_one(payload: Mapping[str, Any], approval: Mapping[str, Any], role: str,
               roles: RoleSet, today: dt.date) -> tuple[str | None, RoleHolder | None]:
    signer = payload.get("signer")
    if not isinstance(signer, Mapping):
        return f"the {role} approval is malformed (no signer)", None
    fingerprint = str(signer.get("key"))
    holder = roles.by_fingerprint(fingerprint)
    if holder is None or holder.key is None:
        return (f"the {role} approval is signed by key {fingerprint[:16]}…, which holds no role "
                f"in {roles.source}", None)
    if holder.role != role:
        return (f"the {role} approval is signed by {holder.describe()}, who holds role "
                f"{holder.role}, not {role}", None)
    if holder.expired(today):
        return (f"the {role} approval is by {holder.describe()}, whose role expired on "
                f"{holder.expires}", None)
    try:
        signature = base64.b64decode(str(approval.get("signature", "")), validate=True)
    except ValueError:
        return f"the {role} approval's signature is not base64", None
    if approval.get("algorithm") != holder.key.algorithm or not holder.key.verify(
            canonical(dict(payload)), signature):
        return (f"the {role} approval's signature does not verify with {holder.describe()}'s "
                "key (forged, or changed after signing)", None)
    if (signer.get("holder"), signer.get("account")) != (holder.holder, holder.account):
        return (f"the {role} approval names {signer.get('holder')} ({signer.get('account')}), "
                f"but the key is {holder.describe()}'s", None)
    return None, holder


def _check_context(payload: Mapping[str, Any], role: str, digest: str,
                   context: Context) -> str | None:
    if payload.get("request_sm3") != digest:
        return (f"the request changed after the {role} approval (signed "
                f"{str(payload.get('request_sm3'))[:16]}…, now {digest[:16]}…); approve it again")
    if payload.get("cloud") != context.cloud:
        return (f"the {role} approval is for cloud {payload.get('cloud')!r}, not "
                f"{context.cloud!r}; approve it for this cloud")
    for what, now, signed in (("waivers", context.waivers, payload.get("waivers")),
                              ("policies", context.policies, payload.get("policies"))):
        problem = _diff(what, signed, now)
        if problem is not None:
            return f"the {role} approval: {problem}; approve it again"
    return None


def inventory_documents(inventory: Path) -> list[Document]:
    """The inventory's documents (Waivers, Platforms): authority data for approvals."""
    from govcloud.loader import load_paths

    if not inventory.exists():
        return []
    loaded = load_paths([inventory])
    if loaded.input_errors:
        raise InputError(str(loaded.input_errors[0]), hint="fix the inventory")
    return list(loaded.documents)


def request_cloud(request: Document, inventory: Iterable[Document]) -> str | None:
    """The cloud of the request's Platform in the inventory."""
    platform_id = request.spec.get("platform")
    for doc in inventory:
        if doc.kind == "Platform" and doc.id == platform_id:
            cloud = doc.spec.get("cloud")
            return str(cloud) if cloud else None
    return None


def apply_problems(targets: Iterable[tuple[str, Iterable[Document]]], roles: RoleSet | None,
                   waivers: Iterable[Document], policies: Mapping[str, str],
                   today: dt.date) -> list[str]:
    """Why apply must refuse: for every request of MLPS >= 3 on each target cloud, the reasons
    it is not approved for that cloud (empty: go ahead). ``roles`` None means the inventory's
    roles could not be loaded; the caller raises that error only when an approval is needed."""
    waiver_docs = list(waivers)
    problems: list[str] = []
    for cloud, requests in targets:
        for request in requests:
            if not needs_approval(request):
                continue
            assert roles is not None, "load the roles before checking approvals"
            context = Context(cloud, waivers_in_force(request, waiver_docs, today), policies)
            problems.extend(verify_approvals(request, roles, context, today))
    return problems
