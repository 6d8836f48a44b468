"""Approvals (逐级审批, 三员): three roles held by three people with keys the inventory's signed
roles list; the approval signs signer, role, time, request, waivers, policies and cloud."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govcloud import roles
from govcloud.approvals import (
    Context,
    add_approval,
    approvals_path,
    load_requests,
    needs_approval,
    policy_digests,
    sign_request,
    verify_approvals,
)
from govcloud.cli.app import app
from govcloud.errors import InputError
from tests.unit.keyring import make_keyring

ROOT = Path(__file__).resolve().parents[2]
REQUEST = ROOT / "examples" / "requests" / "good-classified-records-on-internal-cloud.yaml"
LEVEL2 = ROOT / "examples" / "requests" / "good-county-elderly-care-level2.yaml"
CLOUD = "gov-int"
runner = CliRunner()


@pytest.fixture
def ring(tmp_path, monkeypatch):
    return make_keyring(tmp_path, monkeypatch)


@pytest.fixture
def request_file(tmp_path):
    path = tmp_path / "req.yaml"
    shutil.copy(REQUEST, path)
    return path


POLICIES = policy_digests()


def context(waivers=None, policies=None, cloud=CLOUD):
    return Context(cloud, waivers or {}, POLICIES if policies is None else policies)


def approve(ring, request_file, role, *, key_name=None, ctx=None):
    loaded = roles.load_roles()
    key = ring.keys[key_name or role]
    holder = loaded.by_fingerprint(key.fingerprint)
    doc = load_requests(request_file)[0]
    add_approval(request_file, sign_request(doc, role, key, holder, ctx or context()))


def problems(request_file, ctx=None, today=None):
    return verify_approvals(load_requests(request_file)[0], roles.load_roles(), ctx or context(),
                            today)


def approve_all(ring, request_file):
    for role in ("department", "ops", "security"):
        approve(ring, request_file, role)


def test_three_roles_approve(ring, request_file):
    assert len(problems(request_file)) == 3
    approve_all(ring, request_file)
    assert problems(request_file) == []
    payload = json.loads(approvals_path(request_file).read_text())["approvals"][2]["payload"]
    assert payload["signer"]["account"] == "wang.fang" and payload["cloud"] == CLOUD
    assert set(payload) >= {"signed_at", "request_sm3", "waivers", "policies", "role"}
    assert json.loads(approvals_path(request_file).read_text())["approvals"][0][
        "algorithm"] == "sm2"


def test_ed25519_approvers_still_verify(tmp_path, monkeypatch, request_file):
    ring = make_keyring(tmp_path, monkeypatch, algorithms={"ops": "ed25519"})
    approve_all(ring, request_file)
    assert problems(request_file) == []


def test_a_missing_role_is_refused(ring, request_file):
    approve(ring, request_file, "department")
    approve(ring, request_file, "ops")
    assert problems(request_file) == [
        f"ResourceRequest/REQ-2026-0103 ({request_file}): no valid approval by security "
        "(security officer / 安全管理员)"]


def test_one_person_cannot_fill_two_roles_even_with_two_keys(ring, request_file):
    # zhang.wei holds ops; the security office (wrongly) also gave him a security key
    docs = [d for d in ring.docs if d["spec"]["role"] != "security"]
    ring.docs = docs
    ring.add("security", "张伟", "zhang.wei", name="security")
    ring.write()
    approve_all(ring, request_file)
    assert any("zhang.wei approved as ops and security" in p for p in problems(request_file))


def test_a_key_without_the_role_cannot_approve_for_it(ring, request_file):
    approve(ring, request_file, "department")
    approve(ring, request_file, "ops")
    # the ops key signs a "security" approval: valid signature, wrong role
    approve(ring, request_file, "security", key_name="ops")
    found = problems(request_file)
    assert any("who holds role ops, not security" in p for p in found)
    # the audit admin's key is no approver either
    approve(ring, request_file, "security", key_name="audit")
    assert any("who holds role audit, not security" in p for p in problems(request_file))


def test_a_key_not_in_the_roles_is_refused(ring, request_file):
    approve_all(ring, request_file)
    docs = [d for d in ring.docs if d["spec"]["role"] != "department"]
    ring.write(docs)  # the department head left: their key is no longer listed
    assert any("which holds no role" in p for p in problems(request_file))


def test_an_expired_role_is_refused(ring, request_file):
    approve_all(ring, request_file)
    ring.docs[0]["spec"]["expires"] = "2026-01-01"
    ring.write()
    found = problems(request_file, today=dt.date(2026, 6, 1))
    assert any("expired on 2026-01-01" in p for p in found)


def test_the_request_changed_after_approval(ring, request_file):
    approve_all(ring, request_file)
    request_file.write_text(request_file.read_text().replace("cores: 8", "cores: 80"))
    found = problems(request_file)
    assert len([p for p in found if "the request changed" in p]) == 3
    assert len(found) == 3  # the reason, not also a generic "no valid approval"


def test_formatting_is_not_data(ring, request_file):
    approve_all(ring, request_file)
    request_file.write_text("# reviewed\n" + request_file.read_text().replace(
        "quotas: {cores: 8", "quotas: {  cores:   8"))
    assert problems(request_file) == []


def test_every_signed_field_is_covered(ring, request_file):
    approve_all(ring, request_file)
    path = approvals_path(request_file)
    original = path.read_text()
    for field, value in (("signed_at", "2020-01-01T00:00:00+00:00"), ("cloud", CLOUD),
                         ("signer", None), ("waivers", {"W-X": "0" * 64})):
        data = json.loads(original)
        payload = data["approvals"][2]["payload"]
        if field == "signer":
            payload["signer"]["os_account"] = "someone-else"
        elif field == "cloud":
            payload["cloud"] = CLOUD  # unchanged: a control that must still verify
        else:
            payload[field] = value
        path.write_text(json.dumps(data))
        found = problems(request_file)
        if field == "cloud":
            assert found == []
        else:
            assert any("does not verify" in p for p in found), field


def test_the_signer_name_must_be_the_key_holders(ring, request_file):
    approve_all(ring, request_file)
    # a genuine signature whose signed name differs from roles.yaml (the holder was renamed)
    ring.docs[2]["spec"]["holder"] = "王芳芳"
    ring.write()
    assert any("but the key is" in p for p in problems(request_file))


def test_the_cloud_waivers_and_policies_are_part_of_the_approval(ring, request_file):
    approve_all(ring, request_file)
    assert any("for cloud 'gov-int', not 'prod-2'" in p
               for p in problems(request_file, context(cloud="prod-2")))
    waived = [p for p in problems(request_file, context(waivers={"WVR-9": "a" * 64}))
              if "no valid approval" not in p]
    assert len(waived) == 3
    assert all("waivers in force differ" in p and "added WVR-9" in p for p in waived)
    changed = dict(POLICIES)
    first = sorted(changed)[0]
    changed[first] = "0" * 64
    found = [p for p in problems(request_file, context(policies=changed))
             if "no valid approval" not in p]
    assert len(found) == 3 and all(f"changed {first}" in p for p in found)


def test_waivers_in_force_are_those_for_this_request(tmp_path):
    from govcloud.approvals import waivers_in_force
    from govcloud.documents import Document

    request = load_requests(REQUEST)[0]

    def waiver(wid, target, expires):
        body = {"apiVersion": "govcloud/v1", "kind": "Waiver", "metadata": {"id": wid},
                "spec": {"policy": "P", "target": target, "reason": "r", "approved_by": "x",
                         "expires": expires}}
        return Document("Waiver", wid, body, "w.yaml", 1)

    docs = [waiver("W1", "ResourceRequest/REQ-2026-0103", "2030-01-01"),
            waiver("W2", "ResourceRequest/REQ-OTHER", "2030-01-01"),
            waiver("W3", "ResourceRequest/REQ-2026-0103", "2020-01-01")]
    assert list(waivers_in_force(request, docs, dt.date(2026, 12, 1))) == ["W1"]


def test_a_forged_signature_is_refused(ring, request_file):
    approve_all(ring, request_file)
    path = approvals_path(request_file)
    data = json.loads(path.read_text())
    signature = bytearray(base64.b64decode(data["approvals"][1]["signature"]))
    signature[10] ^= 1
    data["approvals"][1]["signature"] = base64.b64encode(bytes(signature)).decode()
    path.write_text(json.dumps(data))
    assert any("ops approval's signature does not verify" in p for p in problems(request_file))


def test_old_format_approvals_do_not_count(ring, request_file):
    approvals_path(request_file).write_text(json.dumps({"version": 1, "approvals": [
        {"request": "REQ-2026-0103", "role": "security", "sm3": "0" * 64,
         "public_key": "AAAA", "signature": "AAAA", "signed_at": "x", "signer": "y"}]}))
    assert any("old format" in p for p in problems(request_file))
    approvals_path(request_file).write_text("not json")
    with pytest.raises(InputError, match="not a govcloud approvals file"):
        problems(request_file)


def test_needs_approval_from_mlps_3():
    assert needs_approval(load_requests(REQUEST)[0])
    assert not needs_approval(load_requests(LEVEL2)[0])


# ---------------------------------------------------------------- through the CLI


def cli_approve(ring, request_file, role, key_name=None, *extra):
    return runner.invoke(app, ["approve", str(request_file), "--as", role, "--key",
                               str(ring.key_files[key_name or role]), "--os-cloud", CLOUD,
                               *extra])


def test_cli_approve_refuses_a_key_without_the_role(ring, request_file):
    wrong = cli_approve(ring, request_file, "security", "ops")
    assert wrong.exit_code == 2 and "holds role ops" in wrong.output
    unknown = cli_approve(ring, request_file, "auditor", "ops")
    assert unknown.exit_code == 2
    ok = cli_approve(ring, request_file, "security")
    assert ok.exit_code == 0, ok.output
    assert "王芳" in ok.output and CLOUD in ok.output


def test_cli_approve_fails_closed_on_a_locked_key(ring, request_file, tmp_path):
    from govcloud import signing

    locked = tmp_path / "locked.key"
    locked.write_bytes(signing.private_pem(ring.keys["ops"], b"s3cret"))
    result = runner.invoke(app, ["approve", str(request_file), "--as", "ops", "--key",
                                 str(locked)], env={"GOVCLOUD_KEY_PASSPHRASE": ""})
    assert result.exit_code == 3 and "no passphrase" in result.output
    assert not approvals_path(request_file).exists()
    result = runner.invoke(app, ["approve", str(request_file), "--as", "ops", "--key",
                                 str(locked), "--os-cloud", CLOUD],
                           env={"GOVCLOUD_KEY_PASSPHRASE": "s3cret"})
    assert result.exit_code == 0 and "s3cret" not in result.output


def test_cli_approve_default_cloud_is_the_platforms(ring, request_file, monkeypatch):
    monkeypatch.delenv("OS_CLOUD", raising=False)
    result = runner.invoke(app, ["approve", str(request_file), "--as", "ops", "--key",
                                 str(ring.key_files["ops"])])
    assert result.exit_code == 0, result.output
    payload = json.loads(approvals_path(request_file).read_text())["approvals"][0]["payload"]
    assert payload["cloud"] == "devcloud"  # gov-internal-cloud's cloud in the demo inventory
    monkeypatch.setenv("OS_CLOUD", "override")  # as apply: $OS_CLOUD wins over the Platform
    assert runner.invoke(app, ["approve", str(request_file), "--as", "ops", "--key",
                               str(ring.key_files["ops"])]).exit_code == 0
    payload = json.loads(approvals_path(request_file).read_text())["approvals"][0]["payload"]
    assert payload["cloud"] == "override"


def test_cli_approve_without_signed_roles(ring, request_file):
    roles.signature_path(ring.roles_file).unlink()
    result = cli_approve(ring, request_file, "ops")
    assert result.exit_code == 4 and "not signed" in result.output


# ---------------------------------------------------------------- apply


@pytest.fixture
def no_cloud(monkeypatch):
    monkeypatch.setenv("OS_CLOUD", CLOUD)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml")


def apply(ring, request_file, *extra, service=None):
    return runner.invoke(app, ["apply", str(ring.inventory), str(request_file), "--yes",
                               *extra], obj=service)


def test_apply_needs_the_three_approvals_for_mlps_3(ring, request_file, no_cloud):
    missing = apply(ring, request_file)
    assert missing.exit_code == 1, missing.output
    assert "no valid approval by department" in missing.output
    assert "nothing was sent" in missing.output.lower()
    for role in ("department", "ops", "security"):
        assert cli_approve(ring, request_file, role).exit_code == 0
    approved = apply(ring, request_file)
    # Approved: it goes on to the cloud, which does not exist here.
    assert approved.exit_code == 2 and "clouds.yaml" in approved.output, approved.output
    request_file.write_text(request_file.read_text().replace("cores: 8", "cores: 80"))
    changed = apply(ring, request_file)
    assert changed.exit_code == 1 and "the request changed" in changed.output


def test_apply_refuses_approvals_for_another_cloud(ring, request_file, no_cloud):
    for role in ("department", "ops", "security"):
        assert runner.invoke(app, ["approve", str(request_file), "--as", role, "--key",
                                   str(ring.key_files[role]), "--os-cloud", "test-cloud"]
                             ).exit_code == 0
    result = apply(ring, request_file)
    assert result.exit_code == 1 and "for cloud 'test-cloud', not 'gov-int'" in result.output


def test_apply_with_a_tampered_roles_file_is_an_integrity_failure(ring, request_file,
                                                                  no_cloud):
    for role in ("department", "ops", "security"):
        assert cli_approve(ring, request_file, role).exit_code == 0
    ring.roles_file.write_text(ring.roles_file.read_text().replace("liu.qiang", "mallory"))
    result = apply(ring, request_file)
    assert result.exit_code == 4 and "does not verify" in result.output


def test_level_2_requests_need_no_approval(ring, tmp_path, no_cloud):
    level2 = tmp_path / "l2.yaml"
    shutil.copy(LEVEL2, level2)
    result = apply(ring, level2)
    assert result.exit_code == 2 and "clouds.yaml" in result.output, result.output


def test_skipping_approvals_only_on_devcloud_and_recorded(ring, request_file, no_cloud,
                                                          monkeypatch):
    refused = apply(ring, request_file, "--skip-approvals-on-devcloud")
    assert refused.exit_code == 2 and "cannot skip approvals for cloud(s) gov-int" in (
        refused.output)
    monkeypatch.setenv("OS_CLOUD", "devcloud")
    # never touch the shared devcloud from unit tests: stop right where the cloud would be read
    from govcloud.provision.service import ProvisionService

    def stop(_cloud):
        raise InputError("stopped before the cloud", hint="test")

    skipped = apply(ring, request_file, "--skip-approvals-on-devcloud",
                    service=ProvisionService(connect=stop))
    assert skipped.exit_code == 2 and "stopped before the cloud" in skipped.output, (
        skipped.output)
    assert "approvals skipped for 1 MLPS>=3 request(s) on devcloud" in skipped.output
    from govcloud.state import state_dir

    log = (state_dir() / "audit.log").read_text().splitlines()
    assert any("apply --skip-approvals-on-devcloud" in line for line in log)


def test_the_devcloud_opt_out_also_from_the_environment(ring, request_file, no_cloud,
                                                        monkeypatch):
    monkeypatch.setenv("GOVCLOUD_SKIP_APPROVALS_ON_DEVCLOUD", "1")
    refused = apply(ring, request_file)  # OS_CLOUD is gov-int: the opt-out does not apply
    assert refused.exit_code == 2 and "cannot skip approvals" in refused.output


def test_cli_approvals_verify(ring, request_file, tmp_path):
    verify = ["approvals", "verify", str(request_file), "--os-cloud", CLOUD]
    missing = runner.invoke(app, verify)
    assert missing.exit_code == 1 and "no valid approval by ops" in missing.output
    for role in ("department", "ops", "security"):
        assert cli_approve(ring, request_file, role).exit_code == 0
    ok = runner.invoke(app, verify)
    assert ok.exit_code == 0 and "1 request(s) of MLPS >= 3 approved" in ok.output, ok.output
    other = runner.invoke(app, ["approvals", "verify", str(request_file), "--os-cloud", "x"])
    assert other.exit_code == 1 and "not 'x'" in other.output
    level2 = tmp_path / "l2.yaml"
    shutil.copy(LEVEL2, level2)
    assert runner.invoke(app, ["approvals", "verify", str(level2)]).exit_code == 0


def test_the_department_head_approves_only_their_own_department(ring, request_file):
    ring.docs[0]["spec"]["department"] = "prov-health"  # REQ-2026-0103 is prov-gov-office's
    ring.write()
    approve_all(ring, request_file)
    assert any("head of prov-health, not of the requesting department prov-gov-office" in p
               for p in problems(request_file))
    ring.docs[0]["spec"]["department"] = "prov-gov-office"
    ring.write()
    assert problems(request_file) == []


def test_the_applier_cannot_bring_their_own_trust_file(ring, request_file, no_cloud, tmp_path):
    """issue 13: 'the trust file is any path the applier passes' -- the option is gone."""
    trust = tmp_path / "my-trust.yaml"
    trust.write_text("security: []\n")
    result = apply(ring, request_file, "--require-approvals", str(trust))
    assert result.exit_code == 2 and "No such option" in result.output
