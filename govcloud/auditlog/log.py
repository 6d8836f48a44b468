"""Append and verify the audit log (see the package docstring for the design)."""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import getpass
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from govcloud import fsutil
from govcloud.errors import InputError
from govcloud.state import state_dir

GENESIS = "0" * 64
CHECKPOINT_EVERY = 100
KEY_ENV = "GOVCLOUD_AUDIT_KEY"


def _sm3_factory() -> Any:
    """A fresh SM3 hash object. OpenSSL's, through hashlib, when this Python's OpenSSL has SM3
    (copying a prepared object is about twice as fast as cryptography's ``hashes.Hash`` for
    short lines, which is what ``verify`` hashes); else cryptography's ``hashes.SM3``. Both are
    the same algorithm, checked against the GB/T 32905 test vector at import."""
    try:
        blank = hashlib.new("sm3")
    except ValueError:
        blank = None
    if blank is not None and blank.copy().hexdigest() == _SM3_EMPTY:
        return blank.copy

    class _Crypto:
        def __init__(self) -> None:
            self._h = hashes.Hash(hashes.SM3())

        def update(self, data: bytes) -> None:
            self._h.update(data)

        def hexdigest(self) -> str:
            return self._h.finalize().hex()

    return _Crypto


_SM3_EMPTY = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
_new_sm3 = _sm3_factory()


def sm3_hex(data: bytes) -> str:
    digest = _new_sm3()
    digest.update(data)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    digest = _new_sm3()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def default_log_path() -> Path:
    return state_dir() / "audit.log"


def generate_keypair(directory: Path) -> tuple[Path, Path]:
    """Write ``audit-signing.key`` (0600, PKCS8 PEM) and ``audit-signing.pub`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    private = directory / "audit-signing.key"
    public = directory / "audit-signing.pub"
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read the audit signing key {path}",
            hint="create one with `govcloud log keygen`",
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path} is not an Ed25519 private key", hint="use `govcloud log keygen`")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the public key {path}", hint="pass the .pub file") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path} is not an Ed25519 public key", hint="pass the .pub file")
    return key


def _sign(key: Ed25519PrivateKey, payload: Mapping[str, Any]) -> str:
    return base64.b64encode(key.sign(canonical(payload))).decode()


def _write_atomic(path: Path, data: bytes) -> None:
    fsutil.write_atomic(path, data, secret=True)


@dataclass
class AuditLog:
    path: Path = field(default_factory=default_log_path)
    key: Ed25519PrivateKey | None = None

    @classmethod
    def from_env(cls, path: Path | None = None) -> AuditLog:
        key_file = os.environ.get(KEY_ENV)
        return cls(
            path or default_log_path(), load_private_key(Path(key_file)) if key_file else None
        )

    @property
    def head_path(self) -> Path:
        return self.path.with_name(self.path.name + ".head")

    def append(
        self, command: str, inputs: Mapping[str, str], result: str, actor: str | None = None
    ) -> dict[str, Any]:
        """Append one entry: one write of whole lines, fsynced, under an exclusive lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last, seq = self._repair_and_tail(fd)
            entry: dict[str, Any] = {
                "seq": seq + 1,
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "actor": actor or _actor(),
                "command": command,
                "inputs": dict(sorted(inputs.items())),
                "result": result,
                "prev": sm3_hex(last) if last else GENESIS,
            }
            lines = [canonical(entry)]
            if self.key is not None and entry["seq"] % CHECKPOINT_EVERY == 0:
                checkpoint: dict[str, Any] = {
                    "seq": entry["seq"] + 1,
                    "type": "checkpoint",
                    "prev": sm3_hex(lines[0]),
                }
                checkpoint["sig"] = _sign(self.key, checkpoint)
                lines.append(canonical(checkpoint))
            os.write(fd, b"".join(line + b"\n" for line in lines))
            os.fsync(fd)
            if self.key is not None:
                final = json.loads(lines[-1])
                head = {"seq": final["seq"], "hash": sm3_hex(lines[-1])}
                head["sig"] = _sign(self.key, head)
                _write_atomic(self.head_path, canonical(head) + b"\n")
            return entry
        finally:
            os.close(fd)

    def _repair_and_tail(self, fd: int) -> tuple[bytes, int]:
        """The last complete line and its seq; a torn tail (crash mid-write) is set aside."""
        size = os.fstat(fd).st_size
        if size == 0:
            return b"", 0
        with open(self.path, "rb") as handle:
            data = handle.read()
        if not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            torn = self.path.with_name(self.path.name + ".torn")
            with open(torn, "ab") as handle:
                handle.write(data[cut:] + b"\n")
            os.ftruncate(fd, cut)
            data = data[:cut]
        lines = data.splitlines()
        if not lines:
            return b"", 0
        try:
            return lines[-1], int(json.loads(lines[-1])["seq"])
        except (ValueError, KeyError, TypeError):
            return lines[-1], len(lines)


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def append(
    command: str,
    inputs: Iterable[str | os.PathLike[str]] = (),
    result: Any = None,
    path: Path | None = None,
) -> dict[str, Any] | None:
    """Record one command: SM3 digests of its input files and of its result (JSON)."""
    digests: dict[str, str] = {}
    for item in inputs:
        p = Path(item)
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            try:
                digests[str(f)] = file_digest(f)
            except OSError:
                digests[str(f)] = "unreadable"
    return AuditLog.from_env(path).append(command, digests, sm3_hex(canonical(result)))


