"""Meta-test over the shipped baseline: every policy is well-formed and proven by fixtures."""

import datetime as dt
from pathlib import Path

import pytest

from govcloud.check import run_check
from govcloud.policy import load_policies
from govcloud.policy.engine import default_policies_dir
from govcloud.validate import load

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
FIXTURES = POLICIES / "fixtures"
BASELINE = load_policies(POLICIES)
TODAY = dt.date(2026, 11, 25)


def test_package_ships_the_same_baseline():
    shipped = load_policies(default_policies_dir())
    assert [p.id for p in shipped.policies] == [p.id for p in BASELINE.policies]


def test_baseline_is_well_formed():
    ids = [p.id for p in BASELINE.policies]
    assert len(ids) >= 15 and len(ids) == len(set(ids))
    for policy in BASELINE.policies:
        assert policy.severity in ("critical", "high", "medium", "low")
        assert policy.references, policy.id
        assert policy.remediation, policy.id
        assert policy.title_zh, f"{policy.id} needs metadata.labels.title_zh"


def test_issue_policies_that_must_not_be_waived():
    non_waivable = {p.id for p in BASELINE.policies if not p.waivable}
    assert len(non_waivable) >= 2  # classified → gov-internal, system level ≤ platform level


@pytest.mark.parametrize("policy", BASELINE.policies, ids=lambda p: p.id)
@pytest.mark.parametrize("outcome", ["pass", "fail"])
def test_fixture(policy, outcome):
    fixture = FIXTURES / policy.id / f"{outcome}.yaml"
    assert fixture.is_file(), f"{policy.id} has no {outcome} fixture at {fixture}"
    validated = load(inventory=[FIXTURES / "_base", fixture])
    assert not validated.all_errors, [str(e) for e in validated.all_errors]
    report = run_check(validated, BASELINE.only([policy.id]), today=TODAY, providers=())
    hits = [f for f in report.findings if f.policy == policy.id and not f.waived]
    if outcome == "pass":
        assert hits == [], [f"{f.target} {f.path}: {f.evidence}" for f in hits]
    else:
        assert hits, f"{policy.id} did not fire on {fixture}"
        for finding in hits:
            assert finding.file and finding.line, finding
