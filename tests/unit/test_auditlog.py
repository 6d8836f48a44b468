"""The audit log verifies after normal use and fails (exit 4) on every kind of tampering."""

import json

import pytest
from typer.testing import CliRunner

from govcloud.auditlog import AuditLog, generate_keypair, verify
from govcloud.auditlog.log import CHECKPOINT_EVERY, load_private_key, load_public_key
from govcloud.cli.app import app


@pytest.fixture
def keys(tmp_path):
    private, public = generate_keypair(tmp_path / "keys")
    return load_private_key(private), load_public_key(public), public


def fill(path, key=None, n=5):
    log = AuditLog(path, key)
    for i in range(n):
        log.append("check", {f"inventory/{i}.yaml": "ab" * 32}, "cd" * 32, actor="tester")
    return path


def lines(path):
    return path.read_bytes().splitlines(keepends=True)


def test_intact_log_verifies_with_and_without_key(tmp_path, keys):
    private, public, _ = keys
    path = fill(tmp_path / "audit.log", private)
    assert verify(path).ok
    result = verify(path, public)
    assert result.ok and result.head_checked and result.entries == 5
    assert (tmp_path / "keys" / "audit-signing.key").stat().st_mode & 0o777 == 0o600


def test_checkpoints_are_signed_every_n_entries(tmp_path, keys):
    private, public, _ = keys
    path = fill(tmp_path / "audit.log", private, n=CHECKPOINT_EVERY + 1)
    result = verify(path, public)
    assert result.ok and result.checkpoints == 1
    checkpoint = json.loads(lines(path)[CHECKPOINT_EVERY])
    assert checkpoint["type"] == "checkpoint" and checkpoint["sig"]


def tamper_byte(path):
    data = lines(path)
    data[2] = data[2].replace(b"tester", b"Tester")
    path.write_bytes(b"".join(data))


def tamper_delete(path):
    data = lines(path)
    del data[1]
    path.write_bytes(b"".join(data))


def tamper_swap(path):
    data = lines(path)
    data[1], data[2] = data[2], data[1]
    path.write_bytes(b"".join(data))


def tamper_insert(path):
    data = lines(path)
    data.insert(2, data[2])
    path.write_bytes(b"".join(data))


def tamper_truncate(path):
    path.write_bytes(b"".join(lines(path)[:-1]))


@pytest.mark.parametrize("tamper", [tamper_byte, tamper_delete, tamper_swap, tamper_insert,
                                    tamper_truncate])
def test_tampering_is_detected(tmp_path, keys, tamper):
    private, public, _ = keys
    path = fill(tmp_path / "audit.log", private)
    tamper(path)
    result = verify(path, public)
    assert not result.ok, tamper.__name__


def test_forged_signature_is_detected(tmp_path, keys):
    private, public, _ = keys
    path = fill(tmp_path / "audit.log", private)
    head = tmp_path / "audit.log.head"
    data = json.loads(head.read_text())
    data["sig"] = data["sig"][:-4] + ("AAAA" if not data["sig"].endswith("AAAA") else "BBBB")
    head.write_text(json.dumps(data))
    assert "signature" in verify(path, public).problem
    other_private, other_public = generate_keypair(tmp_path / "other")
    assert not verify(path, load_public_key(other_public)).ok


def test_torn_last_line_is_set_aside_and_chain_stays_valid(tmp_path):
    path = fill(tmp_path / "audit.log")
    with path.open("ab") as handle:
        handle.write(b'{"seq": 6, "time": "half')  # a crash mid-write
    assert verify(path).ok  # the torn line is not an entry
    AuditLog(path).append("check", {}, "00" * 32, actor="tester")
    assert verify(path).ok and verify(path).entries == 6
    assert (tmp_path / "audit.log.torn").exists()


def test_cli_check_appends_and_log_verify_exit_codes(tmp_path, keys, monkeypatch):
    _, _, public = keys
    monkeypatch.setenv("GOVCLOUD_AUDIT_KEY", str(tmp_path / "keys" / "audit-signing.key"))
    runner = CliRunner()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "d.yaml").write_text("apiVersion: govcloud/v1\nkind: Department\nmetadata: {id: d}\n"
                                 "spec: {name: D, level: county, region: '390121'}\n")
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(docs))  # a Department is inventory data
    for _ in range(2):
        assert runner.invoke(app, ["check", str(docs), "-o", "json"]).exit_code == 0
    log = tmp_path / "state" / "audit.log"
    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path / "state"))
    assert runner.invoke(app, ["check", str(docs), "-o", "json"]).exit_code == 0
    entry = json.loads(lines(log)[0])
    assert entry["command"] == "check" and list(entry["inputs"]) == [str(docs / "d.yaml")]
    ok = runner.invoke(app, ["log", "verify", str(log), "--key", str(public)])
    assert ok.exit_code == 0, ok.output
    tamper_truncate(log)
    bad = runner.invoke(app, ["log", "verify", str(log), "--key", str(public)])
    assert bad.exit_code == 4 and "signed head" in bad.output
