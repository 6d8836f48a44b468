"""The audit log verifies after normal use, fails (exit 4) on every kind of tampering, and an
append never signs over what its signed head does not vouch for."""

import json
import os
import pwd
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govcloud import signing
from govcloud.auditlog import AuditLog, keygen, verify
from govcloud.auditlog import log as logmod
from govcloud.auditlog.head import canonical, sign_record
from govcloud.auditlog.log import GENESIS, _sign, sm3_hex
from govcloud.auditlog.witness import FileWitness
from govcloud.cli.app import app
from govcloud.errors import IntegrityError
from tests.unit.helpers import rechain

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keys(tmp_path):
    private, public = keygen(tmp_path / "keys")
    key = signing.load_signing_key(private)
    return key, key.verify_key(), public


@pytest.fixture
def small_checkpoints(monkeypatch):
    """Checkpoints every 5 lines, so tests see several without writing thousands of entries."""
    monkeypatch.setattr(logmod, "CHECKPOINT_EVERY", 5)


@pytest.fixture
def signed_log(tmp_path, keys):
    """Five entries in tmp_path/audit.log, signed: (public key, path, the AuditLog)."""
    private, public, _ = keys
    path = tmp_path / "audit.log"
    return public, path, fill(path, private)


@pytest.fixture
def witnessed(tmp_path, keys):
    """Two signed entries seen by a file witness: (private, public, log path, the witness)."""
    private, public, _ = keys
    path = tmp_path / "audit.log"
    witness = FileWitness(tmp_path / "witness.log", create=True)
    fill(path, private, n=2, witnesses=[witness])
    return private, public, path, witness


