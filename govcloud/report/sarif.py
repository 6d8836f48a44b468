"""``--format sarif``: SARIF 2.1.0 for code-scanning UIs (GitHub, GitLab, Azure DevOps, VS Code).

One run; every policy seen becomes a rule of the ``govcloud`` driver; every finding a result
pointing at file:line of the YAML document and, as a logical location, at its ``<Kind>/<id>``.
Waived findings stay in the log with an external suppression whose justification is the Waiver
id, so that an assessor sees what was waived and by which approval. Document errors are tool
execution notifications of the invocation.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from govcloud import __version__
from govcloud.model import DocError, Finding, Report
from govcloud.report.common import report_document, to_json_text

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "SRCROOT"  # relative artifact URIs resolve against the folder govcloud ran in

LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning sorts and badges alerts by this CVSS-like number (a string, by its rule).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def artifact_location(file: str) -> dict[str, Any]:
    """``uri`` for a displayed file path: relative stays relative (to SRCROOT), absolute is file://."""
    posix = file.replace("\\", "/")
    if posix.startswith("/"):
        return {"uri": "file://" + quote(posix)}
    return {"uri": quote(posix), "uriBaseId": SRCROOT}


def _physical(file: str | None, line: int | None) -> dict[str, Any] | None:
    if not file:
        return None
    physical: dict[str, Any] = {"artifactLocation": artifact_location(file)}
    if line and line > 0:
        physical["region"] = {"startLine": line}
    return physical


def _rule(finding: Finding) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "severity": finding.severity,
        "references": list(finding.references),
        "security-severity": SECURITY_SEVERITY.get(finding.severity, "5.0"),
        "tags": ["security", "compliance"] + ([finding.family] if finding.family else []),
    }
    rule: dict[str, Any] = {
        "id": finding.policy,
        "shortDescription": {"text": finding.title or finding.policy},
        "defaultConfiguration": {"level": LEVELS.get(finding.severity, "warning")},
        "properties": properties,
    }
    if finding.remediation:
        rule["help"] = {"text": finding.remediation}
    return rule


def _fingerprint(finding: Finding) -> str:
    # Stable across runs and line moves, so a UI can track an alert from one commit to the next.
    key = "\x1f".join((finding.policy, finding.target, finding.path))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    location: dict[str, Any] = {}
    physical = _physical(finding.file, finding.line)
    if physical is not None:
        location["physicalLocation"] = physical
    kind, _, name = finding.target.partition("/")
    location["logicalLocations"] = [
        {"name": name or finding.target, "fullyQualifiedName": finding.target, "kind": "resource"}
    ]
    result: dict[str, Any] = {
        "ruleId": finding.policy,
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding.severity, "warning"),
        "message": {"text": finding.message or finding.title or finding.policy},
        "locations": [location],
        "partialFingerprints": {"govcloudFinding/v1": _fingerprint(finding)},
        "properties": {
            "severity": finding.severity,
            "target": finding.target,
            "kind": kind,
            "path": finding.path,
            "evidence": finding.evidence,
            "remediation": finding.remediation,
        },
    }
    if finding.waived:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": finding.waiver or ""}
        ]
    return result


def _notification(error: DocError) -> dict[str, Any]:
    text = error.message if not error.path else f"{error.path}: {error.message}"
    notification: dict[str, Any] = {"level": "error", "message": {"text": text}}
    physical = _physical(error.file, error.line)
    if physical is not None:
        notification["locations"] = [{"physicalLocation": physical}]
    return notification


def sarif_log(report: Report) -> dict[str, Any]:
    """The SARIF log as a dict (``render_sarif`` serializes it)."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results = []
    for finding in report.findings:
        if finding.policy not in index:
            index[finding.policy] = len(rules)
            rules.append(_rule(finding))
        results.append(_result(finding, index[finding.policy]))
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "govcloud",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        # A document error means some input was not analysed: the invocation did not succeed.
        "invocations": [
            {
                "executionSuccessful": not report.errors,
                "toolExecutionNotifications": [_notification(e) for e in report.errors],
            }
        ],
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if any(f.file and not f.file.startswith("/") for f in report.findings) or any(
        e.file and not e.file.startswith("/") for e in report.errors
    ):
        run["originalUriBaseIds"] = {
            SRCROOT: {"description": {"text": "The folder govcloud was run in."}}
        }
    extra = {k: v for k, v in report_document(report).items() if k in report.sections}
    if extra:
        run["properties"] = {"sections": extra}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: Report, *, color: bool = False) -> str:
    return to_json_text(sarif_log(report))
