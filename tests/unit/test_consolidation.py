"""Consolidation rules (pass/fail fixture per rule), per-level arithmetic, plan order, formats."""

import datetime as dt
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from govcloud.cli.app import app
from govcloud.consolidation import analyze, rules
from govcloud.consolidation.analysis import level_shares, migration_plan
from govcloud.model import Report
from govcloud.report import render
from govcloud.validate import load
from tests.unit.helpers import load_texts, request_doc, system_doc, yaml_doc, yaml_docs

BASE = yaml_docs(
    ("Platform", "ext-cloud", "{cloud: devcloud, zone: gov-external, mlps_level: 3, location: CN}"),
    ("Platform", "int-cloud", "{cloud: devcloud, zone: gov-internal, mlps_level: 4, location: CN}"),
    ("Department", "prov-a", '{name: A, level: province, region: "390000"}'),
    ("Department", "cnty-b", '{name: B, level: county, region: "390121"}'),
)


def room(rid, dept="prov-a", kind="independent", status="active", util=50, power=10,
         networks="[gov-external]"):
    return yaml_doc("MachineRoom", rid, f"{{department: {dept}, kind: {kind}, site: S, status: "
                    f"{status}, utilization_pct: {util},\n        power_kw: {power}, networks: "
                    f"{networks}}}")


system, request = system_doc, request_doc


FIXTURES = Path(__file__).parent / "consolidation_fixtures"


def test_every_rule_has_fixtures_and_metadata():
    ids = [r.id for r in rules()]
    assert len(ids) == len(set(ids)) == 11
    assert {p.name for p in FIXTURES.iterdir()} == set(ids)  # no rule without, no orphan
    for rule in rules():
        assert (FIXTURES / rule.id / "pass.yaml").is_file()
        assert (FIXTURES / rule.id / "fail.yaml").is_file()
        assert rule.severity in ("critical", "high", "medium", "low")
        assert rule.references and rule.remediation and "/" in rule.title  # bilingual
        assert rule.id.startswith("GC-CON-") and rule.name == rule.name.lower()
        Draft202012Validator.check_schema(dict(rule.options_schema))
        Draft202012Validator(dict(rule.options_schema)).validate(rule.defaults())


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.id)
@pytest.mark.parametrize("outcome", ["pass", "fail"])
def test_rule_fixture(rule, outcome):
    fixture = FIXTURES / rule.id / f"{outcome}.yaml"
    validated = load([fixture], inventory=fixture)
    assert not validated.all_errors, [str(e) for e in validated.all_errors]
    hits = rule.evaluate(validated.catalog)
    if outcome == "pass":
        assert hits == []
    else:
        assert hits
        for finding in hits:
            assert finding.policy == rule.id and finding.severity == rule.severity
            assert finding.file.endswith("fail.yaml") and finding.line > 1
            doc = validated.catalog.get(*finding.target.split("/"))
            assert doc is not None and finding.line == doc.line_of(finding.path)


def test_duplicate_systems_not_flagged_when_one_is_replaced(tmp_path):
    text = system("s1") + system("s2") + request("REQ-1", function="gis", replaces="[s1]")
    validated = load_texts(tmp_path, base=BASE, docs=text)
    (rule,) = [r for r in rules() if r.id == "GC-CON-003"]
    assert rule.evaluate(validated.catalog) == []


def test_rule_options_are_validated(tmp_path):
    (rule,) = [r for r in rules() if r.id == "GC-CON-003"]
    validated = load_texts(tmp_path, base=BASE, docs=system("p1", function="portal")
                           + system("p2", function="portal"))
    assert rule.evaluate(validated.catalog, {"ignore_functions": []})
    with pytest.raises(Exception, match="not of type"):
        rule.evaluate(validated.catalog, {"ignore_functions": "portal"})


def test_level_shares_arithmetic(tmp_path):
    extra = yaml_doc("Department", "prov-c", '{name: C, level: province, region: "390000"}')
    text = (extra + room("r1") + room("r2") + room("r3", dept="prov-c", status="retired")
            + system("p1", dept="cnty-b", function="portal"))
    validated = load_texts(tmp_path, base=BASE, docs=text)
    by_level = {lv.level: lv for lv in level_shares(validated.catalog)}
    assert [lv.level for lv in level_shares(validated.catalog)] == ["province", "prefecture",
                                                                     "county"]
    province = by_level["province"]
    assert (province.departments, province.with_independent_rooms) == (2, 1)
    assert province.share_independent == 0.5 and province.share_portal == 0.0
    # A level with no departments has shares of 0, not a division error.
    assert by_level["prefecture"].departments == 0
    assert by_level["prefecture"].share_independent == 0.0
    county = by_level["county"]
    assert (county.with_independent_rooms, county.with_portal, county.share_portal) == (0, 1, 1.0)


