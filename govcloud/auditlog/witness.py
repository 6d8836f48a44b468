"""Witnesses: copies of every signed head kept outside the state folder.

A signed head proves who wrote the log, not that it is the *latest* log: a copy of an older log
and its (genuinely signed) head verifies. A witness remembers how far the log has been, so a
restored older copy is caught (exit 4) by ``log verify`` and refused by the next append.

Two witnesses exist; each one configured is written after every signed append and read by
every check:

- **a file** (``$GOVCLOUD_WITNESS``; ``off`` disables it; unset: the system witness
  ``/var/log/govcloud/audit-witness.log`` when that file exists, else the account's own
  ``$XDG_DATA_HOME/govcloud/audit-witness.log`` (``~/.local/share/...``) outside the state
  folder): one JSON line per signed head, ``{"head": {...}, "log": "/abs/path/audit.log"}``. It
  is worth most when the people who can write the state folder cannot rewrite it: in production
  it belongs to another account (root), group-writable for the operators and marked append-only
  (``chattr +a``: only root can lift it), so an operator can add lines but not cut or change
  them. The account's own file catches a state folder put back from a copy (a restored backup,
  or someone who can write only the state folder), not its own account. A file given in
  ``$GOVCLOUD_WITNESS`` and the account's own file are created if missing; the system one is
  created by the administrator (docs/audit-log.md).
- **the system journal** (``$GOVCLOUD_WITNESS_JOURNAL``: ``auto``, the default, uses it when
  journald runs, i.e. ``/run/systemd/journal/socket`` exists; ``on`` requires it; ``off``):
  written with ``systemd-cat -t govcloud-audit-witness``, read back with ``journalctl -t``.
  Only root (or the journal's own retention) removes journal entries, and journald can forward
  them off the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from govcloud.auditlog.head import Head, canonical
from govcloud.errors import ExecutionError, IntegrityError
from govcloud.fsutil import read_regular

WITNESS_ENV = "GOVCLOUD_WITNESS"
JOURNAL_ENV = "GOVCLOUD_WITNESS_JOURNAL"
DEFAULT_WITNESS = Path("/var/log/govcloud/audit-witness.log")
JOURNAL_SOCKET = Path("/run/systemd/journal/socket")
JOURNAL_TAG = "govcloud-audit-witness"
_OFF = ("off", "none", "no", "0", "false")


def log_identity(log: Path) -> str:
    """How a witness names a log: its absolute path (a log deleted and started afresh at the
    same place is still the same log to the witness)."""
    return str(log.expanduser().absolute())


def witness_line(log: Path, head: dict[str, object]) -> bytes:
    return canonical({"head": head, "log": log_identity(log)}) + b"\n"


class Witness(Protocol):
    @property
    def name(self) -> str:
        """What the witness is, for messages."""

    def ensure_writable(self) -> None:
        """Raise ExecutionError (exit 3) when the witness cannot be written."""

    def add(self, log: Path, head: dict[str, object]) -> None:
        """Record a signed head of ``log``; raise ExecutionError when it cannot."""

    def records(self, log: Path) -> list[Head]:
        """Every head recorded for ``log``; IntegrityError on a line that is not a record."""


def _parse(lines: Iterable[bytes], log: Path, where: str) -> list[Head]:
    wanted = log_identity(log)
    found: list[Head] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError:
            item = None
        if not isinstance(item, dict) or not isinstance(item.get("log"), str):
            raise IntegrityError(f"{where} line {number} is not a witness record",
                                 hint="the witness was written by something else than govcloud; "
                                 "investigate")
        if item["log"] == wanted:
            found.append(Head.from_record(item.get("head"), f"{where} line {number}"))
    return found


@dataclass
class FileWitness:
    path: Path
    create: bool = False  # a file named in $GOVCLOUD_WITNESS is created if missing

    @property
    def name(self) -> str:
        return f"witness file {self.path}"

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            if self.create:
                flags |= os.O_CREAT
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            return os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise ExecutionError(
                f"cannot write the {self.name}: {exc.strerror or exc}",
                hint=f"the administrator creates it (docs/audit-log.md), or set {WITNESS_ENV} "
                "to a file you can append to (or to 'off')") from exc

    def ensure_writable(self) -> None:
        os.close(self._open())

    def add(self, log: Path, head: dict[str, object]) -> None:
        fd = self._open()
        try:
            os.write(fd, witness_line(log, head))
            os.fsync(fd)
        except OSError as exc:
            raise ExecutionError(f"cannot write the {self.name}: {exc.strerror or exc}",
                                 hint="check the disk and the file's mode") from exc
        finally:
            os.close(fd)

    def records(self, log: Path) -> list[Head]:
        try:
            data = read_regular(self.path)
        except FileNotFoundError:
            if self.create:
                return []
            raise IntegrityError(f"the {self.name} is missing",
                                 hint="it was deleted; investigate") from None
        except OSError as exc:
            raise ExecutionError(f"cannot read the {self.name}: {exc.strerror or exc}",
                                 hint="it must be a readable regular file") from exc
        lines = data.split(b"\n")
        lines.pop()  # "" after the final newline, or a torn last line (a crash mid-write)
        return _parse(lines, log, self.name)


@dataclass
class JournalWitness:
    name: str = "system journal (journald)"

    def _run(self, argv: list[str], data: bytes | None = None) -> bytes:
        tool = shutil.which(argv[0])
        if tool is None:
            raise ExecutionError(f"the {self.name} witness needs {argv[0]}, not found",
                                 hint=f"install systemd, or set {JOURNAL_ENV}=off")
        try:
            done = subprocess.run([tool, *argv[1:]], input=data, capture_output=True,
                                  timeout=30, check=False, env=_tool_env())
        except (OSError, subprocess.SubprocessError) as exc:
            raise ExecutionError(f"{argv[0]} failed: {type(exc).__name__}",
                                 hint=f"check journald, or set {JOURNAL_ENV}=off") from exc
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip()[:200]
            raise ExecutionError(f"{argv[0]} exited {done.returncode}: {message}",
                                 hint=f"check journald, or set {JOURNAL_ENV}=off")
        return done.stdout

    def ensure_writable(self) -> None:
        for tool in ("systemd-cat", "journalctl"):
            if shutil.which(tool) is None:
                raise ExecutionError(f"the {self.name} witness needs {tool}, not found",
                                     hint=f"install systemd, or set {JOURNAL_ENV}=off")

    def add(self, log: Path, head: dict[str, object]) -> None:
        self._run(["systemd-cat", "-t", JOURNAL_TAG, "-p", "notice"], witness_line(log, head))

    def records(self, log: Path) -> list[Head]:
        out = self._run(["journalctl", "-q", "--no-pager", "-o", "cat", "-t", JOURNAL_TAG])
        return _parse(out.split(b"\n"), log, self.name)


def _tool_env() -> dict[str, str]:
    """systemd's tools get a minimal environment (no cloud passwords or key passphrases)."""
    return {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}


