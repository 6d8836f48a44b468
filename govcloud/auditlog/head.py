"""Signed records of the audit log: the head (``audit.log.head``), the pending head of an append
in flight (``audit.log.head.next``) and checkpoints.

A signed record is a JSON object whose ``sig`` is the signature (base64) of the canonical JSON of
every other field. Records made since SM2 also carry ``alg`` (``sm2`` or ``ed25519``) and ``key``
(the SM3 fingerprint of the signer's public key), both inside the signed bytes; records from
before carry neither and are Ed25519 (they still verify).

The head says where the signed log ends: ``seq`` and ``hash`` (SM3) of its last line, ``size``
(bytes of the file up to and including that line) and ``from`` (the first seq written under a
key: a log kept without a key and then given one is vouched for from that entry on).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govcloud.errors import IntegrityError
from govcloud.fsutil import read_regular
from govcloud.signing import SigningKey, VerifyKey

MAX_HEAD_BYTES = 64 * 1024
LEGACY_EVERY = 100  # the checkpoint interval of logs signed before heads named theirs


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_record(key: SigningKey, payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` plus ``alg``, ``key`` and ``sig`` (over everything but ``sig``)."""
    record = {k: v for k, v in payload.items() if k != "sig"}
    record["alg"] = key.algorithm
    record["key"] = key.fingerprint
    record["sig"] = base64.b64encode(key.sign(canonical(record))).decode()
    return record


def record_problem(key: VerifyKey, record: Mapping[str, Any]) -> str | None:
    """Why ``record`` is not signed by ``key``, in words; None when it is."""
    alg = record.get("alg", "ed25519")  # records from before SM2 name neither alg nor key
    if alg != key.algorithm:
        return f"signed with {alg}, but the key given is {key.algorithm}"
    signer = record.get("key")
    if signer is not None and signer != key.fingerprint:
        return (f"signed by key {str(signer)[:16]}, not by the key given "
                f"({key.fingerprint[:16]})")
    try:
        signature = base64.b64decode(str(record.get("sig", "")), validate=True)
    except (binascii.Error, ValueError):
        return "has a signature that is not base64"
    payload = {k: v for k, v in record.items() if k != "sig"}
    if not signature or not key.verify(canonical(payload), signature):
        return "has a signature that does not verify"
    return None


@dataclass(frozen=True, slots=True)
class Head:
    """A signed head as read from disk (not yet checked against any key)."""

    seq: int
    hash: str
    size: int | None  # None in heads written before the size was recorded
    first: int  # ``from``: first seq written under a key
    record: dict[str, Any]
    every: int = LEGACY_EVERY  # checkpoint interval (heads from before SM2: 100)

    @classmethod
    def from_record(cls, record: Any, where: str) -> Head:
        if not isinstance(record, dict):
            raise IntegrityError(f"{where} is not a signed head",
                                 hint="it was replaced; keep it as evidence and investigate")
        seq: Any
        seq, digest, size, first, every = (record.get("seq"), record.get("hash"),
                                           record.get("size"), record.get("from", 1),
                                           record.get("every", LEGACY_EVERY))
        if (not _count(seq) or not isinstance(digest, str) or len(digest) != 64
                or not (size is None or _count(size)) or not _count(first) or first < 1
                or not _count(every) or every < 2):
            raise IntegrityError(f"{where}: fields seq, hash, size, from or every are missing "
                                 "or malformed", hint="the head was modified; investigate")
        return cls(seq, digest, size, first, record, every)

    def problem(self, key: VerifyKey) -> str | None:
        return record_problem(key, self.record)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_head(path: Path) -> Head | None:
    """The head at ``path``; None when there is none. A file that is there but is not a head is
    an integrity failure (exit 4), never 'no head'."""
    try:
        data = read_regular(path, max_bytes=MAX_HEAD_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IntegrityError(f"cannot read the signed head {path}: {exc.strerror or exc}",
                             hint="it must be a regular file; investigate") from exc
    try:
        record = json.loads(data)
    except ValueError as exc:
        raise IntegrityError(f"{path} is not JSON", hint="the signed head was modified; "
                             "investigate") from exc
    return Head.from_record(record, str(path))


def head_payload(seq: int, digest: str, size: int, first: int) -> dict[str, Any]:
    return {"seq": seq, "hash": digest, "size": size, "from": first,
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")}
