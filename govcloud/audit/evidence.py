"""Evidence bundles: what an assessor gets, and can check was not edited afterwards.

``govcloud audit --evidence DIR`` writes into an empty folder:

===========================  =====================================================================
``report.json``              the audit report (the JSON contract)
``report.html``              the same report for people
``report.<fmt>``             the report in ``--format`` too, when that is another format
``inputs.json``              SM3 of every input file, and of the cloud snapshot
``cloud-snapshot.json``      the Cloud* documents read from the cloud (when a cloud was audited)
``hardening-latest.json``    the hardening results the report used (when there were some)
``audit-log.jsonl``          the audit-log segment ending with this audit's own entry
``manifest.json``            SM3 of each file above, the log entry's seq and hash, the public key
                             (PEM), its algorithm and fingerprint
``manifest.sig``             signature of ``manifest.json``'s bytes (base64): SM2 with SM3 and ID
                             1234567812345678 by default, or Ed25519 (bundles written before SM2
                             carry a raw Ed25519 key and still verify)
===========================  =====================================================================

``verify_bundle`` checks the signature (against the given keys: ``--key``, or the inventory's
``evidence`` role keys; the embedded public key alone only proves the bundle is self-consistent,
not who made it), every file's SM3, that no file was added, that the log segment chains (each
line's ``prev`` is the SM3 of the line before), and that the audit's log entry recorded exactly
this ``report.json`` and these inputs.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from govcloud import __version__, signing
from govcloud.auditlog.log import canonical, sm3_hex
from govcloud.errors import InputError
from govcloud.fsutil import write_atomic

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
LOG_SEGMENT = "audit-log.jsonl"
SEGMENT_LINES = 100  # at least one signed checkpoint when the log is signed


def log_segment(log_path: Path, seq: int, lines: int = SEGMENT_LINES) -> bytes:
    """The log's lines up to and including ``seq`` (at most ``lines`` of them)."""
    data = log_path.read_bytes()
    kept: list[bytes] = []
    for raw in data.split(b"\n"):
        if not raw:
            continue
        kept.append(raw)
        if _seq(raw) == seq:
            return b"".join(line + b"\n" for line in kept[-lines:])
    raise InputError(f"{log_path} has no entry {seq}", hint="the log was rotated or replaced")


