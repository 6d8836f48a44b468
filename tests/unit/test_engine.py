import datetime as dt

import pytest

from govcloud.check import run_check
from govcloud.errors import PolicyError
from govcloud.policy import load_policies
from tests.unit.helpers import BASE, REQUEST, load_texts, write

DOMESTIC_CPU = """
apiVersion: govcloud/v1
kind: Policy
metadata: {id: T-DOM-001, labels: {title_zh: 国产CPU}}
spec:
  title: Domestic CPU
  severity: high
  applies_to: [ResourceRequest]
  select: /spec/servers/*
  require:
    properties:
      components:
        properties: {cpu: {properties: {origin: {const: domestic}}}}
  message: Servers must use a domestic CPU
  remediation: Pick a domestic CPU
  references: ["GB/T 22239-2019 8.1.4"]
"""

SSH_WORLD = """
apiVersion: govcloud/v1
kind: Policy
metadata: {id: T-SEC-002}
spec:
  title: No SSH from anywhere
  severity: critical
  applies_to: [ResourceRequest]
  select: /spec/security_groups/*/rules/*
  when: {properties: {direction: {const: ingress}, remote: {enum: ["0.0.0.0/0", "::/0"]}},
         required: [remote]}
  require:
    not:
      properties: {port_min: {maximum: 22}, port_max: {minimum: 22}}
      required: [port_min, port_max]
  message: SSH open to the world
  waivable: false
"""

TODAY = dt.date(2026, 11, 25)


@pytest.fixture
def policy_dir(tmp_path):
    folder = tmp_path / "policies"
    write(folder, "dom.yaml", DOMESTIC_CPU)
    write(folder, "ssh.yaml", SSH_WORLD)
    write(folder, "fixtures/x/fail.yaml", "not: a policy\n")  # fixtures are skipped
    return folder


def run(tmp_path, policy_dir, **files):
    validated = load_texts(tmp_path / "docs", **files)
    return run_check(validated, load_policies(policy_dir), today=TODAY, providers=())


def test_clean_request_has_no_findings(tmp_path, policy_dir):
    report = run(tmp_path, policy_dir, base=BASE, req=REQUEST)
    assert report.findings == () and report.errors == ()
    assert report.exit_code("high") == 0


def test_select_fans_out_and_points_at_the_item(tmp_path, policy_dir):
    req = REQUEST.replace("cpu: kunpeng-920", "cpu: xeon-6330")
    report = run(tmp_path, policy_dir, base=BASE, req=req)
    (finding,) = report.findings
    assert finding.policy == "T-DOM-001" and finding.target == "ResourceRequest/REQ-1"
    assert finding.path == "/spec/servers/0/components/cpu/origin"
    assert finding.line == 18  # the line of `cpu:` (origin is resolved, not in the file)
    assert "foreign" in finding.evidence
    assert report.exit_code("high") == 1 and report.exit_code("critical") == 0


def test_port_ranges_are_resolved(tmp_path, policy_dir):
    req = REQUEST.replace("port: 443", 'port: "1-1024"')
    report = run(tmp_path, policy_dir, base=BASE, req=req)
    (finding,) = report.findings
    assert finding.policy == "T-SEC-002"
    assert finding.path == "/spec/security_groups/0/rules/0"


def waiver(policy, expires, wid="W-1"):
    return f"""
    apiVersion: govcloud/v1
    kind: Waiver
    metadata: {{id: {wid}}}
    spec: {{policy: {policy}, target: ResourceRequest/REQ-1, reason: legacy hardware until
            migration, approved_by: ciso, issued: 2026-01-02, expires: {expires}}}
    """


def test_active_waiver_waives(tmp_path, policy_dir):
    req = REQUEST.replace("cpu: kunpeng-920", "cpu: xeon-6330")
    report = run(tmp_path, policy_dir, base=BASE, req=req, w=waiver("T-DOM-001", "2026-11-25"))
    (finding,) = report.findings
    assert finding.waived and finding.waiver == "W-1"
    assert report.summary() == {"critical": 0, "high": 0, "medium": 0, "low": 0, "waived": 1}
    assert report.exit_code("low") == 0


def test_expired_waiver_waives_nothing_and_is_reported(tmp_path, policy_dir):
    req = REQUEST.replace("cpu: kunpeng-920", "cpu: xeon-6330")
    report = run(tmp_path, policy_dir, base=BASE, req=req, w=waiver("T-DOM-001", "2026-11-24"))
    by_policy = {f.policy: f for f in report.findings}
    assert not by_policy["T-DOM-001"].waived
    expired = by_policy["GC-WAIVER-001"]
    assert expired.target == "Waiver/W-1" and "expired on 2026-11-24" in expired.message


def test_non_waivable_policy_ignores_waiver_and_says_so(tmp_path, policy_dir):
    req = REQUEST.replace("port: 443", "port: 22")
    report = run(tmp_path, policy_dir, base=BASE, req=req, w=waiver("T-SEC-002", "2027-01-01"))
    (finding,) = report.findings
    assert not finding.waived and "not waivable" in finding.message


def test_waiver_for_unknown_policy_is_an_error(tmp_path, policy_dir):
    report = run(tmp_path, policy_dir, base=BASE, req=REQUEST, w=waiver("T-NOPE-001", "2027-01-01"))
    assert any("T-NOPE-001" in e.message for e in report.errors)
    assert report.exit_code("never") == 1


def test_bad_policy_schema_is_a_policy_error(tmp_path):
    folder = tmp_path / "bad"
    write(folder, "p.yaml", DOMESTIC_CPU.replace("const: domestic", "type: 12"))
    with pytest.raises(PolicyError, match="not a valid JSON Schema"):
        load_policies(folder)


def test_duplicate_policy_ids_refused(tmp_path):
    folder = tmp_path / "dup"
    write(folder, "a.yaml", DOMESTIC_CPU)
    write(folder, "b.yaml", DOMESTIC_CPU)
    with pytest.raises(PolicyError, match="duplicate Policy id"):
        load_policies(folder)