def test_plan_order_active_first_low_utilization_then_high_power(tmp_path):
    text = (room("busy", util=80, power=100) + room("idle-small", util=10, power=5)
            + room("idle-big", util=10, power=50) + room("moving", status="migrating", util=1)
            + room("secret", util=60, networks="[gov-internal]")
            + request("REQ-9", function="gis", replaces="[busy]"))
    validated = load_texts(tmp_path, base=BASE, docs=text)
    plan = migration_plan(validated.catalog)
    assert [s.room for s in plan] == ["idle-big", "idle-small", "secret", "busy", "moving"]
    by_room = {s.room: s for s in plan}
    assert by_room["idle-big"].reason == (
        "active, utilization 10%, 50 kW; moves to ext-cloud (gov-external)")
    assert by_room["busy"].replaced_by == ("REQ-9",)
    assert by_room["secret"].target_platform == "int-cloud"
    assert by_room["idle-big"].target_platform == "ext-cloud"


def test_json_shape(tmp_path):
    validated = load_texts(tmp_path, base=BASE, docs=room("r1") + room("r2"))
    data = analyze(validated.catalog).to_json()
    assert set(data) == {"levels", "duplicates", "plan", "findings"}
    assert set(data["levels"][0]) == {"level", "departments", "with_independent_rooms",
                                      "share_independent", "with_portal", "share_portal"}
    assert data["duplicates"][0]["ids"] == ["r1", "r2"]
    assert {"policy", "severity", "target", "file", "line", "path", "waived"} <= set(
        data["findings"][0])


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "junit", "html", "markdown"])
def test_every_format_carries_the_numbers(tmp_path, fmt):
    validated = load_texts(tmp_path, base=BASE, docs=room("r1"))
    result = analyze(validated.catalog)
    report = Report(findings=result.findings, sections={"consolidation": result.section()})
    text = render(report, fmt)
    if fmt in ("table", "html", "markdown"):
        assert "100.0%" in text  # province: 1 of 1 department has its own room
    if fmt == "html":
        assert "<svg" in text and "http://" not in text.replace(
            'xmlns="http://www.w3.org/2000/svg"', "")
    if fmt == "json":
        assert json.loads(text)["consolidation"]["levels"][0]["share_independent"] == 1.0


