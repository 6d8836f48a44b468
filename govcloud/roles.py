"""Who holds which role with which key (三员), read from the inventory's signed ``roles.yaml``.

The inventory (``$GOVCLOUD_INVENTORY``, else ``./inventory``) keeps the ``Role`` documents in
``roles.yaml`` (when the inventory is a single file: that file). Each names a role
(``department``, ``ops``, ``security``: approvals; ``audit``: the audit log's heads and
checkpoints; ``evidence``: evidence bundles), its holder, the holder's account and the PEM public
key they sign with (SM2 or Ed25519).

The file is signed: ``roles.yaml.sig`` (JSON) holds a detached signature over the file's exact
bytes, the signing time and a serial (one more than the previous signature's) by the security
office's **root key**, whose fingerprint (SM3 of its public key's DER,
``govcloud keys fingerprint``) the operator pins outside the inventory: in
``/etc/govcloud/trust-root`` (owned by root; when it exists it wins) or else in
``$GOVCLOUD_TRUST_ROOT``. A roles file that is unsigned, signed by another key or edited after
signing is an integrity failure (exit 4); no pin at all is a configuration error (exit 2).

A roles file with a lower serial than one this machine already accepted (recorded in the state
folder, ``roles-seen.json``) is a rollback: exit 4.

Rules: one key holds one role (the same public key under two roles, or the root key under any
role, is refused); a Role past its ``expires`` date counts for nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govcloud import signing
from govcloud.errors import InputError, IntegrityError
from govcloud.fsutil import FileTooLargeError, NotRegularFileError, read_regular, write_atomic

ROLES_FILE = "roles.yaml"
SIGNATURE_SUFFIX = ".sig"
TRUST_ROOT_ENV = "GOVCLOUD_TRUST_ROOT"
TRUST_ROOT_FILE = Path("/etc/govcloud/trust-root")
INVENTORY_ENV = "GOVCLOUD_INVENTORY"
PAYLOAD_TAG = "roles/v1"
MAX_ROLES_FILE = 1024 * 1024
SEEN_FILE = "roles-seen.json"  # in the state folder: newest serial accepted per root key
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class RoleHolder:
    role: str
    holder: str
    account: str
    department: str | None
    key: signing.VerifyKey | None
    expires: dt.date | None
    id: str
    line: int

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def describe(self) -> str:
        return f"{self.holder} ({self.account}, Role/{self.id})"


@dataclass(frozen=True)
class RoleSet:
    """The verified roles. ``holders`` excludes nothing; use ``active`` to drop expired ones."""

    holders: tuple[RoleHolder, ...]
    root: str  # fingerprint of the key that signed the file
    source: Path

    def active(self, role: str, today: dt.date) -> list[RoleHolder]:
        return [h for h in self.holders
                if h.role == role and h.key is not None and not h.expired(today)]

    def by_fingerprint(self, fingerprint: str) -> RoleHolder | None:
        for holder in self.holders:
            if holder.key is not None and holder.key.fingerprint == fingerprint:
                return holder
        return None


def inventory_path() -> Path:
    return Path(os.environ.get(INVENTORY_ENV) or "inventory")


def roles_path(inventory: Path | None = None) -> Path:
    root = inventory if inventory is not None else inventory_path()
    return root if root.is_file() else root / ROLES_FILE


def signature_path(roles_file: Path) -> Path:
    return roles_file.with_name(roles_file.name + SIGNATURE_SUFFIX)


def pinned_root() -> str:
    """The pinned root fingerprint: /etc/govcloud/trust-root when it exists, else the env."""
    where: str
    if TRUST_ROOT_FILE.exists():
        where = str(TRUST_ROOT_FILE)
        try:
            value = _read_regular(TRUST_ROOT_FILE, 4096).decode("ascii", "replace")
        except OSError as exc:
            raise InputError(f"cannot read {TRUST_ROOT_FILE}: {exc.strerror}",
                             hint="it must hold the root key's fingerprint") from exc
        value = value.strip()
    else:
        where = f"${TRUST_ROOT_ENV}"
        value = os.environ.get(TRUST_ROOT_ENV, "").strip()
        if not value:
            raise InputError(
                "no trust root is pinned, so the inventory's roles cannot be trusted",
                hint=f"write the security office's root key fingerprint (`govcloud keys "
                f"fingerprint ROOT.pub`) to {TRUST_ROOT_FILE} or set {TRUST_ROOT_ENV}")
    value = value.lower().removeprefix("sm3:")
    if not _FINGERPRINT.match(value):
        raise InputError(f"{where}: not a key fingerprint (64 hex digits)",
                         hint="use `govcloud keys fingerprint ROOT.pub`")
    return value


def _read_regular(path: Path, limit: int) -> bytes:
    """A regular file's bytes (FIFOs, devices, oversized files: InputError, exit 2)."""
    try:
        return read_regular(path, max_bytes=limit)
    except (NotRegularFileError, FileTooLargeError) as exc:
        raise InputError(f"{path}: {exc.strerror}; not a roles file",
                         hint="replace it with the real file") from exc


