"""Credentials bundles: the initial passwords of the users apply creates, SM4-GCM encrypted.

One bundle per department (``<dir>/<department>.gcb``, mode 0600). The plaintext never touches
disk: the whole JSON is encrypted with SM4 in GCM mode (cryptography) under a 128-bit key from a
file (``--credentials-key FILE``) or the ``GOVCLOUD_CREDENTIALS_KEY`` variable (32 hex digits).
The file name and format version are authenticated as associated data, so a bundle renamed to
another department does not decrypt. A password is written to the bundle *before* its user is
created: a crash in between leaves a bundle entry for a user that a re-run creates (with a new
password, replacing the entry), never a user whose password is lost.

**Rollback.** Each bundle carries a counter inside its sealed data, raised by one at every write,
and the state folder keeps a *counter record* per bundle (``<state>/credentials-counters/``, one
small file named after the bundle's real path, sealed with the same key and bound to that path).
A bundle whose counter is below its record is an older copy put back: reading it for a write, or
showing it, stops with exit 4. A bundle with no record where one should be (a new state folder, a
record deleted) is refused for writing (exit 4) until an operator adopts it (``govcloud
credentials show BUNDLE --adopt``); a record whose bundle is gone is refused the same way (the
bundle was deleted: restore it, or remove the record on purpose). What is *not* detected: an
attacker who puts back an older copy of both the bundle and its record (both live under the
state folder): keep the state folder backed up and watched as a whole.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from govcloud.errors import InputError, IntegrityError
from govcloud.fsutil import read_regular, write_atomic
from govcloud.state import state_dir

KEY_ENV = "GOVCLOUD_CREDENTIALS_KEY"
SUFFIX = ".gcb"
FORMAT = "govcloud-credentials/1"
COUNTER_FORMAT = "govcloud-credentials-counter/1"
COUNTERS_DIR = "credentials-counters"
MAX_BUNDLE_BYTES = 64 << 20


def generate_key() -> str:
    return secrets.token_hex(16)


def load_key(key_file: Path | None) -> bytes:
    """The SM4 key from --credentials-key FILE, else $GOVCLOUD_CREDENTIALS_KEY."""
    if key_file is not None:
        try:
            text = key_file.expanduser().read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read credentials key {key_file}: {exc}",
                             hint="make one with `govcloud credentials keygen --out FILE`"
                             ) from exc
        source = str(key_file)
    else:
        text = os.environ.get(KEY_ENV, "").strip()
        source = f"${KEY_ENV}"
        if not text:
            raise InputError(
                "creating users needs a key for their credentials bundle",
                hint=f"pass --credentials-key FILE or set {KEY_ENV} (32 hex digits); "
                     "make one with `govcloud credentials keygen --out FILE`")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 16:
        raise InputError(f"credentials key in {source} is not 32 hex digits (a 128-bit SM4 key)",
                         hint="make one with `govcloud credentials keygen --out FILE`")
    return key


def bundle_path(directory: Path, department: str) -> Path:
    return directory / f"{department}{SUFFIX}"


def _aad(path: Path) -> bytes:
    return f"{FORMAT}:{path.stem}".encode()


def _seal(key: bytes, path: Path, payload: dict[str, Any]) -> bytes:
    return _seal_with(key, _aad(path), FORMAT, payload)


def _seal_with(key: bytes, aad: bytes, fmt: str, payload: dict[str, Any]) -> bytes:
    nonce = secrets.token_bytes(12)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    body = enc.update(json.dumps(payload, sort_keys=True).encode()) + enc.finalize()
    return json.dumps({"format": fmt, "cipher": "SM4-GCM",
                       "nonce": base64.b64encode(nonce).decode(),
                       "tag": base64.b64encode(enc.tag).decode(),
                       "ciphertext": base64.b64encode(body).decode()}, indent=1).encode() + b"\n"


def _open_sealed(key: bytes, aad: bytes, raw: bytes) -> dict[str, Any]:
    """Decrypt one sealed file (ValueError/KeyError/TypeError: not one; InvalidTag: tampered)."""
    outer = json.loads(raw)
    nonce = base64.b64decode(outer["nonce"])
    tag = base64.b64decode(outer["tag"])
    body = base64.b64decode(outer["ciphertext"])
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    data: dict[str, Any] = json.loads(dec.update(body) + dec.finalize())
    return data


def read_bundle(path: Path, key: bytes) -> dict[str, Any]:
    """The decrypted bundle (its ``counter`` is 0 for bundles written before counters)."""
    try:
        raw = read_regular(path, max_bytes=MAX_BUNDLE_BYTES)
    except FileNotFoundError:
        raise InputError(f"no credentials bundle at {path}", hint="check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}",
                         hint="pass a .gcb file written by `govcloud apply`") from exc
    try:
        data = _open_sealed(key, _aad(path), raw)
    except InvalidTag as exc:
        raise IntegrityError(f"{path} does not decrypt with this key (wrong key, renamed or "
                             "modified file)", hint="use the key apply used") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a govcloud credentials bundle ({exc})",
                         hint="pass a .gcb file written by `govcloud apply`") from exc
    data.setdefault("counter", 0)
    return data


def counter_record_path(path: Path, counters: Path | None = None) -> Path:
    """Where the state folder keeps the counter of the bundle at ``path`` (by its real path)."""
    real = os.path.realpath(path)
    name = hashlib.sha256(real.encode()).hexdigest()[:32]
    return (counters or state_dir() / COUNTERS_DIR) / f"{path.stem}.{name}.ctr"


def _record_aad(path: Path) -> bytes:
    return f"{COUNTER_FORMAT}:{os.path.realpath(path)}".encode()


def recorded_counter(path: Path, key: bytes, counters: Path | None = None) -> int | None:
    """The counter the state folder last recorded for this bundle (None: no record)."""
    record = counter_record_path(path, counters)
    try:
        raw = read_regular(record, max_bytes=4096)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IntegrityError(f"cannot read the counter record {record} of {path}: "
                             f"{exc.strerror or exc}", hint="check the state folder") from exc
    try:
        return int(_open_sealed(key, _record_aad(path), raw)["counter"])
    except (InvalidTag, ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"the counter record {record} of {path} does not verify with this "
                             "key (modified, or made for another bundle)",
                             hint="restore the state folder from a backup") from exc


def check_rollback(path: Path, key: bytes, data: dict[str, Any],
                   counters: Path | None = None) -> int | None:
    """Raise IntegrityError if ``data`` (read from ``path``) is older than its record.

    Returns the recorded counter, or None when this state folder has no record of the bundle.
    """
    recorded = recorded_counter(path, key, counters)
    if recorded is not None and int(data.get("counter", 0)) < recorded:
        raise IntegrityError(
            f"{path} is an older copy of the bundle (its counter is {data.get('counter', 0)}, "
            f"the state folder recorded {recorded}): it was rolled back",
            hint="restore the newest copy from a backup; do not apply over this one")
    return recorded


def record_counter(path: Path, key: bytes, counter: int, counters: Path | None = None) -> None:
    """Record ``counter`` as the newest known for the bundle at ``path`` (never lowers it)."""
    record = counter_record_path(path, counters)
    record.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    payload = {"counter": counter, "bundle": os.path.realpath(path)}
    write_atomic(record, _seal_with(key, _record_aad(path), COUNTER_FORMAT, payload),
                 secret=True)


def put_password(directory: Path, key: bytes, department: str, tenant: str, user: str,
                 password: str, *, counters: Path | None = None) -> Path:
    """Add or replace one user's initial password; atomic, fsynced, 0600, serialized.

    Refuses (IntegrityError) a bundle rolled back to an older copy, a bundle the state folder
    has no record of (not adopted), and a missing bundle the state folder has a record of.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = bundle_path(directory, department)
    lock = directory / f".{department}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = _current(path, key, department, counters)
        data["users"][f"{tenant}/{user}"] = {
            "tenant": tenant, "user": user, "password": password,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        data["counter"] = int(data["counter"]) + 1
        write_atomic(path, _seal(key, path, data), secret=True)
        # Bundle first, record second: a crash between leaves a bundle newer than its record,
        # which reads fine; the reverse order would leave a false rollback.
        record_counter(path, key, data["counter"], counters)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return path


def check_writable(directory: Path, key: bytes, department: str,
                   counters: Path | None = None) -> None:
    """Raise IntegrityError if ``put_password`` would refuse this department's bundle.

    ``apply`` calls it for every department before its first cloud call, so a rolled-back
    bundle stops the run (exit 4) before anything is created.
    """
    _current(bundle_path(directory, department), key, department, counters)


def _current(path: Path, key: bytes, department: str, counters: Path | None) -> dict[str, Any]:
    """The bundle's data to extend, after the rollback checks (see the module docstring)."""
    if os.path.lexists(path):
        data = read_bundle(path, key)
        if check_rollback(path, key, data, counters) is None and data["counter"] > 0:
            raise IntegrityError(
                f"{path} was written {data['counter']} time(s) but this state folder has "
                f"no counter record of it ({counter_record_path(path, counters)}): the "
                "record was deleted, or the bundle or state folder moved",
                hint="check the bundle is the newest copy, then adopt it with "
                     f"`govcloud credentials show {path} --adopt`")
        return data
    recorded = recorded_counter(path, key, counters)
    if recorded is not None:
        raise IntegrityError(
            f"{path} is missing but the state folder recorded it at counter {recorded}: "
            "the bundle was deleted",
            hint="restore it from a backup; if it was removed on purpose, delete "
                 f"{counter_record_path(path, counters)} too")
    return {"department": department, "users": {}, "counter": 0}


def new_password() -> str:
    return secrets.token_urlsafe(18)