def _seq(raw: bytes) -> int | None:
    try:
        value = json.loads(raw).get("seq")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def write_bundle(
    dest: Path,
    files: Mapping[str, bytes],
    *,
    key: signing.SigningKey,
    inputs: Mapping[str, Any],
    log_entry: Mapping[str, Any] | None,
    log_path: Path | None,
    cloud: str | None,
) -> Path:
    """Write the bundle into ``dest`` (created; must be empty) and sign its manifest."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"evidence folder {dest} is not empty",
                         hint="give a new folder: a bundle never mixes with other files")
    dest.mkdir(parents=True, exist_ok=True, mode=0o755)
    contents = dict(files)
    contents["inputs.json"] = _json_bytes(inputs)
    audit_log = None
    if log_entry is not None and log_path is not None:
        segment = log_segment(log_path, int(log_entry["seq"]))
        contents[LOG_SEGMENT] = segment
        last = segment.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        audit_log = {"file": LOG_SEGMENT, "seq": log_entry["seq"], "entry_sm3": sm3_hex(last)}
    manifest = {
        "version": 1,
        "kind": "govcloud-evidence",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "govcloud": __version__,
        "command": "audit",
        "cloud": cloud,
        "files": {name: sm3_hex(data) for name, data in sorted(contents.items())},
        "audit_log": audit_log,
        "algorithm": key.algorithm,
        "public_key": key.public_pem(),
        "key_id": key.fingerprint,
    }
    for name, data in contents.items():
        _write(dest / name, data)
    manifest_bytes = _json_bytes(manifest)
    _write(dest / MANIFEST, manifest_bytes)
    _write(dest / SIGNATURE, base64.b64encode(key.sign(manifest_bytes)) + b"\n")
    return dest / MANIFEST


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def _write(path: Path, data: bytes) -> None:
    write_atomic(path, data, replace=False)  # a bundle file is written once, never replaced


def embedded_key(manifest: Mapping[str, Any]) -> signing.VerifyKey:
    """The manifest's public key: PEM (SM2 or Ed25519), or raw base64 Ed25519 (bundles written
    before SM2). Raises ValueError."""
    text = str(manifest["public_key"])
    if text.startswith("-----BEGIN"):
        return signing.load_verify_key(text)
    return signing.ed25519_verify_key_from_raw(base64.b64decode(text, validate=True))


def verify_bundle(folder: Path, public_key: signing.VerifyKey | None = None,
                  trusted: list[signing.VerifyKey] | None = None) -> list[str]:
    """Problems with the bundle in ``folder``, each naming the file (empty: intact).

    ``public_key``: the bundle must be signed by this key. ``trusted``: by one of these (the
    inventory's evidence role keys). Neither: the embedded key is used (self-consistency)."""
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder", hint="pass the --evidence folder")
    try:
        manifest_bytes = (folder / MANIFEST).read_bytes()
    except OSError:
        return [f"{MANIFEST}: missing; this is not an evidence bundle or it was gutted"]
    try:
        manifest = json.loads(manifest_bytes)
        signature = base64.b64decode((folder / SIGNATURE).read_bytes().strip(), validate=True)
        embedded = embedded_key(manifest)
    except OSError:
        return [f"{SIGNATURE}: missing"]
    except (ValueError, KeyError, TypeError):
        return [f"{MANIFEST} or {SIGNATURE}: unreadable (not what govcloud writes)"]
    key = public_key or embedded
    if public_key is not None and public_key.fingerprint != embedded.fingerprint:
        return [f"{MANIFEST}: signed with key {embedded.fingerprint[:16]}, not the given key "
                f"{public_key.fingerprint[:16]}"]
    if trusted is not None and public_key is None:
        matches = [k for k in trusted if k.fingerprint == embedded.fingerprint]
        if not matches:
            return [f"{MANIFEST}: signed with key {embedded.fingerprint[:16]}, which holds no "
                    "active evidence role in the inventory's signed roles"]
        key = matches[0]
    algorithm = manifest.get("algorithm", "ed25519")
    if algorithm != key.algorithm or not key.verify(manifest_bytes, signature):
        return [f"{MANIFEST}: the signature in {SIGNATURE} does not verify (the manifest or "
                "the signature was changed)"]
    problems = []
    listed = manifest.get("files") or {}
    for name, digest in sorted(listed.items()):
        path = folder / name
        if os.sep in name or name.startswith(".") or not path.is_file():
            problems.append(f"{name}: missing")
            continue
        actual = sm3_hex(path.read_bytes())
        if actual != digest:
            problems.append(f"{name}: changed (SM3 {actual[:16]}…, the manifest says "
                            f"{digest[:16]}…)")
    for path in sorted(folder.iterdir()):
        if path.name not in listed and path.name not in (MANIFEST, SIGNATURE):
            problems.append(f"{path.name}: not listed in the signed manifest (added later)")
    if problems:
        return problems
    return _check_log(folder, manifest)


def _check_log(folder: Path, manifest: Mapping[str, Any]) -> list[str]:
    info = manifest.get("audit_log")
    if not info:
        return []
    lines = [raw for raw in (folder / LOG_SEGMENT).read_bytes().split(b"\n") if raw]
    for number in range(1, len(lines)):
        prev = _field(lines[number], "prev")
        if prev != sm3_hex(lines[number - 1]):
            return [f"{LOG_SEGMENT}: line {number + 1} does not chain to the line before"]
    if not lines or sm3_hex(lines[-1]) != info.get("entry_sm3") or _seq(lines[-1]) != info["seq"]:
        return [f"{LOG_SEGMENT}: the last line is not the audit's entry seq {info.get('seq')}"]
    entry = json.loads(lines[-1])
    try:
        report = json.loads((folder / "report.json").read_bytes())
        inputs = json.loads((folder / "inputs.json").read_bytes())
    except (OSError, ValueError):
        return ["report.json or inputs.json: unreadable"]
    problems = []
    if entry.get("result") != sm3_hex(canonical(report)):
        problems.append(f"report.json: not the report the audit log recorded (seq {info['seq']})")
    if entry.get("inputs") != inputs.get("digests"):
        problems.append(f"inputs.json: not the inputs the audit log recorded (seq {info['seq']})")
    return problems


def _field(raw: bytes, name: str) -> str | None:
    try:
        value = json.loads(raw).get(name)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