def roles_payload(data: bytes, signed_at: str, serial: int) -> bytes:
    from govcloud.auditlog.log import canonical, sm3_hex

    return canonical({"govcloud": PAYLOAD_TAG, "sm3": sm3_hex(data), "signed_at": signed_at,
                      "serial": serial})


def _previous_serial(sig_path: Path) -> int:
    try:
        value = json.loads(_read_regular(sig_path, 64 * 1024)).get("serial", 0)
    except (OSError, ValueError, AttributeError, InputError):
        return 0
    return value if isinstance(value, int) and value >= 0 else 0


def _seen_path() -> Path:
    from govcloud.state import state_dir

    return state_dir() / SEEN_FILE


def _check_fresh(path: Path, root: str, serial: int) -> None:
    """Refuse a roles file older than one this machine already accepted (a rollback), and
    remember the newest. The record is a hint kept in the state folder: it catches an inventory
    restored to an older signed copy, not someone who can also rewrite the state folder."""
    seen_file = _seen_path()
    try:
        seen = json.loads(_read_regular(seen_file, 1024 * 1024))
        if not isinstance(seen, dict):
            seen = {}
    except (OSError, ValueError, InputError):
        seen = {}
    newest = seen.get(root)
    if isinstance(newest, int) and serial < newest:
        raise IntegrityError(
            f"{path} is signed as serial {serial}, older than serial {newest} already accepted "
            "on this machine: the roles were rolled back to an older signed copy",
            hint="restore the newest signed roles.yaml (and .sig); if the rollback is wanted, "
            "the security office signs the file again (a higher serial)")
    if newest != serial:
        seen[root] = serial
        try:
            seen_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(seen_file, (json.dumps(seen, indent=1, sort_keys=True) + "\n").encode())
        except OSError:
            pass  # read-only state folder: the check still ran against what was recorded


def sign_roles(roles_file: Path, root: signing.SigningKey) -> Path:
    """Write ``<roles_file>.sig``: the root key's signature over the file's bytes."""
    data = _read_regular(roles_file, MAX_ROLES_FILE)
    signed_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    serial = _previous_serial(signature_path(roles_file)) + 1
    record = {
        "version": 1,
        "file": roles_file.name,
        "algorithm": root.algorithm,
        "signed_at": signed_at,
        "serial": serial,
        "public_key": root.public_pem(),
        "key": root.fingerprint,
        "signature": base64.b64encode(root.sign(roles_payload(data, signed_at, serial))).decode(),
    }
    out = signature_path(roles_file)
    write_atomic(out, (json.dumps(record, indent=2) + "\n").encode())
    return out


