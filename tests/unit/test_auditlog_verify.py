"""The fast verify path: same answers and messages as a full parse, on every kind of change."""

import json

import pytest
from cryptography.hazmat.primitives import hashes

from govcloud import signing
from govcloud.auditlog import AuditLog, keygen, verify
from govcloud.auditlog import log as logmod
from govcloud.auditlog.head import sign_record
from govcloud.auditlog.log import sm3_hex


def test_sm3_matches_cryptography_and_the_standard_vector():
    reference = hashes.Hash(hashes.SM3())
    reference.update(b"abc")
    assert sm3_hex(b"abc") == reference.finalize().hex()
    assert sm3_hex(b"abc").startswith("66c7f0f462eeedd9")  # GB/T 32905-2016 A.1


def _log(tmp_path, n):
    private, public = keygen(tmp_path / "keys")
    key = signing.load_signing_key(private)
    log = AuditLog(tmp_path / "audit.log", key)
    for i in range(n):
        log.append("check", {f"in/{i}.yaml": "ab" * 32}, "cd" * 32, actor="t")
    return tmp_path / "audit.log", key, key.verify_key()


def test_each_change_names_its_line(tmp_path):
    path, _, public = _log(tmp_path, 6)
    original = path.read_bytes()
    lines = original.splitlines(keepends=True)
    cases = {
        "seq": (lines[0] + lines[1] + lines[3] + b"".join(lines[4:]), "line 3: sequence 4"),
        "prev": (b"".join(lines[:4]) + lines[4].replace(b'"prev":"', b'"prev":"0', 1)[:-1]
                 + b"\n" + lines[5], "line 5"),
        "byte": (b"".join(lines[:2]) + lines[2].replace(b'"actor":"t"', b'"actor":"u"')
                 + b"".join(lines[3:]), "line 4 (seq 4): hash chain broken"),
        "garbage": (lines[0] + b"not json\n" + b"".join(lines[2:]), "line 2 is not a log entry"),
    }
    for name, (data, expected) in cases.items():
        path.write_bytes(data)
        result = verify(path, public)
        assert not result.ok and expected in result.problem, (name, result.problem)
    path.write_bytes(original)
    assert verify(path, public).ok


def test_a_forged_checkpoint_signature_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr(logmod, "CHECKPOINT_EVERY", 5)
    path, _, public = _log(tmp_path, 7)
    lines = path.read_bytes().splitlines(keepends=True)
    index = 5  # the checkpoint follows line 5
    checkpoint = json.loads(lines[index])
    assert checkpoint["type"] == "checkpoint"
    forger = signing.generate()
    forged_record = sign_record(forger, {k: v for k, v in checkpoint.items()
                                         if k not in ("sig", "alg", "key")})
    forged_record["key"] = checkpoint["key"]  # claims the audit key; the signature is not its
    forged = json.dumps(forged_record, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    path.write_bytes(b"".join(lines[:index]) + forged + b"".join(lines[index + 1:]))
    result = verify(path, public)
    # The forged line's bytes differ, so the next line's hash link breaks too; the signature
    # check comes first and names the checkpoint.
    assert not result.ok and "checkpoint signature does not verify" in result.problem
    assert result.line == index + 1


@pytest.mark.parametrize("line", [b"", b"[]", b'{"actor":"x"', b'"prev":"' + b"0" * 64 + b'"'])
def test_lines_that_are_not_entries_are_named(tmp_path, line):
    path, _, public = _log(tmp_path, 3)
    data = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(data[0] + line + b"\n" + b"".join(data[1:]))
    result = verify(path, public)
    assert not result.ok and result.line == 2, result.problem
