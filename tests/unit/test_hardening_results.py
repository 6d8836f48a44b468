"""Event stream -> per-host per-control status -> Report (pure; no Ansible run)."""

from __future__ import annotations

import json

import pytest

from govcloud.hardening.controls import Control, control_ids_of
from govcloud.hardening.results import collect, finalize, summary_counts, to_report

CONTROLS = {
    "MLPS3-AC-02": Control(
        "MLPS3-AC-02",
        "access",
        "SSH root login disabled",
        "禁止 root 远程登录",
        "GB/T 22239-2019 8.1.4.2 d)",
        "high",
        "Set PermitRootLogin no",
    ),
    "MLPS3-IA-04": Control(
        "MLPS3-IA-04",
        "identity",
        "Idle timeout",
        "超时退出",
        "GB/T 22239-2019 8.1.4.1 b)",
        "medium",
        "Set TMOUT",
    ),
    "MLPS3-AC-01": Control(
        "MLPS3-AC-01",
        "access",
        "No shared accounts",
        "共享账户",
        "GB/T 22239-2019 8.1.4.2 b) c)",
        "critical",
        "Lock them",
    ),
}


def ev(kind, task, host="h1", **res_and_data):
    data = {"host": host, "task": task, "task_action": res_and_data.pop("action", "x")}
    if "ignore_errors" in res_and_data:
        data["ignore_errors"] = res_and_data.pop("ignore_errors")
    data["res"] = res_and_data
    return {"event": kind, "event_data": data}


def test_task_names_carry_one_or_more_control_ids():
    assert control_ids_of("MLPS3-AC-02 | Disable SSH root login") == ["MLPS3-AC-02"]
    assert control_ids_of("MLPS3-IA-02 MLPS3-AC-05 | login.defs") == ["MLPS3-IA-02", "MLPS3-AC-05"]
    assert control_ids_of("Gathering Facts") == []
    assert control_ids_of("see MLPS3-AC-02 | later") == []


def test_audit_changed_means_non_compliant_and_ok_means_compliant():
    hosts = collect(
        [
            ev(
                "runner_on_ok", "MLPS3-AC-02 | sshd", changed=True, changed_keys=["PermitRootLogin"]
            ),
            ev("runner_on_ok", "MLPS3-IA-04 | TMOUT", changed=False),
        ],
        check=True,
    )
    assert hosts["h1"].controls["MLPS3-AC-02"].status == "non-compliant"
    assert "PermitRootLogin" in hosts["h1"].controls["MLPS3-AC-02"].message
    assert hosts["h1"].controls["MLPS3-IA-04"].status == "compliant"


def test_remediation_changed_means_remediated():
    hosts = collect([ev("runner_on_ok", "MLPS3-AC-02 | sshd", changed=True)], check=False)
    assert hosts["h1"].controls["MLPS3-AC-02"].status == "remediated"
    assert hosts["h1"].compliant


def test_ignored_assert_is_a_finding_other_failures_are_errors():
    hosts = collect(
        [
            ev(
                "runner_on_failed",
                "MLPS3-AC-01 | No UID 0",
                action="ansible.builtin.assert",
                ignore_errors=True,
                msg="shared superuser accounts: toor",
            ),
            ev("runner_on_failed", "MLPS3-IA-04 | TMOUT", msg="Permission denied\nmore"),
        ],
        check=True,
    )
    assert hosts["h1"].controls["MLPS3-AC-01"].status == "non-compliant"
    assert hosts["h1"].controls["MLPS3-IA-04"].status == "error"
    assert "Permission denied" in hosts["h1"].controls["MLPS3-IA-04"].message
    assert "more" not in hosts["h1"].controls["MLPS3-IA-04"].message


def test_one_task_for_several_controls_splits_by_changed_controls():
    hosts = collect(
        [
            ev(
                "runner_on_ok",
                "MLPS3-AC-02 MLPS3-IA-04 | sshd settings",
                changed=True,
                changed_keys=["ClientAliveInterval"],
                changed_controls={"MLPS3-IA-04": ["ClientAliveInterval"]},
            ),
        ],
        check=True,
    )
    assert hosts["h1"].controls["MLPS3-AC-02"].status == "compliant"
    assert hosts["h1"].controls["MLPS3-IA-04"].status == "non-compliant"
    assert "ClientAliveInterval" in hosts["h1"].controls["MLPS3-IA-04"].message