def test_cli_consolidation_json_and_errors(tmp_path):
    load_texts(tmp_path / "ok", base=BASE, docs=room("r1"))
    runner = CliRunner()
    result = runner.invoke(app, ["consolidation", "--inventory", str(tmp_path / "ok"),
                                 "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["levels"][0]["with_independent_rooms"] == 1
    load_texts(tmp_path / "bad", base=BASE, docs=room("r1", dept="prov-nowhere"))
    bad = runner.invoke(app, ["consolidation", "--inventory", str(tmp_path / "bad"), "-o",
                                 "json"])
    assert bad.exit_code == 1
    (error,) = json.loads(bad.stdout)["errors"]
    assert error["file"].endswith("docs.yaml") and error["line"] and "prov-nowhere" in (
        error["message"])


def test_check_includes_consolidation_rules(tmp_path):
    load_texts(tmp_path, base=BASE, docs=room("r1") + request("REQ-1", function="gis"))
    result = CliRunner().invoke(app, ["check", str(tmp_path), "--inventory", str(tmp_path),
                                      "-o", "json"])
    policies = {f["policy"] for f in json.loads(result.stdout)["findings"]}
    assert {"GC-CON-001", "GC-CON-008"} <= policies
    assert result.exit_code == 1  # GC-CON-008 is high: the request is refused unless waived


def test_empty_inventory_has_all_three_levels_at_zero(tmp_path):
    validated = load_texts(tmp_path, docs=BASE.split("---")[0])  # one platform, no departments
    data = analyze(validated.catalog).to_json()
    assert [lv["level"] for lv in data["levels"]] == ["province", "prefecture", "county"]
    assert all(lv["departments"] == 0 and lv["share_independent"] == 0.0
               and lv["share_portal"] == 0.0 for lv in data["levels"])
    assert data["duplicates"] == data["plan"] == data["findings"] == []


def test_unmeasured_rooms_come_after_measured_ones(tmp_path):
    unmeasured = yaml_doc("MachineRoom", "dark",
                          "{department: prov-a, kind: independent, site: S, status: active}")
    validated = load_texts(tmp_path, base=BASE, docs=unmeasured + room("hot", util=90))
    plan = migration_plan(validated.catalog)
    assert [s.room for s in plan] == ["hot", "dark"]
    # No networks and no hosted systems: assumed on the external network.
    assert plan[1].zones == ("gov-external",) and plan[1].target_platform == "ext-cloud"
    assert "utilization unknown" in plan[1].reason and "power unknown" in plan[1].reason


def test_platform_outside_china_is_no_target(tmp_path):
    overseas = yaml_docs(
        ("Platform", "dr-abroad", "{cloud: devcloud, zone: internet, mlps_level: 3, location: SG}"),
        ("Department", "prov-a", '{name: A, level: province, region: "390000"}'),
    )
    validated = load_texts(tmp_path, base=overseas, docs=room("r1", networks="[internet]"))
    (rule,) = [r for r in rules() if r.id == "GC-CON-001"]
    assert rule.evaluate(validated.catalog) == []
    (step,) = migration_plan(validated.catalog)
    assert step.target_platform is None
    assert "no domestic shared platform" in step.reason


def test_rooms_hosting_systems_take_the_systems_zones(tmp_path):
    hosted = room("r1", networks="[]") + system("s1", hosted="r1")
    validated = load_texts(tmp_path, base=BASE, docs=hosted)
    assert not validated.all_errors, [str(e) for e in validated.all_errors]
    (step,) = migration_plan(validated.catalog)
    assert step.zones == ("gov-external",) and step.target_platform == "ext-cloud"


def test_cli_request_replacing_unknown_room_is_an_error_with_line(tmp_path):
    load_texts(tmp_path, base=BASE, docs=room("r1") + request("REQ-1", replaces="[r-ghost]"))
    result = CliRunner().invoke(app, ["consolidation", "--inventory", str(tmp_path), "-o",
                                      "json"])
    assert result.exit_code == 1
    (error,) = json.loads(result.stdout)["errors"]
    assert "r-ghost" in error["message"] and error["path"] == "/spec/replaces/0"
    assert error["file"].endswith("docs.yaml") and error["line"] > 1


def test_cli_default_format_names_file_and_line_of_bad_reference(tmp_path):
    load_texts(tmp_path, base=BASE, docs=room("r1", dept="prov-nowhere"))
    result = CliRunner().invoke(app, ["consolidation", "--inventory", str(tmp_path), "-o",
                                      "table"])
    assert result.exit_code == 1
    assert "docs.yaml:" in result.stdout and "prov-nowhere" in result.stdout
    assert "Traceback" not in result.output


@pytest.mark.parametrize("fmt", ["table", "html", "markdown"])
def test_human_formats_say_why_the_plan_is_ordered(tmp_path, fmt):
    validated = load_texts(tmp_path, base=BASE, docs=room("r1") + room("r2", util=5))
    result = analyze(validated.catalog)
    text = render(Report(findings=result.findings,
                         sections={"consolidation": result.section()}), fmt)
    assert "lowest" in text and "first" in text
    plan = text[text.index("Migration plan"):]
    assert plan.index("r2") < plan.index("r1")  # r2 (5 %) is migrated before r1 (50 %)


def test_cli_applies_waivers_to_consolidation_findings(tmp_path):
    today = dt.date.today()
    waiver = f"""
---
apiVersion: govcloud/v1
kind: Waiver
metadata: {{id: WVR-1}}
spec: {{policy: GC-CON-002, target: MachineRoom/r2, reason: DR site until 2030,
       approved_by: sec-1, issued: "{today - dt.timedelta(days=10)}",
       expires: "{today + dt.timedelta(days=300)}"}}
---
apiVersion: govcloud/v1
kind: Role
metadata: {{id: sec-1}}
spec: {{role: security, holder: A. Officer, account: a.officer}}
"""
    load_texts(tmp_path, base=BASE, docs=room("r1") + room("r2") + waiver)
    result = CliRunner().invoke(app, ["consolidation", "--inventory", str(tmp_path), "-o",
                                      "json", "--fail-on", "medium"])
    findings = json.loads(result.stdout)["findings"]
    (dup,) = [f for f in findings if f["policy"] == "GC-CON-002"]
    assert dup["waived"] is True and dup["waiver"] == "WVR-1"
    assert result.exit_code == 1  # GC-CON-001 on both rooms is not waived
