"""`govcloud audit` on documents (no cloud), its HTML, the audit log, and evidence bundles."""

import json
import os
import re
import shutil
from pathlib import Path

import html5lib
import pytest
from typer.testing import CliRunner

from govcloud.auditlog import generate_keypair, verify
from govcloud.cli.app import app
from govcloud.state import state_dir

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "inventory"
REQUESTS = ROOT / "examples" / "requests"
CLOUD_FIXTURES = [ROOT / "policies" / "fixtures" / "_base",
                  ROOT / "policies" / "fixtures" / "GC-NET-001" / "fail.yaml",
                  ROOT / "policies" / "fixtures" / "GC-CLS-002" / "fail.yaml"]
runner = CliRunner()


def _inventory_of(root: Path, *sources: Path) -> Path:
    """Exported Cloud* documents are not requests: a test gives them as the inventory."""
    for src in sources:
        if src.is_dir():
            shutil.copytree(src, root / src.name, dirs_exist_ok=True)
        else:
            (root / src.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(src, root / src.parent.name / src.name)
    return root


@pytest.fixture
def cloud(tmp_path):
    """PATH and --inventory arguments for the cloud fixtures (base, two fail fixtures)."""
    inv = _inventory_of(tmp_path / "cloud-inv", *CLOUD_FIXTURES)
    return [inv, "--inventory", inv]


@pytest.fixture(autouse=True)
def _no_cloud(monkeypatch):
    monkeypatch.delenv("OS_CLOUD", raising=False)


@pytest.fixture
def keys(tmp_path):
    return generate_keypair(tmp_path / "keys")


def audit(*args):
    return runner.invoke(app, ["audit", *map(str, args)])


def test_documents_only_json_follows_the_contract():
    result = audit(INVENTORY, REQUESTS, "-o", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["version"] == 1
    assert set(data["summary"]) == {"critical", "high", "medium", "low", "waived"}
    keys = {"policy", "title", "severity", "target", "message", "file", "line", "path",
            "waived", "waiver"}
    assert data["findings"] and all(keys <= set(f) for f in data["findings"])
    assert data["audit"]["cloud"] is None and data["tenants"] and data["families"]
    # A findings-bearing run exits 1 at the default --fail-on high.
    assert audit(INVENTORY, REQUESTS, "-o", "json").exit_code == 1


def test_cloud_documents_given_as_files_are_audited_too(cloud):
    result = audit(*cloud, "-o", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    policies = {f["policy"] for f in data["findings"]}
    assert {"GC-NET-001", "GC-CLS-002"} <= policies
    tenant = data["tenants"]["health-epi"]
    assert tenant["findings"]["critical"] >= 4


def test_html_is_valid_self_contained_and_bilingual(tmp_path):
    out = tmp_path / "audit.html"
    inv = _inventory_of(tmp_path / "inv", INVENTORY, *CLOUD_FIXTURES[1:])
    result = audit(inv, REQUESTS, "--inventory", inv, "-o", "html", "--output", out)
    assert result.exit_code == 1, result.output
    text = out.read_text()
    html5lib.HTMLParser(strict=True).parse(text)  # raises on any parse error
    for label in ("Summary / 汇总", "By control family / 按控制类", "Tenants / 租户概览",
                  "Tenant / 租户: health-epi", "Remediation / 整改建议", "References / 依据",
                  "Evidence / 证据", "Computing environment / 安全计算环境",
                  "GB/T 22239-2019 8.1.4.4"):
        assert label in text, label
    assert "<script" not in text
    # Nothing is loaded or linked from outside: the only links are to anchors in the page.
    assert re.findall(r'(?:src|href)="([^"]*)"', text)
    assert all(link.startswith("#") for link in re.findall(r'(?:src|href)="([^"]*)"', text))
    assert 'Content-Security-Policy" content="default-src &#x27;none&#x27;' in text


@pytest.mark.parametrize("fmt", ["table", "markdown", "sarif", "junit"])
def test_other_formats_render(fmt, cloud):
    result = audit(*cloud, "-o", fmt)
    assert result.exit_code == 1 and result.stdout.strip()


def test_errors_and_usage(tmp_path, monkeypatch):
    nothing = audit("--no-hardening")
    assert nothing.exit_code == 2 and "nothing to audit" in nothing.output
    missing = audit(tmp_path / "missing.yaml")
    assert missing.exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: govcloud/v1\nkind: CloudRouter\nmetadata: {id: r}\n"
                   "spec: {cloud: c, tenant: t, name: r, router_id: r, external_gateway: maybe}\n")
    refused = audit(bad, "-o", "json")  # a Cloud* document is not a request
    assert refused.exit_code == 2 and "read from the live cloud" in refused.output
    invalid = audit(bad, "--inventory", bad, "-o", "json")
    assert invalid.exit_code == 1
    error = json.loads(invalid.stdout)["errors"][0]
    assert error["line"] == 4 and error["path"] == "/spec/external_gateway"
    assert audit(INVENTORY, "--fail-on", "sometimes").exit_code == 2
    no_key = audit(INVENTORY, "--evidence", tmp_path / "ev")
    assert no_key.exit_code == 2 and "signing key" in no_key.output
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds: {}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    unknown = audit("--os-cloud", "nowhere")
    assert unknown.exit_code == 2 and "not in clouds.yaml" in unknown.output
    assert "Traceback" not in unknown.output


def test_the_audit_is_recorded_in_the_audit_log(cloud):
    assert audit(*cloud, "-o", "json").exit_code == 1
    log = state_dir() / "audit.log"
    entry = json.loads(log.read_bytes().splitlines()[-1])
    assert entry["command"] == "audit"
    assert any(k.endswith("GC-NET-001/fail.yaml") for k in entry["inputs"])
    assert verify(log).ok


def test_evidence_bundle_verifies_and_names_every_tampered_file(tmp_path, keys, cloud):
    private, public = keys
    bundle = tmp_path / "evidence"
    result = audit(*cloud, "-o", "sarif", "--output", tmp_path / "r.sarif",
                   "--evidence", bundle, "--key", private)
    assert result.exit_code == 1, result.output
    names = sorted(p.name for p in bundle.iterdir())
    assert names == ["audit-log.jsonl", "inputs.json", "manifest.json", "manifest.sig",
                     "report.html", "report.json", "report.sarif"]
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert "PRIVATE" not in (bundle / "manifest.json").read_text()
    assert set(manifest["files"]) == set(names) - {"manifest.json", "manifest.sig"}
    inputs = json.loads((bundle / "inputs.json").read_text())["digests"]
    assert any(k.endswith("GC-CLS-002/fail.yaml") for k in inputs)

    ok = runner.invoke(app, ["evidence", "verify", str(bundle), "--key", str(public)])
    assert ok.exit_code == 0, ok.output
    assert runner.invoke(app, ["evidence", "verify", str(bundle)]).exit_code == 0

    html = bundle / "report.html"
    original = html.read_bytes()
    html.write_bytes(original.replace(b"Critical", b"Cr1tical", 1))
    bad = runner.invoke(app, ["evidence", "verify", str(bundle), "--key", str(public)])
    assert bad.exit_code == 4 and "report.html: changed" in bad.output
    html.write_bytes(original)

    (bundle / "extra.txt").write_text("later")
    bad = runner.invoke(app, ["evidence", "verify", str(bundle)])
    assert bad.exit_code == 4 and "extra.txt: not listed" in bad.output
    (bundle / "extra.txt").unlink()

    # Rewriting report.json and its digest in the manifest breaks the signature...
    report = bundle / "report.json"
    saved_report, saved_manifest = report.read_bytes(), (bundle / "manifest.json").read_bytes()
    report.write_text(report.read_text().replace('"critical": ', '"critical": 0, "x": ', 1))
    from govcloud.auditlog.log import sm3_hex

    manifest["files"]["report.json"] = sm3_hex(report.read_bytes())
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    bad = runner.invoke(app, ["evidence", "verify", str(bundle)])
    assert bad.exit_code == 4 and "manifest.json: the signature" in bad.output
    report.write_bytes(saved_report)
    (bundle / "manifest.json").write_bytes(saved_manifest)

    # ... and a re-signed bundle (another key) fails against the pinned key.
    other_private, other_public = generate_keypair(tmp_path / "other")
    bad = runner.invoke(app, ["evidence", "verify", str(bundle), "--key", str(other_public)])
    assert bad.exit_code == 4 and "not the given key" in bad.output

    (bundle / "audit-log.jsonl").unlink()
    bad = runner.invoke(app, ["evidence", "verify", str(bundle)])
    assert bad.exit_code == 4 and "audit-log.jsonl: missing" in bad.output


def test_evidence_folder_must_be_new(tmp_path, keys, cloud):
    private, _ = keys
    folder = tmp_path / "ev"
    folder.mkdir()
    (folder / "old.txt").write_text("x")
    result = audit(*cloud, "--evidence", folder, "--key", private)
    assert result.exit_code == 2 and "not empty" in result.output


def test_evidence_log_segment_matches_report(tmp_path, keys, monkeypatch, cloud):
    """The bundle's log entry recorded exactly this report: a report swapped for another run's
    report (with a consistent manifest signed by the same key) still fails. The log and the
    evidence have separate keys (三员): Ed25519 for the log, SM2 (the default) for evidence."""
    private, public = keys
    monkeypatch.setenv("GOVCLOUD_AUDIT_KEY", str(private))  # the audit log's key
    from govcloud import signing

    evidence_key = signing.generate()
    evidence_private, evidence_public = tmp_path / "evidence.key", tmp_path / "evidence.pub"
    evidence_private.write_bytes(signing.private_pem(evidence_key, None))
    evidence_public.write_text(evidence_key.public_pem())
    monkeypatch.setenv("GOVCLOUD_EVIDENCE_KEY", str(evidence_private))
    first, second = tmp_path / "one", tmp_path / "two"
    assert audit(*cloud, "-o", "json", "--evidence", first).exit_code == 1
    assert audit(INVENTORY, "-o", "json", "--evidence", second).exit_code in (0, 1)
    assert verify(state_dir() / "audit.log", __import__(
        "govcloud.auditlog.log", fromlist=["x"]).load_public_key(public)).ok
    # Swap report.json of the first bundle with the second's, and re-sign the manifest.
    from govcloud.audit.evidence import MANIFEST, SIGNATURE
    from govcloud.auditlog.log import sm3_hex

    (first / "report.json").write_bytes((second / "report.json").read_bytes())
    manifest = json.loads((first / MANIFEST).read_text())
    manifest["files"]["report.json"] = sm3_hex((first / "report.json").read_bytes())
    data = json.dumps(manifest).encode()
    (first / MANIFEST).write_bytes(data)
    import base64

    assert json.loads(data)["algorithm"] == "sm2"
    (first / SIGNATURE).write_bytes(base64.b64encode(evidence_key.sign(data)))
    bad = runner.invoke(app, ["evidence", "verify", str(first), "--key", str(evidence_public)])
    assert bad.exit_code == 4 and "report.json: not the report the audit log recorded" in (
        bad.output)
    assert os.environ["GOVCLOUD_AUDIT_KEY"]