def test_worst_task_wins_and_skips_count_as_looked_at():
    hosts = collect(
        [
            ev("runner_on_ok", "MLPS3-AC-02 | a", changed=False),
            ev("runner_on_ok", "MLPS3-AC-02 | b", changed=True),
            ev("runner_on_skipped", "MLPS3-IA-04 | nothing to fix"),
            ev("runner_item_on_ok", "MLPS3-AC-01 | item events are not final", changed=True),
        ],
        check=True,
    )
    assert hosts["h1"].controls["MLPS3-AC-02"].status == "non-compliant"
    assert hosts["h1"].controls["MLPS3-IA-04"].status == "compliant"
    assert "MLPS3-AC-01" not in hosts["h1"].controls


def test_unreachable_host_gets_errors_for_every_control_and_a_report_error():
    hosts = finalize(
        collect(
            [ev("runner_on_unreachable", "Gathering Facts", host="h2", msg="timed out")], check=True
        ),
        CONTROLS,
        {"dark": {"h2": 1}, "ok": {}},
        inventory_hosts=["h2"],
    )
    h2 = hosts["h2"]
    assert not h2.reachable and not h2.compliant
    assert {c.status for c in h2.controls.values()} == {"error"}
    report = to_report(hosts, CONTROLS, "audit")
    assert report.exit_code("low") == 1
    assert any("unreachable" in e.message and e.path == "Host/h2" for e in report.errors)


def test_failed_task_without_control_stops_host_and_marks_rest_not_evaluated():
    hosts = finalize(
        collect(
            [
                ev("runner_on_ok", "MLPS3-AC-02 | sshd", changed=False),
                ev("runner_on_failed", "Refuse to lock out the management connection", msg="root"),
            ],
            check=True,
        ),
        CONTROLS,
        {"failures": {"h1": 1}},
    )
    assert hosts["h1"].other_failures
    assert hosts["h1"].controls["MLPS3-AC-02"].status == "compliant"
    assert hosts["h1"].controls["MLPS3-AC-01"].status == "error"
    assert "not evaluated" in hosts["h1"].controls["MLPS3-AC-01"].tasks[0]["task"]


def test_report_findings_carry_control_clause_severity_and_host_target():
    hosts = finalize(
        collect(
            [
                ev("runner_on_ok", "MLPS3-AC-02 | sshd", changed=True),
                ev("runner_on_ok", "MLPS3-IA-04 | TMOUT", changed=False),
            ],
            check=True,
        ),
        CONTROLS,
        {"ok": {"h1": 2}, "changed": {"h1": 1}},
    )
    report = to_report(hosts, CONTROLS, "audit", {"run_id": "r1"})
    (f,) = report.findings
    assert (f.policy, f.severity, f.target) == ("MLPS3-AC-02", "high", "Host/h1")
    assert f.references == ("GB/T 22239-2019 8.1.4.2 d)",)
    assert "禁止 root 远程登录" in f.message
    assert report.exit_code("low") == 1 and report.exit_code("critical") == 0
    doc = report.to_json()
    json.dumps(doc)  # serialisable as the spec's JSON report
    assert doc["hosts"]["h1"]["controls"]["MLPS3-AC-02"]["status"] == "non-compliant"
    assert doc["hosts"]["h1"]["stats"] == {"ok": 2, "changed": 1}
    assert doc["hardening"]["run_id"] == "r1"
    assert summary_counts(hosts)["non-compliant"] == 1


def test_remediated_run_has_no_findings():
    hosts = finalize(
        collect([ev("runner_on_ok", "MLPS3-AC-02 | sshd", changed=True)], check=False), CONTROLS, {}
    )
    report = to_report(hosts, CONTROLS, "remediate")
    assert report.findings == () and report.errors == ()
    assert report.exit_code("low") == 0


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "junit", "markdown", "html"])
def test_every_report_format_shows_the_host_and_control(fmt):
    import govcloud.hardening  # noqa: F401  (registers the hosts section)
    from govcloud.report import render

    hosts = finalize(
        collect([ev("runner_on_ok", "MLPS3-AC-02 | sshd", host="web-1", changed=True)], check=True),
        CONTROLS,
        {},
    )
    out = render(to_report(hosts, CONTROLS, "audit"), fmt)
    assert "MLPS3-AC-02" in out and "web-1" in out
