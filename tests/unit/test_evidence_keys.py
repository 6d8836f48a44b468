"""Evidence bundles: SM2 by default, signed by the evidence role (三员), old Ed25519 bundles
still verify."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from govcloud import signing
from govcloud.audit.evidence import MANIFEST, SIGNATURE, verify_bundle, write_bundle
from govcloud.cli.app import app
from tests.unit.keyring import make_keyring

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = [ROOT / "policies" / "fixtures" / "_base",
            ROOT / "policies" / "fixtures" / "GC-NET-001" / "fail.yaml"]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_cloud(monkeypatch):
    monkeypatch.delenv("OS_CLOUD", raising=False)


def bundle_with(tmp_path: Path, key: signing.SigningKey, name: str = "ev") -> Path:
    dest = tmp_path / name
    write_bundle(dest, {"report.json": b'{"version": 1}\n'}, key=key, inputs={"digests": {}},
                 log_entry=None, log_path=None, cloud=None)
    return dest


@pytest.mark.parametrize("algorithm", signing.ALGORITHMS)
def test_bundle_round_trip(tmp_path, algorithm):
    key = signing.generate(algorithm)
    dest = bundle_with(tmp_path, key)
    manifest = json.loads((dest / MANIFEST).read_text())
    assert manifest["algorithm"] == algorithm and manifest["key_id"] == key.fingerprint
    assert verify_bundle(dest) == []
    assert verify_bundle(dest, key.verify_key()) == []
    other = signing.generate(algorithm).verify_key()
    assert "not the given key" in verify_bundle(dest, other)[0]
    assert "holds no active evidence role" in verify_bundle(dest, None, [other])[0]
    # the algorithm is signed over too: claiming the other one fails
    (dest / MANIFEST).write_text((dest / MANIFEST).read_text().replace(
        f'"algorithm": "{algorithm}"', '"algorithm": "x"'))
    assert "does not verify" in verify_bundle(dest)[0]


def test_a_bundle_written_before_sm2_still_verifies(tmp_path):
    """The old manifest: raw base64 Ed25519 key, no algorithm field."""
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
    dest = tmp_path / "old"
    dest.mkdir()
    (dest / "report.json").write_bytes(b"{}\n")
    from govcloud.auditlog.log import sm3_hex

    manifest = {"version": 1, "kind": "govcloud-evidence", "files": {
        "report.json": sm3_hex(b"{}\n")}, "audit_log": None,
        "public_key": base64.b64encode(raw).decode(), "key_id": sm3_hex(raw)[:16]}
    data = (json.dumps(manifest, indent=2) + "\n").encode()
    (dest / MANIFEST).write_bytes(data)
    (dest / SIGNATURE).write_bytes(base64.b64encode(private.sign(data)) + b"\n")
    assert verify_bundle(dest) == []
    (dest / "report.json").write_bytes(b"[]\n")
    assert "report.json: changed" in verify_bundle(dest)[0]


def test_evidence_is_signed_by_the_evidence_role_only(tmp_path, monkeypatch):
    ring = make_keyring(tmp_path, monkeypatch)
    paths = [str(ring.inventory)]  # the inventory alone: its authority data, no request
    # the audit admin's key (or an approver's) cannot sign evidence
    wrong = runner.invoke(app, ["audit", *paths, "-o", "json", "--evidence",
                                str(tmp_path / "a"), "--key", str(ring.key_files["audit"])])
    assert wrong.exit_code == 2 and "holds role audit" in wrong.output
    assert not (tmp_path / "a").exists()
    monkeypatch.setenv("GOVCLOUD_EVIDENCE_KEY", str(ring.key_files["evidence"]))
    made = runner.invoke(app, ["audit", *paths, "-o", "json", "--evidence",
                               str(tmp_path / "b")])
    assert made.exit_code in (0, 1), made.output
    # no --key: checked against the inventory's evidence role keys
    ok = runner.invoke(app, ["evidence", "verify", str(tmp_path / "b")])
    assert ok.exit_code == 0 and "evidence role key" in ok.output, ok.output
    # a bundle re-signed by someone else's key, self-consistent, is refused
    forged = tmp_path / "b"
    data = (forged / MANIFEST).read_bytes()
    ops = ring.keys["ops"]
    manifest = json.loads(data)
    manifest["public_key"], manifest["key_id"] = ops.public_pem(), ops.fingerprint
    data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (forged / MANIFEST).write_bytes(data)
    (forged / SIGNATURE).write_bytes(base64.b64encode(ops.sign(data)) + b"\n")
    bad = runner.invoke(app, ["evidence", "verify", str(forged)])
    assert bad.exit_code == 4 and "holds no active evidence role" in bad.output
    # ... and the evidence holder leaving the role voids their key for new checks
    ring.write([d for d in ring.docs if d["spec"]["role"] != "evidence"])
    made = runner.invoke(app, ["audit", *paths, "--evidence", str(tmp_path / "c")])
    assert made.exit_code == 2 and "holds no role" in made.output


def test_a_missing_or_locked_evidence_key_stops_the_audit(tmp_path, monkeypatch):
    missing = runner.invoke(app, ["audit", *map(str, FIXTURES), "--evidence",
                                  str(tmp_path / "a"), "--key", str(tmp_path / "nope.key")])
    assert missing.exit_code == 3 and "does not exist" in missing.output
    key = tmp_path / "locked.key"
    key.write_bytes(signing.private_pem(signing.generate(), b"pw"))
    monkeypatch.delenv("GOVCLOUD_KEY_PASSPHRASE", raising=False)
    locked = runner.invoke(app, ["audit", *map(str, FIXTURES), "--evidence",
                                 str(tmp_path / "b"), "--key", str(key)])
    assert locked.exit_code == 3 and "encrypted" in locked.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_evidence_key_is_never_the_audit_log_key(tmp_path, monkeypatch):
    key = signing.generate()
    path, copy = tmp_path / "one.key", tmp_path / "copy.key"
    path.write_bytes(signing.private_pem(key, None))
    copy.write_bytes(signing.private_pem(key, b"pw"))  # the same key, re-encrypted elsewhere
    monkeypatch.setenv("GOVCLOUD_AUDIT_KEY", str(path))
    monkeypatch.setenv("GOVCLOUD_KEY_PASSPHRASE", "pw")
    for candidate in (path, copy):
        result = runner.invoke(app, ["audit", *map(str, FIXTURES), "--evidence",
                                     str(tmp_path / candidate.stem), "--key", str(candidate)])
        assert result.exit_code == 2 and "audit log's key" in result.output, result.output
        assert not (tmp_path / candidate.stem).exists()
