"""Credentials bundles: the initial passwords of the users apply creates, SM4-GCM encrypted.

One bundle per department (``<dir>/<department>.gcb``, mode 0600). The plaintext never touches
disk: the whole JSON is encrypted with SM4 in GCM mode (cryptography) under a 128-bit key from a
file (``--credentials-key FILE``) or the ``GOVCLOUD_CREDENTIALS_KEY`` variable (32 hex digits).
The file name and format version are authenticated as associated data, so a bundle renamed to
another department does not decrypt. A password is written to the bundle *before* its user is
created: a crash in between leaves a bundle entry for a user that a re-run creates (with a new
password, replacing the entry), never a user whose password is lost.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from govcloud.errors import InputError, IntegrityError
from govcloud.fsutil import write_atomic

KEY_ENV = "GOVCLOUD_CREDENTIALS_KEY"
SUFFIX = ".gcb"
FORMAT = "govcloud-credentials/1"


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
    nonce = secrets.token_bytes(12)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(_aad(path))
    body = enc.update(json.dumps(payload, sort_keys=True).encode()) + enc.finalize()
    return json.dumps({"format": FORMAT, "cipher": "SM4-GCM",
                       "nonce": base64.b64encode(nonce).decode(),
                       "tag": base64.b64encode(enc.tag).decode(),
                       "ciphertext": base64.b64encode(body).decode()}, indent=1).encode() + b"\n"


def read_bundle(path: Path, key: bytes) -> dict[str, Any]:
    try:
        outer = json.loads(path.read_bytes())
        nonce = base64.b64decode(outer["nonce"])
        tag = base64.b64decode(outer["tag"])
        body = base64.b64decode(outer["ciphertext"])
    except FileNotFoundError:
        raise InputError(f"no credentials bundle at {path}", hint="check the path") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a govcloud credentials bundle ({exc})",
                         hint="pass a .gcb file written by `govcloud apply`") from exc
    try:
        dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        dec.authenticate_additional_data(_aad(path))
        plain = dec.update(body) + dec.finalize()
    except (InvalidTag, ValueError) as exc:
        raise IntegrityError(f"{path} does not decrypt with this key (wrong key, renamed or "
                             "modified file)", hint="use the key apply used") from exc
    data: dict[str, Any] = json.loads(plain)
    return data


def put_password(directory: Path, key: bytes, department: str, tenant: str, user: str,
                 password: str) -> Path:
    """Add or replace one user's initial password; atomic, fsynced, 0600, serialized."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = bundle_path(directory, department)
    lock = directory / f".{department}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data: dict[str, Any] = (read_bundle(path, key) if path.exists()
                                else {"department": department, "users": {}})
        data["users"][f"{tenant}/{user}"] = {
            "tenant": tenant, "user": user, "password": password,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        blob = _seal(key, path, data)
        write_atomic(path, blob, secret=True)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return path


def new_password() -> str:
    return secrets.token_urlsafe(18)
