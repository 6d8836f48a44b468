"""Append to the audit log (see the package docstring for the design)."""

from __future__ import annotations

import base64
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import pwd
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from govcloud import fsutil, signing
from govcloud.auditlog.head import (  # canonical: approvals and evidence import it from here
    LEGACY_EVERY,
    Head,
    canonical,
    head_payload,
    read_head,
    record_problem,
    sign_record,
)
from govcloud.auditlog.witness import Witness, configured, latest
from govcloud.errors import ExecutionError, InputError, IntegrityError
from govcloud.state import state_dir

GENESIS = "0" * 64
# A signed checkpoint line follows every CHECKPOINT_EVERY-th line of a signed log. Logs signed
# before SM2 used 100 (their heads name no interval); new heads say "every": 1000, which keeps
# `log verify` above 100,000 entries per second with SM2 (about 2,000 verifications a second
# here). The signed head covers every byte anyway; checkpoints vouch for a prefix of the log
# when the head is lost.
CHECKPOINT_EVERY = 1000
LEGACY_CHECKPOINT_EVERY = LEGACY_EVERY
KEY_ENV = "GOVCLOUD_AUDIT_KEY"
# The interval of a log that starts now (then fixed: it is in every signed head).
EVERY_ENV = "GOVCLOUD_AUDIT_CHECKPOINT_EVERY"


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
    with os.fdopen(fsutil.open_regular(path), "rb") as handle:  # never a FIFO or device
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_log_path() -> Path:
    return state_dir() / "audit.log"


def new_log_interval() -> int:
    """``$GOVCLOUD_AUDIT_CHECKPOINT_EVERY`` (2 to 100000), else CHECKPOINT_EVERY."""
    value = os.environ.get(EVERY_ENV, "").strip()
    if not value:
        return CHECKPOINT_EVERY
    if not value.isdigit() or not 2 <= int(value) <= 100_000:
        raise InputError(f"${EVERY_ENV} is '{value}'", hint="use a whole number from 2 to 100000")
    return int(value)


def checkpoint_due(seq: int, first: int, every: int) -> bool:
    """Whether the line ``seq`` of a signed log must be a checkpoint: it follows every
    ``every``-th line written under the key (``first`` is the first such seq)."""
    return seq % every == 1 and seq > every and seq > first


# ------------------------------------------------------------------- keys