def load_roles(inventory: Path | None = None, *, root: str | None = None) -> RoleSet:
    """The inventory's roles, after checking the signature against the pinned root.

    Raises InputError (exit 2) for a missing or malformed file or no pin, IntegrityError
    (exit 4) when the signature is missing or does not verify with the pinned root key, or the
    file breaks one-key-one-role."""
    pin = root or pinned_root()
    path = roles_path(inventory)
    sig_path = signature_path(path)
    try:
        data = _read_regular(path, MAX_ROLES_FILE)
    except FileNotFoundError as exc:
        raise InputError(f"the inventory has no {path.name} ({path}): nobody holds a role",
                         hint="add the Role documents (docs/audit.md) and sign them with "
                         "`govcloud keys sign-roles`") from exc
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", hint="check the inventory"
                         ) from exc
    try:
        record = json.loads(_read_regular(sig_path, 64 * 1024))
        algorithm = record["algorithm"]
        public = signing.load_verify_key(record["public_key"])
        signature = base64.b64decode(record["signature"], validate=True)
        signed_at = str(record["signed_at"])
        serial = record["serial"]
        if not isinstance(serial, int) or isinstance(serial, bool) or serial < 1:
            raise ValueError("serial")
    except FileNotFoundError as exc:
        raise IntegrityError(f"{path} is not signed ({sig_path.name} is missing)",
                             hint="the security office signs it with `govcloud keys "
                             "sign-roles`; until then no role counts") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"{sig_path} is not a roles signature govcloud can read",
                             hint="have the security office sign roles.yaml again") from exc
    if public.fingerprint != pin:
        raise IntegrityError(
            f"{path} is signed by key {public.fingerprint[:16]}…, not by the pinned root "
            f"{pin[:16]}…", hint="only the security office's root key may sign the roles; "
            "check the pin and the signature")
    if algorithm != public.algorithm or not public.verify(roles_payload(data, signed_at, serial),
                                                          signature):
        raise IntegrityError(f"{path}: the signature in {sig_path.name} does not verify (the "
                             "file was changed after it was signed)",
                             hint="do not trust these roles; restore the signed file or have "
                             "the security office sign the new one")
    holders = _parse(path, data, pin)
    _check_fresh(path, pin, serial)
    return RoleSet(holders, pin, path)


def _parse(path: Path, data: bytes, root: str) -> tuple[RoleHolder, ...]:
    from govcloud.loader import load_text
    from govcloud.validate import schema_errors

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8", hint="save the roles file as UTF-8") from exc
    loaded = load_text(text, str(path))
    problems = [str(p) for p in list(loaded.input_errors) + list(loaded.errors)]
    for doc in loaded.documents:
        if doc.kind != "Role":
            problems.append(f"{path}:{doc.line}: /kind: {doc.ref} is not a Role; "
                            f"{path.name} holds only Role documents")
        else:
            problems.extend(str(e) for e in schema_errors(doc))
    if problems:
        raise InputError(problems[0], hint=f"fix {path.name} and have it signed again")
    holders: list[RoleHolder] = []
    seen: dict[str, RoleHolder] = {}
    for doc in loaded.documents:
        spec = doc.spec
        key = None
        if spec.get("public_key"):
            try:
                key = signing.load_verify_key(spec["public_key"])
            except ValueError as exc:
                raise InputError(f"{path}:{doc.line}: /spec/public_key: {exc}",
                                 hint="paste the .pub file written by `govcloud keys "
                                 "generate`") from exc
        expires = dt.date.fromisoformat(spec["expires"]) if spec.get("expires") else None
        holder = RoleHolder(spec["role"], spec["holder"], spec["account"],
                            spec.get("department"), key, expires, doc.id, doc.line)
        if key is not None:
            if key.fingerprint == root:
                raise IntegrityError(f"{path}:{doc.line}: Role/{doc.id} uses the root key",
                                     hint="the root key signs the roles file only; give the "
                                     "role its own key")
            other = seen.get(key.fingerprint)
            if other is not None:
                raise IntegrityError(
                    f"{path}:{doc.line}: /spec/public_key: key {key.fingerprint[:16]}… of "
                    f"Role/{doc.id} ({holder.role}) already holds role {other.role} "
                    f"(Role/{other.id}, line {other.line}); one key may hold one role (三员)",
                    hint="generate a separate key for each role")
            seen[key.fingerprint] = holder
        holders.append(holder)
    return tuple(holders)


def role_document(role: str, holder: str, account: str, key: signing.SigningKey,
                  department: str | None = None) -> dict[str, Any]:
    """A Role document for ``key`` (what ``govcloud keys generate`` prints)."""
    spec: dict[str, Any] = {"role": role, "holder": holder, "account": account}
    if department:
        spec["department"] = department
    spec["public_key"] = key.public_pem()
    from govcloud import API_VERSION

    return {"apiVersion": API_VERSION, "kind": "Role",
            "metadata": {"id": f"{role}-{account}".replace("@", "-")[:63]}, "spec": spec}
