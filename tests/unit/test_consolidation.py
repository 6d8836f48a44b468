"""Consolidation rules (pass/fail fixture per rule), per-level arithmetic, plan order, formats."""

import json

import pytest
from typer.testing import CliRunner

from govcloud.cli.app import app
from govcloud.consolidation import analyze, rules
from govcloud.consolidation.analysis import level_shares, migration_plan
from govcloud.model import Report
from govcloud.report import render
from tests.unit.helpers import load_texts

BASE = """
apiVersion: govcloud/v1
kind: Platform
metadata: {id: ext-cloud}
spec: {cloud: devcloud, zone: gov-external, mlps_level: 3, location: CN}
---
apiVersion: govcloud/v1
kind: Platform
metadata: {id: int-cloud}
spec: {cloud: devcloud, zone: gov-internal, mlps_level: 4, location: CN}
---
apiVersion: govcloud/v1
kind: Department
metadata: {id: prov-a}
spec: {name: A, level: province, region: "390000"}
---
apiVersion: govcloud/v1
kind: Department
metadata: {id: cnty-b}
spec: {name: B, level: county, region: "390121"}
"""


def room(rid, dept="prov-a", kind="independent", status="active", util=50, power=10,
         networks="[gov-external]"):
    return f"""
---
apiVersion: govcloud/v1
kind: MachineRoom
metadata: {{id: {rid}}}
spec: {{department: {dept}, kind: {kind}, site: S, status: {status}, utilization_pct: {util},
        power_kw: {power}, networks: {networks}}}
"""


def system(sid, dept="prov-a", function="approval", extra=""):
    return f"""
---
apiVersion: govcloud/v1
kind: System
metadata: {{id: {sid}}}
spec: {{department: {dept}, name: {sid}, function: {function}, hosted_in: "cloud:t",
        mlps_level: 2, classification: internal, network_zone: gov-external{extra}}}
"""


def request(rid, dept="prov-a", function="approval", replaces="[]"):
    return f"""
---
apiVersion: govcloud/v1
kind: ResourceRequest
metadata: {{id: {rid}}}
spec:
  department: {dept}
  platform: ext-cloud
  tenant: t-{rid.lower()}
  purpose: p
  replaces: {replaces}
  system: {{name: n, function: {function}, mlps_level: 2, classification: internal,
           network_zone: gov-external}}
"""


FIXTURES = {
    "GC-CON-001": (room("r1", kind="shared-cloud") + room("r2", status="retired"), room("r1")),
    "GC-CON-002": (room("r1") + room("r2", status="migrating"), room("r1") + room("r2")),
    "GC-CON-003": (system("s1") + system("s2", function="gis")
                   + system("p1", function="portal") + system("p2", function="portal"),
                   system("s1") + system("s2")),
    "GC-CON-004": (system("p1", function="portal"),
                   system("p1", dept="cnty-b", function="portal")),
    "GC-CON-005": (system("p1", function="portal") + system("p2", dept="cnty-b",
                                                             function="portal"),
                   system("p1", function="portal") + system("p2", function="portal")),
    "GC-CON-006": (system("s1", extra=", authoritative_for: [people]")
                   + system("s2", extra=", authoritative_for: [land]"),
                   system("s1", extra=", authoritative_for: [people]")
                   + system("s2", dept="cnty-b", extra=", authoritative_for: [people]")),
    "GC-CON-007": (system("s1") + request("REQ-1", replaces="[s1]"),
                   system("s1") + request("REQ-1")),
    "GC-CON-008": (room("r1") + request("REQ-1", function="gis", replaces="[r1]"),
                   room("r1") + request("REQ-1", function="gis")),
}


def test_every_rule_has_fixtures_and_metadata():
    ids = [r.id for r in rules()]
    assert len(ids) == len(set(ids)) == len(FIXTURES)
    assert set(ids) == set(FIXTURES)
    for rule in rules():
        assert rule.severity in ("critical", "high", "medium", "low")
        assert rule.references and rule.remediation and "/" in rule.title  # bilingual


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.id)
@pytest.mark.parametrize("outcome", ["pass", "fail"])
def test_rule_fixture(tmp_path, rule, outcome):
    text = FIXTURES[rule.id][0 if outcome == "pass" else 1]
    validated = load_texts(tmp_path, base=BASE, docs=text)
    assert not validated.all_errors, [str(e) for e in validated.all_errors]
    hits = rule.evaluate(validated.catalog)
    if outcome == "pass":
        assert hits == []
    else:
        assert hits
        assert all(f.policy == rule.id and f.file and f.line for f in hits)


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
    extra = """
---
apiVersion: govcloud/v1
kind: Department
metadata: {id: prov-c}
spec: {name: C, level: province, region: "390000"}
"""
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
    assert by_room["busy"].replaced_by == ("REQ-9",)
    assert by_room["secret"].target_platform == "int-cloud"
    assert by_room["idle-big"].target_platform == "ext-cloud"


def test_json_shape(tmp_path):
    validated = load_texts(tmp_path, base=BASE, docs=room("r1") + room("r2"))
    data = analyze(validated.catalog).to_json()
    assert set(data) >= {"levels", "duplicates", "plan", "findings"}
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
    result = runner.invoke(app, ["consolidation", str(tmp_path / "ok"), "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["levels"][0]["with_independent_rooms"] == 1
    load_texts(tmp_path / "bad", base=BASE, docs=room("r1", dept="prov-nowhere"))
    bad = runner.invoke(app, ["consolidation", str(tmp_path / "bad"), "-o", "json"])
    assert bad.exit_code == 1
    (error,) = json.loads(bad.stdout)["errors"]
    assert error["file"].endswith("docs.yaml") and error["line"] and "prov-nowhere" in (
        error["message"])


def test_check_includes_consolidation_rules(tmp_path):
    load_texts(tmp_path, base=BASE, docs=room("r1") + request("REQ-1", function="gis"))
    result = CliRunner().invoke(app, ["check", str(tmp_path), "-o", "json"])
    policies = {f["policy"] for f in json.loads(result.stdout)["findings"]}
    assert {"GC-CON-001", "GC-CON-008"} <= policies
    assert result.exit_code == 1  # GC-CON-008 is high: the request is refused unless waived