def configured() -> list[Witness]:
    """The witnesses configured in the environment (see the module docstring)."""
    witnesses: list[Witness] = []
    value = os.environ.get(WITNESS_ENV, "").strip()
    if value.lower() not in _OFF:
        if value:
            witnesses.append(FileWitness(Path(value).expanduser(), create=True))
        elif DEFAULT_WITNESS.exists() or DEFAULT_WITNESS.is_symlink():
            witnesses.append(FileWitness(DEFAULT_WITNESS))
        else:
            own = account_witness()
            if own is not None:
                witnesses.append(FileWitness(own, create=True))
    journal = os.environ.get(JOURNAL_ENV, "auto").strip().lower()
    if journal == "on" or (journal not in _OFF and JOURNAL_SOCKET.exists()):
        witnesses.append(JournalWitness())
    return witnesses


def account_witness() -> Path | None:
    """The account's own witness file, or None when the account has no usable home (a
    service account with HOME=/nonexistent keeps no account witness)."""
    data = os.environ.get("XDG_DATA_HOME", "").strip()
    if data:
        folder = Path(data) / "govcloud"
    else:
        home = os.environ.get("HOME", "").strip()
        if not home or not Path(home).is_dir() or not os.access(home, os.W_OK):
            return None
        folder = Path(home) / ".local" / "share" / "govcloud"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return folder / "audit-witness.log"


def latest(witnesses: Iterable[Witness], log: Path) -> tuple[Head, str] | None:
    """The witnessed head of ``log`` with the highest seq, and which witness holds it."""
    best: tuple[Head, str] | None = None
    for witness in witnesses:
        for head in witness.records(log):
            if best is None or head.seq > best[0].seq:
                best = (head, witness.name)
    return best