def keygen(directory: Path, algorithm: str = signing.DEFAULT_ALGORITHM,
           passphrase: bytes | None = None) -> tuple[Path, Path]:
    """Write ``audit-signing.key`` (0600, PKCS#8 PEM, encrypted with ``passphrase`` if given)
    and ``audit-signing.pub`` (SubjectPublicKeyInfo PEM) in ``directory``; never replace one."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = signing.generate(algorithm)
    private = directory / "audit-signing.key"
    public = directory / "audit-signing.pub"
    for path in (private, public):
        if path.exists() or path.is_symlink():
            raise InputError(f"{path} exists", hint="choose another folder; keys are not replaced")
    fsutil.write_atomic(private, signing.private_pem(key, passphrase), secret=True,
                        replace=False)
    fsutil.write_atomic(public, key.public_pem().encode(), replace=False)
    return private, public


def load_log_key(path: Path) -> signing.SigningKey:
    """The configured audit key; KeyUnusable (exit 3) when missing, unreadable or locked."""
    return signing.load_configured_key(path)


def load_verify_key_file(path: Path) -> signing.VerifyKey:
    try:
        pem = fsutil.read_regular(path, max_bytes=64 * 1024)
        return signing.load_verify_key(pem)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot use the public key {path}: {reason}",
                         hint="pass the audit key's .pub file (SM2 or Ed25519 PEM)") from exc


def as_verify_key(key: Any) -> signing.VerifyKey | None:
    """A signing.VerifyKey from what callers hold (also a cryptography Ed25519 public key)."""
    if key is None or isinstance(key, signing.VerifyKey):
        return key
    if isinstance(key, Ed25519PublicKey):
        return signing.load_verify_key(key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    raise TypeError(f"not a public key: {type(key).__name__}")


# Ed25519 helpers from before signing.py; approvals and evidence still call them.


def generate_keypair(directory: Path) -> tuple[Path, Path]:
    """Write an Ed25519 ``audit-signing.key`` (0600, PKCS8 PEM) and ``.pub`` in ``directory``."""
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


def _sign(key: Ed25519PrivateKey | signing.SigningKey, payload: Mapping[str, Any]) -> str:
    return base64.b64encode(key.sign(canonical(payload))).decode()


# ------------------------------------------------------------------- who


def actor_fields() -> dict[str, Any]:
    """Who runs this command, as the kernel knows it: the account of the effective uid (never
    ``$LOGNAME`` or ``$USER``, which the caller sets), and the login uid when the kernel's audit
    subsystem recorded one that differs (``sudo`` keeps it: the person behind root)."""
    euid = os.geteuid()
    try:
        name = pwd.getpwuid(euid).pw_name
    except KeyError:
        name = f"uid:{euid}"
    fields: dict[str, Any] = {"actor": name, "uid": euid}
    try:
        login = int(Path("/proc/self/loginuid").read_text().strip())
    except (OSError, ValueError):
        login = -1
    if 0 <= login < 0xFFFFFFFF and login != euid:
        fields["login_uid"] = login
    return fields


# ------------------------------------------------------------------- the file


def _line_ending_at(fd: int, end: int) -> bytes:
    """The line whose newline is the byte before ``end`` (without the newline)."""
    if end <= 0:
        return b""
    chunk = 4096
    start = end - 1
    buf = b""
    while start > 0:
        begin = max(0, start - chunk)
        buf = os.pread(fd, start - begin, begin) + buf
        start = begin
        cut = buf.rfind(b"\n")
        if cut >= 0:
            return buf[cut + 1:]
        chunk *= 2
    return buf


def _seq_of(line: bytes) -> int | None:
    try:
        value = json.loads(line).get("seq")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Tail:
    """Where the next entry goes, once the file has been checked against its signed head."""

    seq: int  # seq of the last vouched line (0: empty log)
    hash: str  # its SM3 (GENESIS for an empty log)
    size: int  # bytes that stay in the file
    first: int  # first seq written under a key
    every: int  # checkpoint interval
    torn: bytes = b""  # bytes newer than the signed head, to set aside (a crash mid-write)
    roll_forward: Head | None = None  # a pending head whose lines are all there (crash)


@dataclass
class AuditLog:
    path: Path = field(default_factory=default_log_path)
    key: signing.SigningKey | None = None
    witnesses: list[Witness] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what an append repaired, for the CLI
    identity: str | None = None  # who holds the key, from the inventory's roles ("signed_as")

    def __post_init__(self) -> None:
        key: Any = self.key
        if isinstance(key, Ed25519PrivateKey):  # callers from before signing.py
            self.key = signing.SigningKey("ed25519", key)

    @classmethod
    def from_env(cls, path: Path | None = None, key_path: Path | None = None) -> AuditLog:
        """The log as configured: ``key_path``, else ``$GOVCLOUD_AUDIT_KEY`` (a configured key
        that cannot be used raises KeyUnusable, exit 3); witnesses from the environment."""
        if key_path is None and os.environ.get(KEY_ENV):
            key_path = Path(os.environ[KEY_ENV])
        key = load_log_key(key_path) if key_path is not None else None
        return cls(path or default_log_path(), key, configured() if key is not None else [])

    @property
    def head_path(self) -> Path:
        return self.path.with_name(self.path.name + ".head")

    @property
    def pending_path(self) -> Path:
        return self.path.with_name(self.path.name + ".head.next")

    @property
    def torn_path(self) -> Path:
        return self.path.with_name(self.path.name + ".torn")

    # -------------------------------------------------------------- checks

    def check(self) -> None:
        """Everything an append would check, changing nothing: run before a command's work so
        that a log that cannot be extended stops the command before it does anything."""
        if self.key is not None:
            for witness in self.witnesses:
                witness.ensure_writable()
            folder = self.path.parent
            while not folder.exists() and folder != folder.parent:
                folder = folder.parent
            if not os.access(folder, os.W_OK):
                raise ExecutionError(f"cannot write the audit log in {self.path.parent}",
                                     hint="fix the state folder's owner and mode")
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            self._tail(None)
            return
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENXIO):
                raise  # permissions and the like: the caller says what that means
            raise IntegrityError(f"cannot open the audit log {self.path}: "
                                 f"{exc.strerror or exc}",
                                 hint="it must be a regular file, not a link; investigate") from exc
        try:
            self._regular(fd)
            fcntl.flock(fd, fcntl.LOCK_SH)
            self._tail(fd)
        finally:
            os.close(fd)

    def _regular(self, fd: int) -> None:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise IntegrityError(f"the audit log {self.path} is {fsutil.file_kind(mode)}",
                                 hint="it was replaced; investigate")

    def _tail(self, fd: int | None) -> Tail:
        if self.key is None:
            return self._unsigned_tail(fd)
        return self._signed_tail(fd, self.key.verify_key())

    def _unsigned_tail(self, fd: int | None) -> Tail:
        if self.head_path.exists() or self.head_path.is_symlink():
            raise signing.KeyUnusable(
                f"{self.path} is signed ({self.head_path.name} exists) but no audit key is "
                "configured: an unsigned entry would break its verification",
                hint=f"set {KEY_ENV} (or pass --audit-key) to the log's key")
        size = os.fstat(fd).st_size if fd is not None else 0
        if size == 0:
            return Tail(0, GENESIS, 0, 1, CHECKPOINT_EVERY)
        end = size
        last = os.pread(fd, 1, size - 1) if fd is not None else b"\n"
        torn = b""
        if last != b"\n":  # a torn last line (a crash mid-write): set aside
            line = _line_ending_at(fd, size + 1) if fd is not None else b""
            end = size - len(line)
            torn = line
        line = _line_ending_at(fd, end) if fd is not None else b""
        if end == 0:
            return Tail(0, GENESIS, 0, 1, CHECKPOINT_EVERY, torn)
        seq = _seq_of(line)
        if seq is None:
            raise IntegrityError(f"{self.path}: the last line is not a log entry",
                                 hint="the log was modified; run `govcloud log verify` and "
                                 "investigate before appending")
        return Tail(seq, sm3_hex(line), end, 1, CHECKPOINT_EVERY, torn)

    def _signed_tail(self, fd: int | None, key: signing.VerifyKey) -> Tail:
        log = self.path
        size = os.fstat(fd).st_size if fd is not None else 0
        head = read_head(self.head_path)
        witnessed = latest(self.witnesses, log)
        if witnessed is not None:
            problem = record_problem(key, witnessed[0].record)
            if problem:
                raise IntegrityError(f"the {witnessed[1]} holds a head of {log} that {problem}",
                                     hint="the witness was tampered with; investigate")
        if head is None:
            if witnessed is not None:
                raise IntegrityError(
                    f"{log}: no signed head {self.head_path.name}, but the {witnessed[1]} saw "
                    f"this log at seq {witnessed[0].seq}: the head (and log) were removed",
                    hint="restore them from a backup of the latest state, or investigate")
            return self._adopt(fd, size)
        problem = head.problem(key)
        if problem:
            raise IntegrityError(f"{self.head_path}: the signed head {problem}",
                                 hint=f"is {KEY_ENV} the log's key? if so, the head was "
                                 "forged; investigate")
        if fd is None:
            raise IntegrityError(f"{log} is missing, but its signed head says seq {head.seq}: "
                                 "the log was deleted", hint="restore it or investigate; "
                                 "govcloud does not start a new log over a signed head")
        if head.size is None:  # a head from before sizes were signed: find its line
            head = Head(head.seq, head.hash, _legacy_size(fd, head.seq), head.first,
                        head.record, head.every)
        assert head.size is not None
        self._match(fd, size, head.seq, head.hash, head.size, "its signed head")
        tail = Tail(head.seq, head.hash, head.size, head.first, head.every)
        if size > head.size:
            tail = self._after_head(fd, size, tail, key)
        if witnessed is not None:
            self._check_witness(fd, size, tail, *witnessed)
        return tail

    def _match(self, fd: int, size: int, seq: int, digest: str, end: int, what: str) -> None:
        """The line ending at byte ``end`` must be seq ``seq`` with SM3 ``digest``."""
        if size < end:
            raise IntegrityError(
                f"{self.path} is {size} bytes, but {what} says the log ends at byte {end} "
                f"(seq {seq}): entries were cut off or the file was shortened",
                hint="the log was modified; keep it as evidence and investigate")
        if end > 0 and os.pread(fd, 1, end - 1) != b"\n":
            raise IntegrityError(
                f"{self.path}: no line ends at byte {end}, where {what} says seq {seq} ends: "
                "the log was rewritten", hint="keep it as evidence and investigate; govcloud "
                "does not sign over it")
        line = _line_ending_at(fd, end)
        found_seq = _seq_of(line) if line else 0
        found_hash = sm3_hex(line) if line else GENESIS
        if found_seq != seq or found_hash != digest:
            raise IntegrityError(
                f"{self.path}: the line ending at byte {end} is seq {found_seq} with SM3 "
                f"{found_hash[:16]}…, but {what} says seq {seq} with SM3 {digest[:16]}…: "
                "the log was changed",
                hint="keep it as evidence and investigate; govcloud does not sign over it")

    def _after_head(self, fd: int, size: int, tail: Tail, key: signing.VerifyKey) -> Tail:
        """Bytes after the signed head: the lines of an append that crashed before its head
        was replaced (its pending head vouches for them), a torn line (set aside), or lines
        nobody vouches for (refused)."""
        pending = read_head(self.pending_path)
        if (pending is not None and pending.size == size and pending.seq > tail.seq
                and pending.problem(key) is None):
            self._match(fd, size, pending.seq, pending.hash, size, "the pending head")
            return Tail(pending.seq, pending.hash, size, pending.first, pending.every,
                        roll_forward=pending)
        extra = os.pread(fd, size - tail.size, tail.size)
        in_flight = (pending is not None and pending.seq > tail.seq and pending.size is not None
                     and pending.size > size and pending.problem(key) is None)
        # A torn write: one line without its newline, or (entry and checkpoint are one write)
        # the first part of a longer write that a signed pending head announced.
        if not extra.endswith(b"\n") and (b"\n" not in extra or in_flight):
            return Tail(tail.seq, tail.hash, tail.size, tail.first, tail.every, torn=extra)
        count = extra.count(b"\n")
        raise IntegrityError(
            f"{self.path}: {count} line(s) after the signed head (seq {tail.seq}, byte "
            f"{tail.size}) that no signature vouches for: entries were added by hand",
            hint="keep the log as evidence and investigate; govcloud does not sign over them")

    def _check_witness(self, fd: int, size: int, tail: Tail, witnessed: Head,
                       where: str) -> None:
        if witnessed.seq > tail.seq:
            raise IntegrityError(
                f"{self.path}: the {where} saw this log at seq {witnessed.seq}, but the log and "
                f"its signed head end at seq {tail.seq}: an older copy was put back, or the "
                "end was cut off together with the head",
                hint="keep it as evidence and investigate; restore the latest copy")
        end = witnessed.size if witnessed.size is not None else None
        if witnessed.seq == tail.seq:
            if witnessed.hash != tail.hash:
                raise IntegrityError(
                    f"{self.path}: seq {tail.seq} has SM3 {tail.hash[:16]}…, but the {where} "
                    f"saw {witnessed.hash[:16]}…: the log was rewritten and signed again",
                    hint="the audit key was used to rewrite history; investigate")
            return
        if end is not None:
            self._match(fd, size, witnessed.seq, witnessed.hash, end, f"the {where}")

    def _adopt(self, fd: int | None, size: int) -> Tail:
        """A log with no head: new, or kept without a key until now (signed from here on)."""
        if fd is None or size == 0:
            return Tail(0, GENESIS, 0, 1, new_log_interval())
        data = os.pread(fd, size, 0)
        if b'"type":"checkpoint"' in data or b'"signer":"' in data:
            raise IntegrityError(
                f"{self.path} holds signed entries but its signed head "
                f"{self.head_path.name} is missing: it was deleted",
                hint="restore it from a backup or investigate; govcloud does not re-sign a log "
                "whose head is gone")
        tail = self._unsigned_tail(fd)
        return Tail(tail.seq, tail.hash, tail.size, tail.seq + 1, new_log_interval(), tail.torn)

    # -------------------------------------------------------------- append

    def append(
        self, command: str, inputs: Mapping[str, str], result: str, actor: str | None = None,
        gate: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append one entry, after checking the file against its signed head and witnesses.

        Signed: the new head is first written as ``.head.next``, then the lines (one write,
        fsynced), then the head is replaced and the witnesses told; a crash at any point leaves
        a log that the next append either finishes (pending head) or sets a torn line aside."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not os.path.lexists(self.path):
            self._tail(None)  # a signed log that is gone is refused, not started afresh
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
                         | os.O_CLOEXEC | os.O_NONBLOCK, 0o600)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENXIO):
                raise IntegrityError(f"the audit log {self.path} is not a regular file",
                                     hint="it was replaced by a link or device; "
                                     "investigate") from exc
            raise
        try:
            self._regular(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
            tail = self._tail(fd)
            if tail.torn:
                self._set_aside(fd, tail)
            if tail.roll_forward is not None:
                self._commit_head(tail.roll_forward.record)
                self.notes.append(f"{self.path}: finished an append interrupted before its "
                                  f"head was written (seq {tail.seq})")
            return self._write(fd, tail, command, inputs, result, actor, gate)
        finally:
            os.close(fd)

    def _set_aside(self, fd: int, tail: Tail) -> None:
        torn_fd = os.open(self.torn_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
                          | os.O_CLOEXEC, 0o600)
        try:
            os.write(torn_fd, tail.torn + b"\n")
            os.fsync(torn_fd)
        finally:
            os.close(torn_fd)
        os.ftruncate(fd, tail.size)
        os.fsync(fd)
        self.notes.append(f"{self.path}: set aside {len(tail.torn)} byte(s) of a torn last line "
                          f"after seq {tail.seq} into {self.torn_path.name}")

    def _write(self, fd: int, tail: Tail, command: str, inputs: Mapping[str, str],
               result: str, actor: str | None,
               gate: Mapping[str, Any] | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "seq": tail.seq + 1,
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            **actor_fields(),
            "command": command,
            "inputs": dict(sorted(inputs.items())),
            "result": result,
            "prev": tail.hash,
        }
        if actor is not None:  # tests and tools name a fixed actor
            entry["actor"] = actor
        if gate:  # the gate's settings in clear, for the officer who reads the log (no secrets)
            entry["gate"] = dict(gate)
        lines = [canonical(entry)]
        first = tail.first if tail.seq else 1
        if self.key is not None:
            entry["signer"] = self.key.fingerprint[:16]  # the full one is in every head
            if self.identity:
                entry["signed_as"] = self.identity
            lines = [canonical(entry)]
            if checkpoint_due(entry["seq"] + 1, first, tail.every):
                checkpoint = sign_record(self.key, {"seq": entry["seq"] + 1,
                                                    "type": "checkpoint",
                                                    "prev": sm3_hex(lines[0])})
                lines.append(canonical(checkpoint))
        data = b"".join(line + b"\n" for line in lines)
        head: dict[str, Any] | None = None
        if self.key is not None:
            payload = head_payload(entry["seq"] + len(lines) - 1, sm3_hex(lines[-1]),
                                   tail.size + len(data), first)
            payload["every"] = tail.every
            head = sign_record(self.key, payload)
            fsutil.write_atomic(self.pending_path, canonical(head) + b"\n", secret=True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        if head is not None:
            self._commit_head(head)
        return entry

    def _commit_head(self, head: dict[str, Any]) -> None:
        fsutil.write_atomic(self.head_path, canonical(head) + b"\n", secret=True)
        try:
            os.unlink(self.pending_path)
        except FileNotFoundError:
            pass
        for witness in self.witnesses:
            witness.add(self.path, head)

    def record(self, command: str, inputs: Iterable[str | os.PathLike[str]] = (),
               result: Any = None) -> dict[str, Any]:
        """Append one command: SM3 digests of its input files and of its result (JSON)."""
        return self.append(command, input_digests(inputs), sm3_hex(canonical(result)))


def _legacy_size(fd: int, seq: int) -> int:
    """Where line ``seq`` ends (heads written before sizes were signed)."""
    size = os.fstat(fd).st_size
    data = os.pread(fd, size, 0)
    offset = 0
    for _ in range(seq):
        cut = data.find(b"\n", offset)
        if cut < 0:
            return size + 1  # fewer lines than the head says: reported as cut off
        offset = cut + 1
    return offset


def input_digests(inputs: Iterable[str | os.PathLike[str]]) -> dict[str, str]:
    digests: dict[str, str] = {}
    for item in inputs:
        p = Path(item)
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            try:
                digests[str(f)] = file_digest(f)
            except OSError:
                digests[str(f)] = "unreadable"
    return digests


def append(
    command: str,
    inputs: Iterable[str | os.PathLike[str]] = (),
    result: Any = None,
    path: Path | None = None,
) -> dict[str, Any] | None:
    """Record one command in the log configured by the environment."""
    return AuditLog.from_env(path).record(command, inputs, result)
