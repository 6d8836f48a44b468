"""Verify the audit log: the chain, and with the audit public key its checkpoints, its signed
head and its witnesses (see the package docstring and docs/audit-log.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govcloud.auditlog.head import Head, read_head, record_problem
from govcloud.auditlog.log import (
    GENESIS,
    _new_sm3,
    as_verify_key,
    sm3_hex,
)
from govcloud.auditlog.witness import Witness, latest
from govcloud.errors import InputError, IntegrityError
from govcloud.fsutil import NotRegularFileError, read_regular
from govcloud.signing import VerifyKey


@dataclass(frozen=True, slots=True)
class VerifyResult:
    entries: int
    checkpoints: int
    problem: str | None  # the first bad entry, in words; None when intact
    line: int | None = None
    head_checked: bool = False
    witness_checked: bool = False
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class _Walk:
    lines: int = 0
    checkpoints: int = 0
    last_hash: str = GENESIS
    problem: str | None = None
    line: int | None = None
    ends: dict[int, tuple[int, str]] | None = None  # seq -> (end byte, SM3) of wanted lines


def verify(path: Path, public_key: Any = None, witnesses: Sequence[Witness] = ()) -> VerifyResult:
    """Walk the chain; with a public key also check checkpoints (required at the head's
    interval), every line's shape, the signed head and the witnesses' latest head."""
    key = as_verify_key(public_key)
    head_path = path.with_name(path.name + ".head")
    pending_path = path.with_name(path.name + ".head.next")
    try:
        data = read_regular(path)
    except FileNotFoundError:
        return _missing(path, head_path, witnesses, key)
    except OSError as exc:
        if isinstance(exc, NotRegularFileError) and head_path.exists():
            return VerifyResult(0, 0, f"the log is {exc.strerror}, not a file, next to its "
                                f"signed head {head_path.name}: it was replaced")
        raise InputError(f"cannot read {path}: {exc.strerror or exc}",
                         hint="pass the audit log (a regular file)") from exc
    notes: list[str] = []
    head = pending = None
    if key is not None:
        try:
            head = read_head(head_path)
            pending = read_head(pending_path)
        except IntegrityError as exc:
            return VerifyResult(0, 0, exc.message)
        if head is None:
            return VerifyResult(0, 0, f"no signed head {head_path.name}: the end of the log "
                                "cannot be checked (deleted?)")
        problem = head.problem(key)
        if problem:
            return VerifyResult(0, 0, f"the signed head {problem}")
    elif head_path.exists():
        notes.append(f"the log has a signed head ({head_path.name}): pass --key to check it and "
                     "the checkpoints")
    witnessed = latest(witnesses, path) if witnesses else None
    if witnessed is not None and key is not None:
        problem = record_problem(key, witnessed[0].record)
        if problem:
            return VerifyResult(0, 0, f"the {witnessed[1]} holds a head of this log that "
                                f"{problem} (the witness was tampered with)")
    if (head is not None and pending is not None and key is not None
            and head.size is not None and pending.size is not None
            and head.size < len(data) < pending.size and pending.seq > head.seq
            and not data.endswith(b"\n") and pending.problem(key) is None):
        notes.append(f"an append (seq {pending.seq}) was interrupted mid-write: its "
                     f"{len(data) - head.size} bytes after the signed head are not entries yet; "
                     "the next append sets them aside")
        data = data[:head.size]
    wanted = {h.seq for h in (head, pending, witnessed[0] if witnessed else None) if h}
    first = head.first if head is not None else 1
    every = head.every if head is not None else 0
    complete = data.rfind(b"\n") + 1
    lines = data[:complete].split(b"\n")
    lines.pop()
    walk = _walk(lines, key, first, every, wanted)
    if walk.problem is not None:
        return VerifyResult(walk.lines, walk.checkpoints, walk.problem, walk.line)
    if complete < len(data):
        notes.append(f"a torn last line ({len(data) - complete} bytes, a crash mid-write) is "
                     "not an entry and was ignored")
    assert walk.ends is not None
    if head is None:
        return _with_witness(walk, witnessed, None, notes)
    problem = _against(head, walk, "the signed head", complete)
    if problem is not None and pending is not None and pending.seq > head.seq:
        assert key is not None
        if (pending.problem(key) is None
                and _against(pending, walk, "the pending head", complete) is None):
            notes.append(f"the last append (seq {pending.seq}) was interrupted before its head "
                         "was replaced; its pending head is signed and matches")
            head, problem = pending, None
    if problem is not None:
        return VerifyResult(walk.lines, walk.checkpoints, problem, min(head.seq, walk.lines) + 1)
    return _with_witness(walk, witnessed, head, notes)


def _against(head: Head, walk: _Walk, what: str, complete: int) -> str | None:
    assert walk.ends is not None
    found = walk.ends.get(head.seq)
    if found is None:
        return (f"the log ends at seq {walk.lines}, but {what} says seq {head.seq} "
                "(entries were cut off, or an older copy was put back)")
    end, digest = found
    if digest != head.hash:
        return f"seq {head.seq} is not the line {what} signed (the log was rewritten)"
    if head.size is not None and end != head.size:
        return (f"seq {head.seq} ends at byte {end}, but {what} says byte {head.size} "
                "(lines were changed before it)")
    if walk.lines > head.seq:
        return (f"{walk.lines - head.seq} line(s) after {what} (seq {head.seq}) that no "
                "signature vouches for")
    return None


def _with_witness(walk: _Walk, witnessed: tuple[Head, str] | None, head: Head | None,
                  notes: list[str]) -> VerifyResult:
    checked = head is not None
    if witnessed is None:
        return VerifyResult(walk.lines, walk.checkpoints, None, None, checked, False,
                            tuple(notes))
    seen, where = witnessed
    assert walk.ends is not None
    found = walk.ends.get(seen.seq)
    if found is None:
        problem = (f"the {where} saw this log at seq {seen.seq}, but it ends at seq "
                   f"{walk.lines}: an older copy of the log (and head) was put back, or the end "
                   "was cut off")
        return VerifyResult(walk.lines, walk.checkpoints, problem, walk.lines)
    if found[1] != seen.hash or (seen.size is not None and found[0] != seen.size):
        problem = (f"seq {seen.seq} is not the line the {where} saw: the log was rewritten "
                   "(and signed again)")
        return VerifyResult(walk.lines, walk.checkpoints, problem, seen.seq)
    return VerifyResult(walk.lines, walk.checkpoints, None, None, checked, True, tuple(notes))


def _missing(path: Path, head_path: Path, witnesses: Sequence[Witness],
             key: VerifyKey | None) -> VerifyResult:
    if head_path.exists() or head_path.is_symlink():
        return VerifyResult(0, 0, f"the log is missing, but its signed head {head_path.name} "
                            "is there: the log was deleted")
    witnessed = latest(witnesses, path) if witnesses else None
    if witnessed is not None:
        return VerifyResult(0, 0, f"the log is missing, but the {witnessed[1]} saw it at seq "
                            f"{witnessed[0].seq}: log and head were deleted")
    raise InputError(f"cannot read {path}: no such file", hint="check the path (no log, no "
                     "head and no witness record: nothing was ever logged there)")


def _walk(lines: list[bytes], key: VerifyKey | None, first: int, every: int,
          wanted: set[int]) -> _Walk:
    """The hot loop of `log verify` (bench/audit.py). Lines are canonical JSON (sorted keys, no
    spaces), so seq and prev are read straight from the bytes; every byte of every line is
    still covered by the next line's hash or by the signed head. With a key, a line where a
    checkpoint is due must be one (parsed, its signature checked) and every other line must be
    an entry (``{"actor":...}``); a line that fails the fast checks is parsed for the message."""
    strict = key is not None
    expected_prev = GENESIS.encode()
    prev_field = b'"prev":"' + expected_prev + b'"'
    checkpoints = 0
    new_sm3 = _new_sm3
    next_due = _next_due(0, first, every) if strict else -1
    number = 0
    for number, raw in enumerate(lines, start=1):
        # The fields as canonical JSON writes them: quotes inside strings are escaped, so
        # '"seq":N,' and '"prev":"H"' can only be the entry's own keys; a key after "seq"
        # ("time", "sig"...) always follows it, hence the comma.
        if not (prev_field in raw and b'"seq":%d,' % number in raw
                and raw.startswith(b'{"') and raw.endswith(b"}")):
            return _Walk(number - 1, checkpoints, "", _diagnose(raw, number), number)
        if strict:
            if number == next_due:
                assert key is not None
                problem = _checkpoint_problem(raw, key)
                if problem is not None:
                    return _Walk(number - 1, checkpoints, "", f"line {number}: {problem}",
                                 number)
                checkpoints += 1
                next_due = _next_due(number, first, every)
            elif not raw.startswith(b'{"actor":'):
                what = ("a checkpoint out of place" if b'"type":"checkpoint"' in raw
                        else "not a log entry")
                return _Walk(number - 1, checkpoints, "", f"line {number} is {what}", number)
        elif b'"type":"checkpoint"' in raw:
            checkpoints += 1
        digest = new_sm3()
        digest.update(raw)
        expected_prev = digest.hexdigest().encode()
        prev_field = b'"prev":"' + expected_prev + b'"'
    ends: dict[int, tuple[int, str]] = {0: (0, GENESIS)}
    for seq in {*wanted, number}:
        if 0 < seq <= number:  # end byte and SM3 of the lines the head and witnesses name
            ends[seq] = (sum(map(len, lines[:seq])) + seq, sm3_hex(lines[seq - 1]))
    return _Walk(number, checkpoints, expected_prev.decode(), None, None, ends)


def _next_due(after: int, first: int, every: int) -> int:
    """The first line after ``after`` where a checkpoint is due (log.checkpoint_due)."""
    seq = after + 1
    seq += (1 - seq) % every  # the next seq with seq % every == 1
    while seq <= every or seq <= first:
        seq += every
    return seq


def _checkpoint_problem(raw: bytes, key: VerifyKey) -> str | None:
    try:
        entry = json.loads(raw)
    except ValueError:
        entry = None
    if not isinstance(entry, dict) or entry.get("type") != "checkpoint":
        return "a signed checkpoint is due here and is missing: lines were rewritten"
    problem = record_problem(key, entry)
    return f"checkpoint signature does not verify ({problem})" if problem else None


def _diagnose(raw: bytes, number: int) -> str:
    seq, prev = _seq_prev(raw)
    if seq is None or prev is None or raw[:2] != b'{"' or raw[-1:] != b"}":
        return f"line {number} is not a log entry"
    if seq != number:
        return (f"line {number}: sequence {seq}, expected {number} (a line was deleted, "
                "inserted or moved)")
    return f"line {number} (seq {seq}): hash chain broken (this or the previous line was changed)"


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


__all__ = ["VerifyResult", "sm3_hex", "verify"]
