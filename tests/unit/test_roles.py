"""The inventory's roles (三员): signed by the pinned root, one key one role, expiry."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from govcloud import roles, signing
from govcloud.cli.app import app
from govcloud.errors import EXIT_INTEGRITY, EXIT_USAGE, InputError, IntegrityError
from tests.unit.keyring import make_keyring

runner = CliRunner()


@pytest.fixture
def ring(tmp_path, monkeypatch):
    return make_keyring(tmp_path, monkeypatch)


def test_signed_roles_load_with_the_pinned_root(ring):
    loaded = roles.load_roles()
    assert loaded.root == ring.root.fingerprint
    keyed = sorted(h.role for h in loaded.holders if h.key is not None)
    assert keyed == ["audit", "department", "evidence", "ops", "security"]
    security = loaded.by_fingerprint(ring.keys["security"].fingerprint)
    assert security is not None and security.role == "security" and security.holder == "王芳"
    assert [h.account for h in loaded.active("ops", dt.date.today())] == ["zhang.wei"]


def test_a_tampered_roles_file_is_an_integrity_failure(ring):
    text = ring.roles_file.read_text()
    # the attacker swaps the security officer's account for their own, keeping the signature
    ring.roles_file.write_text(text.replace("wang.fang", "mallory"))
    with pytest.raises(IntegrityError, match="does not verify") as err:
        roles.load_roles()
    assert err.value.exit_code == EXIT_INTEGRITY
    # a change that is "only formatting" is a change too: the signature is over the bytes
    ring.roles_file.write_text(text + "\n# comment\n")
    with pytest.raises(IntegrityError):
        roles.load_roles()


def test_an_attacker_re_signing_with_their_own_root_is_refused(ring):
    mallory = signing.generate()
    ring.add("security", "Mallory", "mallory", name="mallory")
    ring.roles_file.write_text(ring.roles_file.read_text())
    ring.write()
    roles.sign_roles(ring.roles_file, mallory)  # a valid signature, by the wrong key
    with pytest.raises(IntegrityError, match="not by the pinned root"):
        roles.load_roles()


def test_an_unsigned_file_and_a_garbled_signature_are_refused(ring):
    sig = roles.signature_path(ring.roles_file)
    record = json.loads(sig.read_text())
    record["signature"] = record["signature"][:-8] + "AAAAAAA="
    sig.write_text(json.dumps(record))
    with pytest.raises(IntegrityError, match="does not verify"):
        roles.load_roles()
    sig.write_text("not json")
    with pytest.raises(IntegrityError, match="not a roles signature"):
        roles.load_roles()
    sig.unlink()
    with pytest.raises(IntegrityError, match="not signed"):
        roles.load_roles()


def test_no_pin_is_a_configuration_error(ring, monkeypatch):
    monkeypatch.delenv("GOVCLOUD_TRUST_ROOT")
    with pytest.raises(InputError, match="no trust root is pinned") as err:
        roles.load_roles()
    assert err.value.exit_code == EXIT_USAGE
    monkeypatch.setenv("GOVCLOUD_TRUST_ROOT", "not-a-fingerprint")
    with pytest.raises(InputError, match="64 hex"):
        roles.load_roles()


def test_the_system_pin_file_wins_over_the_environment(ring, tmp_path, monkeypatch):
    pin = tmp_path / "trust-root"
    pin.write_text(signing.generate().fingerprint + "\n")  # the security office pinned another
    monkeypatch.setattr(roles, "TRUST_ROOT_FILE", pin)
    with pytest.raises(IntegrityError, match="not by the pinned root"):
        roles.load_roles()  # the operator's $GOVCLOUD_TRUST_ROOT does not override it
    pin.write_text(ring.root.fingerprint.upper() + "\n")
    assert roles.load_roles().root == ring.root.fingerprint


def test_one_key_may_hold_one_role_even_respelled(ring):
    ops_pem = ring.keys["ops"].public_pem()
    # the same key again, as security, its PEM re-wrapped differently (same DER, same key)
    body = "".join(ops_pem.strip().splitlines()[1:-1])
    respelled = "-----BEGIN PUBLIC KEY-----\n" + "\n".join(
        body[i:i + 40] for i in range(0, len(body), 40)) + "\n-----END PUBLIC KEY-----\n"
    docs = [d for d in ring.docs if d["spec"]["role"] != "security"]
    docs.append(roles.role_document("security", "张伟", "zhang.wei.sec", ring.keys["ops"]))
    docs[-1]["spec"]["public_key"] = respelled
    ring.write(docs)
    with pytest.raises(IntegrityError, match="one key may hold one role"):
        roles.load_roles()


def test_the_root_key_cannot_hold_a_role(ring):
    docs = list(ring.docs) + [roles.role_document("audit", "Root", "root.admin", ring.root)]
    ring.write(docs)
    with pytest.raises(IntegrityError, match="uses the root key"):
        roles.load_roles()


def test_expired_roles_are_not_active(ring):
    ring.docs[1]["spec"]["expires"] = "2020-01-01"
    ring.write()
    loaded = roles.load_roles()
    assert loaded.active("ops", dt.date.today()) == []
    assert loaded.active("ops", dt.date(2019, 12, 31))


def test_only_role_documents_and_valid_keys(ring):
    docs = list(ring.docs)
    docs[0]["spec"]["public_key"] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    ring.write(docs)
    with pytest.raises(InputError, match="/spec/public_key"):
        roles.load_roles()
    waiver = {"apiVersion": "govcloud/v1", "kind": "Waiver", "metadata": {"id": "W-1"},
              "spec": {"policy": "GC-NET-001", "target": "ResourceRequest/X", "reason": "r",
                       "approved_by": "me", "expires": "2030-01-01"}}
    ring.write(ring.docs[1:] + [waiver])
    with pytest.raises(InputError, match="holds only Role documents"):
        roles.load_roles()


def test_keys_cli_generate_sign_and_list(ring, tmp_path):
    out = tmp_path / "new"
    made = runner.invoke(app, ["keys", "generate", "--role", "ops", "--algorithm", "ed25519",
                               "--out", str(out), "--holder", "周强", "--account", "zhou.qiang"])
    assert made.exit_code == 0, made.output
    assert (out / "ops.key").stat().st_mode & 0o777 == 0o600
    assert "PRIVATE" not in made.stdout and "kind: Role" in made.stdout
    again = runner.invoke(app, ["keys", "generate", "--role", "ops", "--out", str(out)])
    assert again.exit_code == 2 and "never overwritten" in again.output
    bad = runner.invoke(app, ["keys", "generate", "--role", "superuser", "--out", str(out)])
    assert bad.exit_code == 2
    bad = runner.invoke(app, ["keys", "generate", "--role", "ops", "--algorithm", "rsa",
                              "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "algorithm" in bad.output
    fp = runner.invoke(app, ["keys", "fingerprint", str(out / "ops.pub")])
    assert fp.exit_code == 0 and fp.stdout.split()[1] == "ed25519"

    with ring.roles_file.open("a") as handle:  # the new holder added: unsigned now
        handle.write(made.stdout)
    listed = runner.invoke(app, ["keys", "roles"])
    assert listed.exit_code == EXIT_INTEGRITY, listed.output
    root_key = tmp_path / "root.key"
    root_key.write_bytes(signing.private_pem(ring.root, b"root pass"))
    locked = runner.invoke(app, ["keys", "sign-roles", "--key", str(root_key)],
                           env={"GOVCLOUD_KEY_PASSPHRASE": ""})
    assert locked.exit_code == 3 and "passphrase" in locked.output
    signed = runner.invoke(app, ["keys", "sign-roles", "--key", str(root_key)],
                           env={"GOVCLOUD_KEY_PASSPHRASE": "root pass"})
    assert signed.exit_code == 0, signed.output
    listed = runner.invoke(app, ["keys", "roles"])
    assert listed.exit_code == 0 and "zhou.qiang" in listed.stdout
    assert "root pass" not in listed.output + signed.output


def test_a_rollback_to_an_older_signed_roles_file_is_caught(ring):
    old_roles = ring.roles_file.read_bytes()
    old_sig = roles.signature_path(ring.roles_file).read_bytes()
    assert roles.load_roles()  # accepted: serial 1 recorded on this machine
    # the security office removes the ops holder (e.g. they left) and signs again: serial 2
    ring.write([d for d in ring.docs if d["spec"]["role"] != "ops"])
    assert json.loads(roles.signature_path(ring.roles_file).read_text())["serial"] == 2
    assert roles.load_roles().active("ops", dt.date.today()) == []
    # an attacker restores the older, validly signed copy to bring the ops key back
    ring.roles_file.write_bytes(old_roles)
    roles.signature_path(ring.roles_file).write_bytes(old_sig)
    with pytest.raises(IntegrityError, match="serial 1, older than serial 2") as err:
        roles.load_roles()
    assert err.value.exit_code == EXIT_INTEGRITY
    # the serial is signed: raising it by hand breaks the signature
    record = json.loads(old_sig)
    record["serial"] = 9
    roles.signature_path(ring.roles_file).write_text(json.dumps(record))
    with pytest.raises(IntegrityError, match="does not verify"):
        roles.load_roles()


def test_keys_generate_encrypt(tmp_path):
    out = tmp_path / "enc"
    made = runner.invoke(app, ["keys", "generate", "--role", "audit", "--out", str(out),
                               "--encrypt"], env={"GOVCLOUD_KEY_PASSPHRASE": "long pass"})
    assert made.exit_code == 0 and "long pass" not in made.output
    pem = (out / "audit.key").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert signing.load_signing_key(out / "audit.key", b"long pass").algorithm == "sm2"
    no_pass = runner.invoke(app, ["keys", "generate", "--role", "audit", "--out",
                                  str(tmp_path / "x"), "--encrypt"],
                            env={"GOVCLOUD_KEY_PASSPHRASE": ""})
    assert no_pass.exit_code == 2 and "passphrase" in no_pass.output
    assert not (tmp_path / "x" / "audit.key").exists()
