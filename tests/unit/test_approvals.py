"""Approvals (逐级审批, 三员): three roles, three distinct trusted keys, the request unchanged."""

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govcloud.approvals import (
    add_approval,
    approvals_path,
    load_requests,
    raw_key,
    sign_request,
    verify_approvals,
)
from govcloud.auditlog import generate_keypair
from govcloud.auditlog.log import load_private_key
from govcloud.cli.app import app
from govcloud.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
REQUEST = (ROOT / "policies" / "fixtures" / "GC-SEC-002" / "pass.yaml").read_text()


@pytest.fixture
def setup(tmp_path):
    """A request file, a key per role (plus a spare), and a trust file listing the three."""
    request = tmp_path / "req.yaml"
    request.write_text(REQUEST)
    keys = {}
    for name in ("department", "ops", "security", "spare"):
        private, public = generate_keypair(tmp_path / "keys" / name)
        keys[name] = (private, public)
    trust = tmp_path / "trust.yaml"
    write_trust(trust, {role: [keys[role][1].read_text()] for role in
                        ("department", "ops", "security")})
    return request, keys, trust


def write_trust(path, roles):
    path.write_text("".join(f"{role}:\n" + "".join("  - |\n" + "".join(
        f"    {line}\n" for line in key.strip().splitlines()) for key in keys)
        for role, keys in roles.items()))


def doc_of(request):
    return load_requests(request)[0]


def approve(request, key_file, role):
    doc = doc_of(request)
    add_approval(request, sign_request(doc, role, load_private_key(key_file)))


def test_three_roles_with_their_own_trusted_keys_approve(setup):
    request, keys, trust = setup
    for role in ("department", "ops", "security"):
        approve(request, keys[role][0], role)
    assert verify_approvals(doc_of(request), trust) == []
    stored = json.loads(approvals_path(request).read_text())
    assert [a["role"] for a in stored["approvals"]] == ["department", "ops", "security"]
    assert "PRIVATE" not in approvals_path(request).read_text()


def test_a_missing_role_is_refused(setup):
    request, keys, trust = setup
    approve(request, keys["department"][0], "department")
    approve(request, keys["ops"][0], "ops")
    problems = verify_approvals(doc_of(request), trust)
    assert len(problems) == 1 and "no valid approval by security" in problems[0]


def test_one_key_for_two_roles_is_refused(setup):
    request, keys, trust = setup
    # The same person is trusted as ops and security and signs both: 三员 forbids it.
    ops_pem = keys["ops"][1].read_text()
    write_trust(trust, {"department": [keys["department"][1].read_text()], "ops": [ops_pem],
                        "security": [ops_pem]})
    approve(request, keys["department"][0], "department")
    approve(request, keys["ops"][0], "ops")
    approve(request, keys["ops"][0], "security")
    problems = verify_approvals(doc_of(request), trust)
    assert any("approved as ops and security" in p for p in problems), problems
    assert any("trust file lists key" in p for p in problems), problems


def test_a_key_not_trusted_for_the_role_is_refused(setup):
    request, keys, trust = setup
    approve(request, keys["department"][0], "department")
    approve(request, keys["ops"][0], "ops")
    approve(request, keys["spare"][0], "security")
    problems = verify_approvals(doc_of(request), trust)
    assert any("does not list for security" in p for p in problems), problems
    assert any("no valid approval by security" in p for p in problems)


def test_the_request_changed_after_signing_is_refused(setup):
    request, keys, trust = setup
    for role in ("department", "ops", "security"):
        approve(request, keys[role][0], role)
    request.write_text(REQUEST.replace("cores: 8", "cores: 800"))
    problems = verify_approvals(doc_of(request), trust)
    assert len([p for p in problems if "changed after the" in p]) == 3, problems


def test_formatting_is_not_data(setup):
    request, keys, trust = setup
    for role in ("department", "ops", "security"):
        approve(request, keys[role][0], role)
    request.write_text("# reviewed\n" + REQUEST.replace("{cores: 8,", "{ cores: 8 ,"))
    assert verify_approvals(doc_of(request), trust) == []


def test_a_forged_signature_is_refused(setup):
    request, keys, trust = setup
    for role in ("department", "ops", "security"):
        approve(request, keys[role][0], role)
    path = approvals_path(request)
    data = json.loads(path.read_text())
    sig = bytearray(base64.b64decode(data["approvals"][1]["signature"]))
    sig[5] ^= 1
    data["approvals"][1]["signature"] = base64.b64encode(bytes(sig)).decode()
    path.write_text(json.dumps(data))
    problems = verify_approvals(doc_of(request), trust)
    assert any("ops approval's signature does not verify" in p for p in problems), problems


def test_a_role_signature_cannot_be_moved_to_another_role(setup):
    request, keys, trust = setup
    approve(request, keys["department"][0], "department")
    path = approvals_path(request)
    data = json.loads(path.read_text())
    moved = dict(data["approvals"][0], role="security")
    data["approvals"].append(moved)
    path.write_text(json.dumps(data))
    problems = verify_approvals(doc_of(request), trust)
    assert any("security approval's signature does not verify" in p for p in problems)


def test_trust_file_accepts_raw_base64_and_rejects_garbage(setup, tmp_path):
    request, keys, trust = setup
    raws = {}
    for role in ("department", "ops", "security"):
        private = load_private_key(keys[role][0])
        raws[role] = base64.b64encode(raw_key(private.public_key())).decode()
        approve(request, keys[role][0], role)
    raw_trust = tmp_path / "raw.yaml"
    raw_trust.write_text("".join(f"{r}: [{k}]\n" for r, k in raws.items()))
    assert verify_approvals(doc_of(request), raw_trust) == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("department: [not-a-key]\n")
    with pytest.raises(InputError, match="/department/0"):
        verify_approvals(doc_of(request), bad)
    bad.write_text("auditor: []\n")
    with pytest.raises(InputError, match="unknown role"):
        verify_approvals(doc_of(request), bad)


def test_cli_approve(setup):
    request, keys, trust = setup
    runner = CliRunner()
    for role in ("department", "ops", "security"):
        result = runner.invoke(app, ["approve", str(request), "--as", role,
                                     "--key", str(keys[role][0])])
        assert result.exit_code == 0, result.output
        assert "approved ResourceRequest/" in result.output
    assert verify_approvals(doc_of(request), trust) == []
    bad_role = runner.invoke(app, ["approve", str(request), "--as", "auditor",
                                   "--key", str(keys["ops"][0])])
    assert bad_role.exit_code == 2 and "unknown role 'auditor'" in bad_role.output
    no_key = runner.invoke(app, ["approve", str(request), "--as", "ops",
                                 "--key", str(request.parent / "missing.key")])
    assert no_key.exit_code == 2 and "Traceback" not in no_key.output
    request.write_text(REQUEST.replace("kind: ResourceRequest", "kind: ResourceRequest\nbad: 1"))
    invalid = runner.invoke(app, ["approve", str(request), "--as", "ops",
                                  "--key", str(keys["ops"][0])])
    assert invalid.exit_code == 2 and "req.yaml" in invalid.output