@pytest.fixture
def department_docs(tmp_path, monkeypatch):
    """A folder holding one Department, which is also the inventory the CLI reads."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "d.yaml").write_text("apiVersion: govcloud/v1\nkind: Department\nmetadata: {id: d}\n"
                                 "spec: {name: D, level: county, region: '390121'}\n")
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(docs))  # a Department is inventory data
    return docs


def fill(path, key=None, n=5, witnesses=None):
    log = AuditLog(path, key, witnesses or [])
    for i in range(n):
        log.append("check", {f"inventory/{i}.yaml": "ab" * 32}, "cd" * 32, actor="tester")
    return log


def lines(path):
    return path.read_bytes().splitlines(keepends=True)


def test_intact_log_verifies_with_and_without_key(tmp_path, keys):
    private, public, _ = keys
    path = tmp_path / "audit.log"
    fill(path, private)
    assert verify(path).ok
    result = verify(path, public)
    assert result.ok and result.head_checked and result.entries == 5
    assert (tmp_path / "keys" / "audit-signing.key").stat().st_mode & 0o777 == 0o600
    head = json.loads((tmp_path / "audit.log.head").read_text())
    assert head["alg"] == "sm2" and head["key"] == private.fingerprint
    assert head["seq"] == 5 and head["size"] == path.stat().st_size and head["from"] == 1
    assert not (tmp_path / "audit.log.head.next").exists()


def test_checkpoints_are_signed_at_the_interval_and_required(tmp_path, keys, small_checkpoints):
    private, public, _ = keys
    path = tmp_path / "audit.log"
    fill(path, private, n=12)
    result = verify(path, public)
    assert result.ok and result.checkpoints == 2, result.problem
    data = lines(path)
    assert [json.loads(line).get("type") for line in data].count("checkpoint") == 2
    assert json.loads(data[5])["type"] == "checkpoint" and json.loads(data[5])["alg"] == "sm2"
    # Take the checkpoint out and re-chain everything after it: the chain holds, but the
    # missing checkpoint is named (the head does not match either).
    path.write_bytes(rechain([json.loads(line) for i, line in enumerate(data) if i != 5]))
    assert verify(path).ok  # the chain alone cannot tell
    bad = verify(path, public)
    assert not bad.ok and "checkpoint is due here and is missing" in bad.problem and bad.line == 6


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


def tamper_final_newline(path):
    path.write_bytes(path.read_bytes()[:-1])


def tamper_append_forged(path):
    last = lines(path)[-1].rstrip(b"\n")
    entry = json.loads(last)
    entry.update(seq=entry["seq"] + 1, prev=sm3_hex(last), actor="nobody")
    with path.open("ab") as handle:
        handle.write(canonical(entry) + b"\n")


def tamper_append_garbage(path):
    with path.open("ab") as handle:
        handle.write(b"this is not json\n")


def tamper_rechain(path):
    """Rewrite entry 2 and recompute the chain after it (no key: the head cannot follow)."""
    entries = [json.loads(line) for line in lines(path)]
    entries[1]["actor"] = "someone-else"
    prev, out = GENESIS, []
    for entry in entries:
        entry["prev"] = prev
        raw = canonical(entry)
        out.append(raw + b"\n")
        prev = sm3_hex(raw)
    path.write_bytes(b"".join(out))


# Changes at the end of the log: the next append sees them (its head no longer matches).
TAIL_TAMPERS = [tamper_delete, tamper_insert, tamper_truncate, tamper_final_newline,
                tamper_append_forged, tamper_append_garbage, tamper_rechain]
# Changes inside the log that leave its last line alone break the chain where they are: the
# append checks only the tail (constant time), verify finds them before and after it.
INNER_TAMPERS = [tamper_byte, tamper_swap]


@pytest.mark.parametrize("tamper", INNER_TAMPERS)
def test_inner_changes_stay_detected_after_more_appends(signed_log, tamper):
    public, path, log = signed_log
    tamper(path)
    first = verify(path, public)
    assert not first.ok and first.line in (2, 3, 4), first.problem
    log.append("check", {}, "00" * 32)
    assert verify(path, public).problem == first.problem


@pytest.mark.parametrize("tamper", TAIL_TAMPERS)
def test_tampering_is_detected_and_never_signed_over(tmp_path, signed_log, tamper):
    public, path, log = signed_log
    tamper(path)
    assert not verify(path, public).ok, tamper.__name__
    before = path.read_bytes()
    with pytest.raises(IntegrityError) as refused:
        log.append("check", {}, "00" * 32)
    assert refused.value.exit_code == 4
    assert path.read_bytes() == before  # nothing was added, nothing set aside
    assert not (tmp_path / "audit.log.torn").exists()
    assert not verify(path, public).ok  # still caught after the refused append


def test_refusal_names_what_differs(tmp_path, keys):
    private, _, _ = keys
    path = tmp_path / "audit.log"
    log = fill(path, private)
    tamper_truncate(path)
    with pytest.raises(IntegrityError, match=r"bytes, but its signed head says the log ends at "
                       r"byte \d+ \(seq 5\)"):
        log.append("check", {}, "00" * 32)
    fill(tmp_path / "b.log", private)
    tamper_rechain(tmp_path / "b.log")  # longer: no line ends where the head says
    with pytest.raises(IntegrityError, match=r"no line ends at byte \d+, where its signed head "
                       r"says seq 5 ends"):
        AuditLog(tmp_path / "b.log", private).append("check", {}, "00" * 32)
    fill(tmp_path / "d.log", private)
    data = lines(tmp_path / "d.log")
    data[1] = data[1].replace(b"tester", b"Tester")  # same length, chain recomputed
    prev, out = GENESIS, []
    for raw in data:
        entry = json.loads(raw)
        entry["prev"] = prev
        out.append(canonical(entry) + b"\n")
        prev = sm3_hex(canonical(entry))
    (tmp_path / "d.log").write_bytes(b"".join(out))
    with pytest.raises(IntegrityError, match=r"seq 5 with SM3 [0-9a-f]{16}…, but its signed head "
                       r"says seq 5 with SM3 [0-9a-f]{16}"):
        AuditLog(tmp_path / "d.log", private).append("check", {}, "00" * 32)
    fill(tmp_path / "c.log", private)
    tamper_append_garbage(tmp_path / "c.log")
    with pytest.raises(IntegrityError, match=r"1 line\(s\) after the signed head \(seq 5"):
        AuditLog(tmp_path / "c.log", private).append("check", {}, "00" * 32)


def test_forged_signature_is_detected(tmp_path, keys):
    private, public, _ = keys
    path = tmp_path / "audit.log"
    fill(path, private)
    head = tmp_path / "audit.log.head"
    data = json.loads(head.read_text())
    forger = signing.generate()
    forged = sign_record(forger, {k: v for k, v in data.items()
                                  if k not in ("sig", "alg", "key")})
    forged["key"] = data["key"]  # claims to be the audit key
    forged = {**forged, "sig": forged["sig"]}
    head.write_bytes(canonical(forged))
    assert "signature that does not verify" in verify(path, public).problem
    assert not verify(path, signing.generate().verify_key()).ok
    with pytest.raises(IntegrityError, match="signature that does not verify"):
        AuditLog(path, private).append("check", {}, "00" * 32)


def test_a_torn_line_newer_than_the_head_is_set_aside(tmp_path, keys):
    private, public, _ = keys
    path = tmp_path / "audit.log"
    log = fill(path, private)
    with path.open("ab") as handle:
        handle.write(b'{"actor":"tester","command":"che')  # a crash mid-write
    result = verify(path, public)
    assert result.ok and any("torn" in n for n in result.notes)
    log.append("check", {}, "00" * 32, actor="tester")
    assert verify(path, public).ok and verify(path, public).entries == 6
    assert (tmp_path / "audit.log.torn").read_bytes() == b'{"actor":"tester","command":"che\n'
    assert any("set aside" in n for n in log.notes)


def test_forged_lines_before_a_torn_fragment_are_refused_not_set_aside(tmp_path, keys):
    private, public, _ = keys
    path = tmp_path / "audit.log"
    log = fill(path, private)
    tamper_append_forged(path)
    with path.open("ab") as handle:
        handle.write(b'{"actor":"x"')  # looks like a crash, but no append was in flight
    assert not verify(path, public).ok
    with pytest.raises(IntegrityError, match="1 line\\(s\\) after the signed head"):
        log.append("check", {}, "00" * 32)
    assert not (tmp_path / "audit.log.torn").exists()


def test_a_crash_in_the_middle_of_entry_and_checkpoint_is_set_aside(tmp_path, keys,
                                                                    small_checkpoints):
    private, public, _ = keys
    path = tmp_path / "audit.log"
    log = fill(path, private, n=4)
    head = (tmp_path / "audit.log.head").read_bytes()
    size = path.stat().st_size
    log.append("check", {}, "00" * 32)  # entry 5 and the checkpoint after it: one write
    data = path.read_bytes()
    pending = (tmp_path / "audit.log.head").read_bytes()
    # The state of a crash after the entry and half the checkpoint reached the disk.
    cut = data.index(b"\n", size) + 20
    path.write_bytes(data[:cut])
    (tmp_path / "audit.log.head").write_bytes(head)
    (tmp_path / "audit.log.head.next").write_bytes(pending)
    during = verify(path, public)
    assert during.ok and any("interrupted mid-write" in n for n in during.notes)
    (tmp_path / "audit.log.head.next").rename(tmp_path / "saved")
    assert not verify(path, public).ok  # without the signed pending head: lines nobody vouches for
    (tmp_path / "saved").rename(tmp_path / "audit.log.head.next")
    log.append("check", {}, "00" * 32)
    assert verify(path, public).ok and len(lines(tmp_path / "audit.log.torn")) == 2


def test_a_fifo_in_place_of_the_log_is_an_integrity_failure(tmp_path, keys):
    private, public, _ = keys
    path = tmp_path / "audit.log"
    fill(path, private)
    path.unlink()
    os.mkfifo(path)
    assert "not a file" in verify(path, public).problem
    with pytest.raises(IntegrityError, match="is a FIFO"):
        AuditLog(path, private).append("check", {}, "00" * 32)


def test_a_crash_between_the_lines_and_the_head_is_finished(tmp_path, keys):
    private, public, _ = keys
    path = tmp_path / "audit.log"
    fill(path, private, n=3)
    head = tmp_path / "audit.log.head"
    old_head = head.read_bytes()
    AuditLog(path, private).append("check", {}, "00" * 32)
    new_head = head.read_bytes()
    # The state after a crash between the write of the lines and the replacement of the head.
    (tmp_path / "audit.log.head.next").write_bytes(new_head)
    head.write_bytes(old_head)
    result = verify(path, public)
    assert result.ok and any("interrupted" in n for n in result.notes)
    log = AuditLog(path, private)
    log.append("check", {}, "00" * 32)
    assert verify(path, public).ok and verify(path, public).entries == 5
    assert not (tmp_path / "audit.log.head.next").exists()
    # A pending head without its lines (crash before the lines were written) is ignored.
    (tmp_path / "audit.log.head.next").write_bytes(b"{}")
    AuditLog(path, private).append("check", {}, "00" * 32)
    assert verify(path, public).ok


def test_a_deleted_head_or_log_is_refused(tmp_path, keys):
    private, public, _ = keys
    path = tmp_path / "audit.log"
    fill(path, private)
    head = tmp_path / "audit.log.head"
    saved = head.read_bytes()
    head.unlink()
    assert "no signed head" in verify(path, public).problem
    with pytest.raises(IntegrityError, match="signed entries but its signed head"):
        AuditLog(path, private).append("check", {}, "00" * 32)
    head.write_bytes(saved)
    path.unlink()
    assert "the log was deleted" in verify(path, public).problem
    with pytest.raises(IntegrityError, match="is missing, but its signed head"):
        AuditLog(path, private).append("check", {}, "00" * 32)
    assert not path.exists()


def test_an_unsigned_log_is_adopted_and_signed_from_then_on(tmp_path, keys, small_checkpoints):
    private, public, _ = keys
    path = tmp_path / "audit.log"
    fill(path, None, n=7)
    fill(path, private, n=6)
    head = json.loads((tmp_path / "audit.log.head").read_text())
    assert head["from"] == 8
    result = verify(path, public)
    assert result.ok and result.checkpoints == 1, result.problem  # after entry 10 only


def test_without_the_key_a_signed_log_is_not_extended(tmp_path, keys):
    private, _, _ = keys
    path = tmp_path / "audit.log"
    fill(path, private)
    with pytest.raises(signing.KeyUnusable, match="no audit key is configured"):
        AuditLog(path).append("check", {}, "00" * 32)


def test_witness_catches_an_older_copy_put_back(tmp_path, keys):
    private, public, _ = keys
    path = tmp_path / "audit.log"
    witness = FileWitness(tmp_path / "elsewhere" / "witness.log", create=True)
    (tmp_path / "elsewhere").mkdir()
    fill(path, private, n=3, witnesses=[witness])
    old_log, old_head = path.read_bytes(), (tmp_path / "audit.log.head").read_bytes()
    fill(path, private, n=2, witnesses=[witness])
    assert verify(path, public, [witness]).witness_checked
    path.write_bytes(old_log)
    (tmp_path / "audit.log.head").write_bytes(old_head)
    assert verify(path, public).ok  # without the witness, the old copy is a valid log
    bad = verify(path, public, [witness])
    assert not bad.ok and "saw this log at seq 5" in bad.problem
    assert not verify(path, None, [witness]).ok  # the chain-only check uses it too
    with pytest.raises(IntegrityError, match="an older copy was put back"):
        AuditLog(path, private, [witness]).append("check", {}, "00" * 32)


def test_witness_catches_a_deleted_log_and_head(tmp_path, witnessed):
    private, public, path, witness = witnessed
    path.unlink()
    (tmp_path / "audit.log.head").unlink()
    assert "saw it at seq 2" in verify(path, public, [witness]).problem
    with pytest.raises(IntegrityError, match="the head \\(and log\\) were removed"):
        AuditLog(path, private, [witness]).append("check", {}, "00" * 32)


def test_a_forged_witness_record_is_refused(tmp_path, witnessed):
    private, public, path, witness = witnessed
    record = json.loads(witness.path.read_bytes().splitlines()[-1])
    record["head"]["seq"] = 99
    with witness.path.open("ab") as handle:
        handle.write(canonical(record) + b"\n")
    assert "witness was tampered with" in verify(path, public, [witness]).problem
    with witness.path.open("ab") as handle:
        handle.write(b"garbage\n")
    with pytest.raises(IntegrityError, match="line 4 is not a witness record"):
        verify(path, public, [witness])


def test_the_actor_is_the_kernels_account_not_logname(tmp_path, keys, monkeypatch):
    private, _, _ = keys
    monkeypatch.setenv("LOGNAME", "someone")
    monkeypatch.setenv("USER", "someone")
    entry = AuditLog(tmp_path / "audit.log", private).append("check", {}, "00" * 32)
    assert entry["actor"] == pwd.getpwuid(os.geteuid()).pw_name != "someone"
    assert entry["uid"] == os.geteuid() and entry["signer"] == private.fingerprint[:16]


def test_ed25519_logs_and_heads_from_before_sm2_still_verify(tmp_path):
    private, public = keygen(tmp_path / "keys", "ed25519")
    key = signing.load_signing_key(private)
    path = tmp_path / "audit.log"
    fill(path, key)
    assert verify(path, key.verify_key()).ok
    # A head as govcloud wrote it before SM2: no alg, key, size or from fields.
    last = lines(path)[-1].rstrip(b"\n")
    legacy = {"seq": 5, "hash": sm3_hex(last)}
    legacy["sig"] = _sign(key, legacy)
    (tmp_path / "audit.log.head").write_bytes(canonical(legacy))
    assert verify(path, key.verify_key()).ok
    AuditLog(path, key).append("check", {}, "00" * 32)
    assert verify(path, key.verify_key()).ok


def test_cli_check_appends_and_log_verify_exit_codes(tmp_path, keys, monkeypatch,
                                                     department_docs):
    _, _, public = keys
    monkeypatch.setenv("GOVCLOUD_AUDIT_KEY", str(tmp_path / "keys" / "audit-signing.key"))
    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path / "state"))
    runner = CliRunner()
    docs = department_docs
    for _ in range(2):
        assert runner.invoke(app, ["check", str(docs), "-o", "json"]).exit_code == 0
    log = tmp_path / "state" / "audit.log"
    entry = json.loads(lines(log)[0])
    assert entry["command"] == "check" and list(entry["inputs"]) == [str(docs / "d.yaml")]
    ok = runner.invoke(app, ["log", "verify", str(log), "--key", str(public)])
    assert ok.exit_code == 0 and "signed head verified" in ok.output, ok.output
    tamper_truncate(log)
    bad = runner.invoke(app, ["log", "verify", str(log), "--key", str(public)])
    assert bad.exit_code == 4 and "signed head says seq 2" in bad.output
    # The next command is refused before its work: nothing printed, nothing appended.
    before = log.read_bytes()
    refused = runner.invoke(app, ["check", str(docs), "-o", "json"])
    assert refused.exit_code == 4 and refused.stdout == "" and log.read_bytes() == before
    assert "Traceback" not in refused.output


def test_cli_a_configured_key_that_cannot_be_used_stops_commands(tmp_path, monkeypatch,
                                                                 department_docs):
    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path / "state"))
    runner = CliRunner()
    docs = department_docs
    monkeypatch.setenv("GOVCLOUD_AUDIT_KEY", str(tmp_path / "missing.key"))
    missing = runner.invoke(app, ["check", str(docs), "-o", "json"])
    assert missing.exit_code == 3 and "missing.key" in missing.output and missing.stdout == ""
    monkeypatch.delenv("GOVCLOUD_AUDIT_KEY")
    flag = runner.invoke(app, ["--audit-key", str(tmp_path / "missing.key"), "check", str(docs)])
    assert flag.exit_code == 3 and flag.stdout == ""
    assert not (tmp_path / "state" / "audit.log").exists()


def test_cli_the_audit_key_must_hold_the_audit_role_when_roles_are_in_force(tmp_path,
                                                                             monkeypatch):
    from tests.unit.keyring import make_keyring

    ring = make_keyring(tmp_path, monkeypatch)
    runner = CliRunner()
    request = str(ROOT / "examples" / "requests" / "good-county-elderly-care-level2.yaml")
    log = tmp_path / "state" / "audit.log"
    for other in ("security", "evidence"):  # 三员: another role's key may not sign the log
        monkeypatch.setenv("GOVCLOUD_AUDIT_KEY", str(ring.key_files[other]))
        refused = runner.invoke(app, ["check", request, "-o", "json"])
        assert refused.exit_code == 3 and f"as {other}" in refused.output, refused.output
        assert refused.stdout == "" and not log.exists()
    stranger = tmp_path / "stranger.key"
    stranger.write_bytes(signing.private_pem(signing.generate(), None))
    monkeypatch.setenv("GOVCLOUD_AUDIT_KEY", str(stranger))
    refused = runner.invoke(app, ["check", request, "-o", "json"])
    assert refused.exit_code == 3 and "held by nobody" in refused.output
    monkeypatch.setenv("GOVCLOUD_AUDIT_KEY", str(ring.key_files["audit"]))
    done = runner.invoke(app, ["check", request, "-o", "json"])
    assert done.exit_code in (0, 1), done.output
    entry = json.loads(lines(log)[0])
    assert entry["signer"] == ring.keys["audit"].fingerprint[:16]
    assert entry["signed_as"].startswith("audit: 赵敏 (zhao.min")


def test_cli_log_verify_takes_the_audit_key_from_the_inventorys_roles(tmp_path, monkeypatch):
    from tests.unit.keyring import make_keyring

    ring = make_keyring(tmp_path, monkeypatch)
    log = tmp_path / "state" / "audit.log"
    fill(log, ring.keys["audit"])
    runner = CliRunner()
    ok = runner.invoke(app, ["log", "verify", str(log)])
    assert ok.exit_code == 0 and "signed head verified" in ok.output, ok.output
    assert "from the inventory's roles: 赵敏" in ok.output
    tamper_truncate(log)
    assert runner.invoke(app, ["log", "verify", str(log)]).exit_code == 4
    other = tmp_path / "other.log"
    fill(other, ring.keys["security"])  # signed with a key that is not the audit role's
    bad = runner.invoke(app, ["log", "verify", str(other)])
    assert bad.exit_code == 4 and "which no audit administrator holds" in bad.output


def test_cli_hardens_inventory_option_is_not_taken_for_the_roles(tmp_path, monkeypatch):
    """harden's --inventory is Ansible's host list: the audit key's role is still checked
    against the authority inventory's signed roles, not against that file."""
    from tests.unit.keyring import make_keyring

    ring = make_keyring(tmp_path, monkeypatch)
    monkeypatch.setenv("GOVCLOUD_AUDIT_KEY", str(ring.key_files["audit"]))
    hosts = tmp_path / "hosts.ini"
    hosts.write_text("[all]\nunreachable ansible_host=127.0.0.9\n")
    done = CliRunner().invoke(app, ["harden", "--check", "--inventory", str(hosts)])
    assert done.exit_code not in (3, 4) and "not signed" not in done.output, done.output
    entry = json.loads(lines(tmp_path / "state" / "audit.log")[0])
    assert entry["command"] == "harden --check" and entry["signed_as"].startswith("audit: ")


def test_a_symlink_in_place_of_the_log_is_refused(tmp_path, keys):
    private, _, _ = keys
    path = tmp_path / "audit.log"
    fill(path, private)
    (tmp_path / "elsewhere.log").write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere.log")
    with pytest.raises(IntegrityError, match="not a link"):
        AuditLog(path, private).check()
    with pytest.raises(IntegrityError, match="not a regular file"):
        AuditLog(path, private).append("check", {}, "00" * 32)