@dataclass(frozen=True, slots=True)
class VerifyResult:
    entries: int
    checkpoints: int
    problem: str | None  # the first bad entry, in words; None when intact
    line: int | None = None
    head_checked: bool = False

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(path: Path, public_key: Ed25519PublicKey | None = None) -> VerifyResult:
    """Walk the chain; with a public key also check checkpoints and the signed head."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", hint="check the path") from exc
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        lines.pop()  # a torn final line (crash mid-write) is not an entry
    prev_raw = b""
    expected_prev = GENESIS.encode()
    checkpoints = 0
    new_sm3 = _new_sm3
    for number, raw in enumerate(lines, start=1):
        # Lines are canonical JSON (sorted keys, no spaces), so seq and prev are read straight
        # from the bytes; every byte of every line is still covered by the next line's hash or
        # by the signed head. Only checkpoints (signed) are fully parsed. This is the hot loop
        # of `log verify` (bench/audit.py): the fast path only checks that the expected seq
        # and prev are where they belong; a line that fails it is parsed for the message.
        number_bytes = b"%d" % number
        at_seq = raw.rfind(b'"seq":') + 6
        at_prev = raw.rfind(b'"prev":"') + 8
        end = at_seq + len(number_bytes)
        if not (at_seq >= 6 and at_prev >= 8 and raw.startswith(number_bytes, at_seq)
                and raw[end:end + 1] in (b",", b"}")
                and raw[at_prev:at_prev + 64] == expected_prev
                and raw[at_prev + 64:at_prev + 65] == b'"'):
            seq, prev = _seq_prev(raw)
            if seq is None or prev is None:
                problem = f"line {number} is not a log entry"
                return VerifyResult(number - 1, checkpoints, problem, number)
            if seq != number:
                problem = (f"line {number}: sequence {seq}, expected {number} (a line was "
                           "deleted, inserted or moved)")
                return VerifyResult(number - 1, checkpoints, problem, number)
            return VerifyResult(number - 1, checkpoints, f"line {number} (seq {seq}): hash "
                                "chain broken (this or the previous line was changed)", number)
        if b'"type":"checkpoint"' in raw:
            checkpoints += 1
            try:
                entry = json.loads(raw)
            except ValueError:
                entry = {}
            if public_key is not None and not _signature_ok(public_key, entry):
                return VerifyResult(number - 1, checkpoints, f"line {number} (seq {number}): "
                                    "checkpoint signature does not verify", number)
        prev_raw = raw
        digest = new_sm3()
        digest.update(raw)
        expected_prev = digest.hexdigest().encode()
    head_path = path.with_name(path.name + ".head")
    if public_key is not None:
        if not head_path.exists():
            return VerifyResult(
                len(lines),
                checkpoints,
                f"no signed head {head_path.name}: the tail cannot be checked",
                None,
            )
        try:
            head = json.loads(head_path.read_bytes())
        except ValueError:
            return VerifyResult(len(lines), checkpoints, "the signed head is unreadable", None)
        if not _signature_ok(public_key, head):
            return VerifyResult(len(lines), checkpoints, "the head signature does not verify", None)
        if head.get("seq") != len(lines) or head.get("hash") != (
            sm3_hex(prev_raw) if prev_raw else GENESIS
        ):
            return VerifyResult(
                len(lines),
                checkpoints,
                f"the log ends at seq {len(lines)} but "
                f"the signed head says {head.get('seq')} (tail truncated or "
                "replaced)",
                len(lines),
            )
        return VerifyResult(len(lines), checkpoints, None, None, head_checked=True)
    return VerifyResult(len(lines), checkpoints, None)


_DIGITS = re.compile(rb"[0-9]+(?=[,}])")
_HEX64 = re.compile(rb'[0-9a-f]{64}(?=")')


def _seq_prev(raw: bytes) -> tuple[int | None, bytes | None]:
    """``seq`` and ``prev`` of a canonical line, from the *last* occurrence of each key.

    Canonical lines sort their keys, and nothing after "prev" or "seq" can hold an unescaped
    quote, so the last occurrence is the entry's own field, never a look-alike inside ``inputs``.
    """
    at = raw.rfind(b'"seq":')
    seq = _DIGITS.match(raw, at + 6) if at >= 0 else None
    at = raw.rfind(b'"prev":"')
    prev = _HEX64.match(raw, at + 8) if at >= 0 else None
    return (int(seq.group()) if seq else None), (prev.group() if prev else None)


def _signature_ok(key: Ed25519PublicKey, signed: Mapping[str, Any]) -> bool:
    payload = {k: v for k, v in signed.items() if k != "sig"}
    try:
        key.verify(base64.b64decode(signed.get("sig", "")), canonical(payload))
    except (InvalidSignature, ValueError):
        return False
    return True
