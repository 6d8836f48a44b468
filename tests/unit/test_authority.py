"""Authority data comes only from the inventory; waivers are governed; hard rules stay on;
check can be scoped to the requests; rule providers are passed in."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govcloud.check import run_check
from govcloud.cli.app import app
from govcloud.gate import GateSettings
from govcloud.model import Finding, Report
from govcloud.policy import load_policies
from govcloud.policy.engine import default_policies_dir
from govcloud.providers import builtin_providers
from govcloud.validate import load
from tests.unit.helpers import BASE, REQUEST, write

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 25)
runner = CliRunner()

WAIVER = """
apiVersion: govcloud/v1
kind: Waiver
metadata: {{id: W-1}}
spec:
  policy: GC-DOM-001
  target: ResourceRequest/REQ-1
  reason: {reason}
  approved_by: {approver}
  issued: "{issued}"
  expires: "{expires}"
"""
ROLES = """
apiVersion: govcloud/v1
kind: Role
metadata: {id: ops-1}
spec: {role: ops, holder: An Operator, account: an.operator}
---
apiVersion: govcloud/v1
kind: Role
metadata: {id: sec-old}
spec: {role: security, holder: A Former Officer, account: f.officer, expires: "2026-01-31"}
"""
XEON_REQUEST = REQUEST.replace("cpu: kunpeng-920", "cpu: xeon-6330")


def inventory(tmp_path: Path, **extra: str) -> Path:
    inv = tmp_path / "inv"
    write(inv, "base.yaml", BASE)
    write(inv, "roles.yaml", ROLES)
    for name, text in extra.items():
        write(inv, f"{name}.yaml", text)
    return inv


def waiver(reason="Legacy Xeon hosts until the 2027 refresh", approver="ciso",
           issued="2026-06-01", expires="2027-05-31") -> str:
    return WAIVER.format(reason=reason, approver=approver, issued=issued, expires=expires)


def check(tmp_path: Path, request: str = XEON_REQUEST, **extra: str):
    inv = inventory(tmp_path, **extra)
    req = write(tmp_path / "req", "req.yaml", request)
    validated = load([req], inventory=inv)
    report = run_check(validated, load_policies(), today=TODAY, providers=())
    return validated, report


# ---------------------------------------------------------------- authority data


@pytest.mark.parametrize(("kind", "doc", "words"), [
    ("Waiver", waiver(), "ask the security office"),
    ("Component", "apiVersion: govcloud/v1\nkind: Component\nmetadata: {id: mssql}\nspec: "
     "{category: database, vendor: Microsoft, product: SQL Server, origin: domestic}\n",
     "catalog owner"),
    ("Platform", "apiVersion: govcloud/v1\nkind: Platform\nmetadata: {id: p}\nspec: "
     "{cloud: x, zone: gov-external, mlps_level: 3, location: CN}\n", "cloud's operators"),
    ("Department", "apiVersion: govcloud/v1\nkind: Department\nmetadata: {id: d}\nspec: "
     "{name: D, level: county, region: '390121'}\n", "inventory's maintainers"),
    ("Role", "apiVersion: govcloud/v1\nkind: Role\nmetadata: {id: me}\nspec: "
     "{role: security, holder: Me, account: me}\n", "security office"),
    ("Settings", "apiVersion: govcloud/v1\nkind: Settings\nmetadata: {id: s}\nspec: "
     "{waiver_max_days: 3650}\n", "cloud's operators"),
    ("CloudRouter", "apiVersion: govcloud/v1\nkind: CloudRouter\nmetadata: {id: r}\nspec: {}\n",
     "live cloud"),
])
def test_authority_data_in_a_request_file_is_refused(tmp_path, kind, doc, words):
    inv = inventory(tmp_path)
    req = write(tmp_path / "req", "req.yaml", XEON_REQUEST + "---\n" + doc)
    validated = load([req], inventory=inv)
    (error,) = validated.input_errors
    assert error.file.endswith("req/req.yaml") and error.line > 20 and error.path == "/kind"
    assert f"a {kind} in a request file counts for nothing" in error.message
    assert words in error.message
    assert {d.kind for d in validated.catalog.documents if d.file == error.file} == {
        "ResourceRequest"}


def test_a_waiver_in_the_request_file_waives_nothing_and_check_exits_2(tmp_path, monkeypatch):
    inv = inventory(tmp_path)
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(inv))
    req = write(tmp_path / "req", "req.yaml", XEON_REQUEST + "---\n" + waiver(
        approver="me", issued="2026-01-01", expires="2099-12-31"))
    result = runner.invoke(app, ["check", str(req), "-o", "json"])
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    dom = [f for f in report["findings"] if f["policy"] == "GC-DOM-001"]
    assert dom and not any(f["waived"] for f in dom)
    assert any("a Waiver in a request file" in e["message"] and e["line"] for e in
               report["errors"])


def test_a_path_inside_the_inventory_is_the_inventory(tmp_path):
    inv = inventory(tmp_path, waivers=waiver())
    req = write(inv / "requests", "req.yaml", XEON_REQUEST)
    validated = load([inv / "waivers.yaml", req], inventory=inv)
    assert not validated.all_errors, validated.all_errors
    assert validated.request_files == frozenset()
    assert [d.id for d in validated.requests()] == ["REQ-1"]  # named by a PATH
    assert len(validated.files) == len(set(validated.files))  # each file read once


def test_symlinks_are_judged_by_where_they_lead(tmp_path):
    inv = inventory(tmp_path)
    outside = write(tmp_path / "elsewhere", "w.yaml", waiver())
    alias = tmp_path / "alias.yaml"
    alias.symlink_to(inv / "base.yaml")  # a PATH that resolves into the inventory
    validated = load([alias], inventory=inv)
    assert not validated.input_errors
    sneaky = tmp_path / "sneaky"
    sneaky.mkdir()
    (sneaky / "w.yaml").symlink_to(outside)
    refused = load([sneaky], inventory=inventory(tmp_path / "other"))  # no link to it there
    assert any("a Waiver in a request file" in e.message for e in refused.input_errors)


def test_no_inventory_means_no_authority_data(tmp_path):
    req = write(tmp_path, "req.yaml", BASE)
    validated = load([req])
    kinds = {line.split(": ", 1)[1] for line in BASE.splitlines() if line.startswith("kind: ")}
    assert kinds == {"Department", "Platform", "Component", "Role", "Image"}
    assert len(validated.input_errors) == BASE.count("\nkind: ")
    assert not validated.catalog.documents


def test_cli_inventory_option_env_and_missing_inventory(tmp_path, monkeypatch):
    inv = inventory(tmp_path)
    req = write(tmp_path / "req", "req.yaml", REQUEST)
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(tmp_path / "nowhere"))
    missing = runner.invoke(app, ["validate", str(req)])
    assert missing.exit_code == 2 and "nowhere" in missing.output and "--inventory" in (
        missing.output)
    ok = runner.invoke(app, ["validate", str(req), "--inventory", str(inv)])
    assert ok.exit_code == 0, ok.output
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(inv))
    assert runner.invoke(app, ["validate", str(req)]).exit_code == 0


def test_unknown_component_names_the_catalog_owner_never_define_it(tmp_path):
    validated, _ = check(tmp_path, REQUEST.replace("os: kylin-v10", "os: mssql-2019"))
    (error,) = validated.errors
    assert "Component 'mssql-2019' does not exist" in error.message
    assert "catalog owner" in error.message and "define" not in error.message
    assert error.path.endswith("/components/os") and error.line


# ---------------------------------------------------------------- waivers


def waived(report: Report) -> bool:
    (dom,) = [f for f in report.findings if f.policy == "GC-DOM-001"]
    return dom.waived


def test_a_governed_waiver_waives(tmp_path):
    validated, report = check(tmp_path, waivers=waiver())
    assert not validated.all_errors, validated.all_errors
    assert waived(report)


def test_an_account_names_the_approver_too(tmp_path):
    _, report = check(tmp_path, waivers=waiver(approver="c.s.officer"))
    assert waived(report)


@pytest.mark.parametrize(("change", "words"), [
    ({"approver": "me"}, "approver 'me' is not a Role in the inventory"),
    ({"approver": "ops-1"}, "holds the ops role, not security"),
    ({"approver": "an.operator"}, "holds the ops role, not security"),
    ({"approver": "sec-old"}, "no longer held the security role"),
    ({"reason": "'  '"}, "'reason' is blank"),
    ({"issued": "2026-01-01", "expires": "2099-12-31"}, "over the 365-day limit"),
    ({"issued": "2026-06-01", "expires": "2027-06-02"}, "366 days, over the 365-day limit"),
    ({"issued": "2026-06-01", "expires": "2026-05-01"}, "is before issued"),
    ({"issued": "2026-02-30"}, "is not a real date"),
])
def test_an_ungoverned_waiver_is_an_error_and_waives_nothing(tmp_path, change, words):
    validated, report = check(tmp_path, waivers=waiver(**change))
    errors = [e for e in validated.errors if e.file.endswith("waivers.yaml")]
    assert errors and any(words in e.message for e in errors), [e.message for e in errors]
    assert all(e.line and e.line > 1 and "waives nothing" in e.message for e in errors)
    assert not waived(report)
    assert report.gate_exit_code("never") == 1  # the invalid waiver is itself an error


def test_the_term_limit_is_set_in_the_inventory(tmp_path):
    long_term = waiver(issued="2026-01-01", expires="2027-06-30")  # 545 days
    settings = ("apiVersion: govcloud/v1\nkind: Settings\nmetadata: {id: gate}\n"
                "spec: {waiver_max_days: 730}\n")
    validated, report = check(tmp_path, waivers=long_term, settings=settings)
    assert not validated.all_errors and waived(report)
    strict = settings.replace("730", "90")
    validated, report = check(tmp_path / "strict", waivers=waiver(), settings=strict)
    assert any("over the 90-day limit (Settings/gate waiver_max_days)" in e.message
               for e in validated.errors)
    assert not waived(report)


def test_an_expired_waiver_waives_nothing_and_cites_the_approval_review_clause(tmp_path):
    _, report = check(tmp_path, waivers=waiver(issued="2025-11-01", expires="2026-10-31"))
    assert not waived(report)
    (expired,) = [f for f in report.findings if f.policy == "GC-WAIVER-001"]
    assert expired.target == "Waiver/W-1" and expired.path == "/spec/expires" and expired.line
    assert expired.references == ("GB/T 22239-2019 8.1.7.3 c)",)
    assert "8.1.10.4" not in json.dumps(expired.to_json())


def test_a_waiver_issued_in_the_future_is_not_yet_in_force(tmp_path):
    _, report = check(tmp_path, waivers=waiver(issued="2026-12-01", expires="2027-05-31"))
    assert not waived(report)
    assert any(f.policy == "GC-WAIVER-002" and f.target == "Waiver/W-1"
               for f in report.findings)


def test_a_waiver_of_a_hard_rule_is_an_error_and_ignored(tmp_path):
    secret = REQUEST.replace("classification: internal", "classification: secret")
    hard = waiver().replace("GC-DOM-001", "GC-CLS-001")
    _, report = check(tmp_path, secret, waivers=hard)
    (cls,) = [f for f in report.findings if f.policy == "GC-CLS-001"]
    assert cls.hard and not cls.waived and "not waivable" in cls.message
    assert any("hard rule" in e.message and e.file.endswith("waivers.yaml")
               for e in report.errors)


def test_the_demo_inventory_waivers_are_governed():
    validated = load(inventory=ROOT / "inventory")
    assert not validated.all_errors, validated.all_errors[:3]
    assert {w.id for w in validated.catalog.of_kind("Waiver")} == {"WVR-2026-003",
                                                                   "WVR-2025-011"}
    assert {r.spec["role"] for r in validated.catalog.of_kind("Role")} == {
        "security", "audit", "ops", "evidence", "department"}


# ---------------------------------------------------------------- hard rules


def test_shipped_hard_rules_survive_an_empty_policies_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    policy_set = load_policies(empty)
    shipped = {p.id for p in load_policies().policies if not p.waivable}
    assert {"GC-CLS-001", "GC-MLPS-001", "GC-LOC-001"} <= shipped
    assert {p.id for p in policy_set.policies} == shipped == policy_set.hard_ids
    assert any("enforced although" in n for n in policy_set.notes)


def test_a_folder_redefining_a_hard_rule_is_ignored_with_a_note(tmp_path):
    folder = tmp_path / "mine"
    text = (default_policies_dir() / "GC-CLS-001.yaml").read_text(encoding="utf-8")
    write(folder, "GC-CLS-001.yaml", text.replace("waivable: false", "waivable: true")
          .replace("severity: critical", "severity: low"))
    policy_set = load_policies(folder)
    (cls,) = [p for p in policy_set.policies if p.id == "GC-CLS-001"]
    assert not cls.waivable and cls.severity == "critical"
    assert "govcloud/data/policies" in cls.file and "mine" not in cls.file
    assert any("GC-CLS-001 is a hard rule shipped with govcloud" in n for n in policy_set.notes)


def test_the_same_baseline_folder_gives_no_note():
    assert load_policies(ROOT / "policies").notes == ()


def test_hard_findings_block_whatever_fail_on_says():
    hard = Finding("GC-CLS-001", "t", "critical", "ResourceRequest/R", "m", hard=True)
    soft = Finding("GC-SEC-002", "t", "critical", "ResourceRequest/R", "m")
    report = Report(findings=(hard, soft))
    assert report.blocking("never") == [hard]
    assert report.failing("never") == []  # audit and consolidation keep plain --fail-on
    assert report.gate_exit_code("never") == 1
    assert Report(findings=(soft,)).gate_exit_code("never") == 0


CLASSIFIED = ROOT / "examples" / "requests" / "bad-classified-on-external.yaml"


@pytest.mark.parametrize("args", [["--fail-on", "never"], ["--policies", "EMPTY"],
                                  ["--policies", "EMPTY", "--fail-on", "never"]])
def test_check_refuses_classified_on_external_whatever_the_flags(tmp_path, args):
    (tmp_path / "empty").mkdir()
    args = [str(tmp_path / "empty") if a == "EMPTY" else a for a in args]
    result = runner.invoke(app, ["check", str(CLASSIFIED), "-o", "json", *args])
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    assert any(f["policy"] == "GC-CLS-001" and f["hard"] for f in findings)
    assert "hard rules fail the gate" in result.output


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize("args", [["--fail-on", "never"], ["--policies", "EMPTY"]])
def test_plan_and_apply_refuse_before_any_cloud_call(tmp_path, monkeypatch, command, args):
    def no_call(*_a, **_k):
        raise AssertionError("the cloud was called")

    monkeypatch.setattr("govcloud.cloud.connect", no_call)
    monkeypatch.delenv("OS_CLOUD", raising=False)
    (tmp_path / "empty").mkdir()
    args = [str(tmp_path / "empty") if a == "EMPTY" else a for a in args]
    extra = ["--yes"] if command == "apply" else []
    result = runner.invoke(app, [command, str(CLASSIFIED), *args, *extra])
    assert result.exit_code == 1, result.output
    assert "GC-CLS-001" in result.output and "[hard rule]" in result.output
    assert "Nothing was sent to the cloud" in result.output
    from govcloud.state import state_dir

    entry = json.loads((state_dir() / "audit.log").read_bytes().splitlines()[-1])
    assert entry["command"] == command  # the refused override is in the audit log, in clear
    assert entry["actor"] and entry["gate"]["hard_findings"] >= 1
    overridden = entry["gate"]["overrides"]
    assert (overridden.get("fail_on") == "never" if "--fail-on" in args
            else overridden.get("policies") == str(tmp_path / "empty"))


def test_gate_settings_record_every_override_and_waiver():
    waived = Finding("GC-DOM-001", "t", "high", "ResourceRequest/R", "m", waived=True,
                     waiver="W-1")
    report = Report(findings=(waived,))
    default = GateSettings(inventory="inventory").record(report, load_policies())
    assert default["overrides"] == {} and default["waivers_applied"] == ["W-1"]
    assert default["inventory"] == "inventory"
    odd = GateSettings("never", "/tmp/p", "requests", "/x", "$GOVCLOUD_INVENTORY", "2026-01-01")
    assert odd.overrides() == {"fail_on": "never", "policies": "/tmp/p", "scope": "requests",
                               "inventory": "/x ($GOVCLOUD_INVENTORY)", "as_of": "2026-01-01"}


def test_check_passes_the_gate_record_to_the_audit_log(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr("govcloud.cli.app.record",
                        lambda name, inputs, result: seen.update(result=result, inputs=inputs))
    runner.invoke(app, ["check", str(CLASSIFIED), "-o", "json", "--fail-on", "never"])
    gate = seen["result"]["gate"]
    assert gate["overrides"]["fail_on"] == "never" and gate["hard_findings"] >= 1
    assert gate["overrides"]["inventory"].endswith("($GOVCLOUD_INVENTORY)")  # set by conftest
    assert any(Path(p).name == "inventory" for p in seen["inputs"])  # its files are digested


def test_an_override_is_readable_in_the_audit_log_with_its_actor():
    import pwd

    from govcloud.state import state_dir

    runner.invoke(app, ["check", str(CLASSIFIED), "-o", "json", "--fail-on", "never"])
    entry = json.loads((state_dir() / "audit.log").read_bytes().splitlines()[-1])
    assert entry["command"] == "check"
    assert entry["gate"]["overrides"]["fail_on"] == "never"
    assert entry["actor"] == pwd.getpwuid(os.geteuid()).pw_name  # the kernel's, not $LOGNAME


# ---------------------------------------------------------------- scope


def test_scope_requests_leaves_out_inventory_findings(tmp_path):
    requests = ROOT / "examples" / "requests" / "good-county-elderly-care-level2.yaml"
    everything = runner.invoke(app, ["check", str(requests), "-o", "json"])
    scoped = runner.invoke(app, ["check", str(requests), "-o", "json", "--scope", "requests"])
    all_findings = json.loads(everything.stdout)["findings"]
    assert any(f["target"].startswith(("System/", "Waiver/")) for f in all_findings)
    assert everything.exit_code == 1  # inventory findings (consolidation, high)
    assert scoped.exit_code == 0, scoped.output
    assert json.loads(scoped.stdout)["findings"] == []


def test_scope_requests_keeps_what_a_request_causes(tmp_path):
    dup = ROOT / "examples" / "requests" / "bad-duplicate-oa-without-replaces.yaml"
    scoped = runner.invoke(app, ["check", str(dup), "-o", "json", "--scope", "requests"])
    findings = json.loads(scoped.stdout)["findings"]
    assert findings and all(f["target"] == "ResourceRequest/REQ-2026-0301" for f in findings)
    assert any(f["policy"].startswith("GC-CON-") for f in findings)
    assert scoped.exit_code == 1


def test_scope_requests_needs_a_request_and_a_known_scope():
    only_inventory = runner.invoke(app, ["check", str(ROOT / "inventory"), "--scope",
                                         "requests"])
    assert only_inventory.exit_code == 2 and "no PATH holds requests" in only_inventory.output
    assert runner.invoke(app, ["check", str(CLASSIFIED), "--scope", "mine"]).exit_code == 2


def test_run_check_scope_keeps_errors_of_request_files_only(tmp_path):
    inv = inventory(tmp_path, waivers=waiver(approver="me"))
    req = write(tmp_path / "req", "req.yaml", XEON_REQUEST)
    validated = load([req], inventory=inv)
    full = run_check(validated, load_policies(), today=TODAY, providers=())
    scoped = run_check(validated, load_policies(), today=TODAY, providers=(), scope="requests")
    assert any(e.file.endswith("waivers.yaml") for e in full.errors)
    assert scoped.errors == ()
    assert {f.target for f in scoped.findings} == {"ResourceRequest/REQ-1"}


# ---------------------------------------------------------------- providers


def test_run_check_takes_its_providers_explicitly(tmp_path):
    validated = load(inventory=ROOT / "inventory")
    policies = load_policies()
    with pytest.raises(TypeError):
        run_check(validated, policies, today=TODAY)  # type: ignore[call-arg]
    bare = run_check(validated, policies, today=TODAY, providers=())
    full = run_check(validated, policies, today=TODAY, providers=builtin_providers())
    assert not any(f.policy.startswith("GC-CON-") for f in bare.findings)
    assert any(f.policy.startswith("GC-CON-") for f in full.findings)


def test_check_imports_no_provider():
    code = ("import sys, govcloud.check; "
            "print(any(m.startswith('govcloud.consolidation') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
    source = (ROOT / "govcloud" / "check.py").read_text(encoding="utf-8")
    assert "ImportError" not in source and "consolidation import" not in source
