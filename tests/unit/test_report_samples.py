"""Sample reports shared by the renderer tests (open, waived, errors, empty, hostile text)."""

from __future__ import annotations

from govcloud.model import DocError, Finding, Report

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quoted" | pipe'

# Finding(policy, title, severity, target, message, file, line, path, ...), DocError(file, line,
# path, message): positional where every sample has them, by name for the rest.
CLASSIFIED = Finding(
    "GC-CLS-001", "Classified systems stay on the e-government internal network", "critical",
    "ResourceRequest/REQ-2026-0042",
    "Classified data must not leave the gov-internal network (电子政务内网)",
    "requests/health/REQ-2026-0042.yaml", 12, "/spec/system/network_zone",
    remediation="Set network_zone to gov-internal, or lower the classification",
    references=("GB/T 22239-2019 8.1.2", "保密法 第二十三条"),
    evidence="classification=secret, network_zone=gov-external", family="network",
)
FOREIGN_CPU = Finding(
    "GC-XC-002", "信创: servers use domestic CPUs", "high", "ResourceRequest/REQ-2026-0042",
    "服务器必须使用国产CPU，当前为 Intel Xeon Gold 6330",
    "requests/health/REQ-2026-0042.yaml", 30, "/spec/servers/0/components/cpu",
    waived=True, waiver="WV-2026-007", remediation="Use kunpeng-920 or hygon-7380",
    references=("国办发〔2022〕号",),
)
SINGLE_SERVER = Finding(
    "GC-HA-001", "MLPS level 3 systems run at least two servers", "medium",
    "System/prov-health-portal", "One server only; a level-3 system needs two for availability",
    "/srv/inventory/systems.yaml", 40, "/spec",
)
LIVE_ONLY = Finding(  # a live-cloud finding: no file at all
    "GC-SG-003", "No SSH from the internet", "low", "SecurityGroup/health-epi/web",
    "port 22 open to 0.0.0.0/0",
)
BAD_LEVEL = DocError(
    "departments/city.yaml", 3, "/spec/level", "'city' is not one of ['province', 'county']"
)
UNREADABLE = DocError("broken.yaml", None, "", "YAML syntax error: mapping values not allowed")

FULL = Report(
    findings=(CLASSIFIED, FOREIGN_CPU, SINGLE_SERVER, LIVE_ONLY), errors=(BAD_LEVEL, UNREADABLE)
)
FINDINGS_ONLY = Report(findings=(CLASSIFIED, SINGLE_SERVER))
WAIVED_ONLY = Report(findings=(FOREIGN_CPU,))
ERRORS_ONLY = Report(errors=(BAD_LEVEL, UNREADABLE))
EMPTY = Report()
HOSTILE = Report(
    findings=(
        Finding(XSS, XSS, "high", f"System/{XSS}", XSS, f"dir/{XSS}.yaml", 1, "/spec/x",
                waived=True, waiver=XSS, remediation=XSS, references=(XSS,), evidence=XSS),
    ),
    errors=(DocError(XSS, 2, XSS, XSS),),
    sections={"unregistered": {"note": XSS, "rows": [1, 2]}},
)

ALL = {
    "full": FULL,
    "findings": FINDINGS_ONLY,
    "waived": WAIVED_ONLY,
    "errors": ERRORS_ONLY,
    "empty": EMPTY,
}


def test_samples_cover_every_case() -> None:
    assert FULL.summary() == {"critical": 1, "high": 0, "medium": 1, "low": 1, "waived": 1}
    assert WAIVED_ONLY.exit_code("low") == 0
    assert ERRORS_ONLY.exit_code("never") == 1
    assert EMPTY.exit_code("low") == 0
