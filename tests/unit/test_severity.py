"""One severity ranking (model.py): ordering, --fail-on thresholds, and what is not a severity."""

from __future__ import annotations

import pytest

from govcloud.model import (
    FAIL_ON_CHOICES,
    SEVERITIES,
    Finding,
    Report,
    at_or_above,
    severity_rank,
)
from govcloud.schemas import SPEC_SCHEMAS


def _finding(severity: str, policy: str = "GC-X-1", target: str = "System/a") -> Finding:
    return Finding(policy, "t", severity, target, "m")


def test_rank_is_worst_first_and_unknown_ranks_lowest() -> None:
    assert [severity_rank(s) for s in SEVERITIES] == [4, 3, 2, 1]
    assert severity_rank("never") == 0 and severity_rank("Critical") == 0  # not a severity
    assert FAIL_ON_CHOICES == (*SEVERITIES, "never")


@pytest.mark.parametrize(("severity", "fail_on", "expected"), [
    ("critical", "critical", True), ("high", "critical", False), ("high", "high", True),
    ("low", "medium", False), ("medium", "low", True), ("critical", "never", False),
])
def test_threshold(severity: str, fail_on: str, expected: bool) -> None:
    assert at_or_above(severity, fail_on) is expected


def test_an_unknown_severity_or_threshold_is_refused_not_passed() -> None:
    # A spelling the ranking does not know must not slip under the gate as "below threshold".
    with pytest.raises(KeyError):
        at_or_above("CRITICAL", "low")
    with pytest.raises(KeyError):
        Report(findings=(_finding("严重"),)).failing("low")
    with pytest.raises(KeyError):
        at_or_above("high", "sometimes")


def test_report_order_is_worst_first_then_policy_target_path() -> None:
    findings = [_finding("low", "A"), _finding("critical", "Z"), _finding("high", "B", "S/b"),
                _finding("high", "B", "S/a")]
    ordered = sorted(findings, key=Finding.order)
    assert [(f.severity, f.policy, f.target) for f in ordered] == [
        ("critical", "Z", "System/a"), ("high", "B", "S/a"), ("high", "B", "S/b"),
        ("low", "A", "System/a")]


def test_the_policy_schema_takes_its_severities_from_the_ranking() -> None:
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "severity" in node and isinstance(node["severity"], dict):
                found.append(node["severity"].get("enum"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SPEC_SCHEMAS)
    assert list(SEVERITIES) in found
