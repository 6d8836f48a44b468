"""``--format junit``: JUnit XML for CI test tabs (Jenkins, GitLab, Azure DevOps).

One ``<testsuite>`` per policy, one ``<testcase>`` per target it found something on: a
``<failure>`` when any finding on that target is open, ``<skipped>`` when all of them are waived
(the message names the Waiver). Document errors form their own suite, ``govcloud.documents``,
with an ``<error>`` per error. The report only holds what failed, so targets that passed do not
appear; an empty report is an empty ``<testsuites>`` (tests="0").

The output keeps to the Jenkins xunit-plugin ``junit-10.xsd`` (the tests validate it).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from govcloud.i18n import _
from govcloud.model import LABELS, DocError, Finding, Report
from govcloud.report.common import error_location, references_text

ERRORS_SUITE = "govcloud.documents"
# XML 1.0 cannot carry most control characters, even escaped; a message from a YAML file may.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _detail(finding: Finding) -> str:
    lines = [
        f"{finding.title}",
        f"{LABELS['severity']}: {finding.severity}",
        f"{LABELS['target']}: {finding.target}",
    ]
    if finding.location or finding.path:
        lines.append(f"{LABELS['location']}: {finding.location} {finding.path}".rstrip())
    lines.append(f"{LABELS['message']}: {finding.message}")
    if finding.evidence:
        lines.append(f"{LABELS['evidence']}: {finding.evidence}")
    if finding.remediation:
        lines.append(f"{LABELS['remediation']}: {finding.remediation}")
    if finding.references:
        lines.append(f"{LABELS['references']}: {references_text(finding)}")
    if finding.waived:
        lines.append(f"{LABELS['waived']}: {finding.waiver or '?'}")
    return "\n".join(lines)


def _set(element: ET.Element, **attrs: str) -> None:
    for key, value in attrs.items():
        element.set(key, _xml_text(value))


def _testcase(suite: ET.Element, policy: str, target: str, findings: list[Finding]) -> str:
    """Append the testcase for ``target``; return its outcome: failure or skipped."""
    case = ET.SubElement(suite, "testcase")
    _set(case, name=target, classname=policy, time="0")
    detail = _xml_text("\n\n".join(_detail(f) for f in findings))
    open_findings = [f for f in findings if not f.waived]
    if open_findings:
        first = open_findings[0]
        failure = ET.SubElement(case, "failure")
        _set(failure, type=first.severity, message=first.message)
        failure.text = detail
        return "failure"
    waivers = ", ".join(sorted({f.waiver or "?" for f in findings}))
    skipped = ET.SubElement(case, "skipped")
    _set(skipped, type="waived", message=_("waived by {waivers}").format(waivers=waivers))
    skipped.text = detail
    return "skipped"


def _policy_suite(root: ET.Element, policy: str, findings: list[Finding]) -> tuple[int, int, int]:
    suite = ET.SubElement(root, "testsuite")
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_target[finding.target].append(finding)
    outcomes = [_testcase(suite, policy, t, fs) for t, fs in by_target.items()]
    failures, skipped = outcomes.count("failure"), outcomes.count("skipped")
    _set(
        suite,
        name=policy,
        tests=str(len(outcomes)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time="0",
    )
    return len(outcomes), failures, 0


def _errors_suite(root: ET.Element, errors: tuple[DocError, ...]) -> tuple[int, int, int]:
    suite = ET.SubElement(root, "testsuite")
    _set(suite, name=ERRORS_SUITE, tests=str(len(errors)), failures="0", errors=str(len(errors)))
    _set(suite, skipped="0", time="0")
    for error in errors:
        case = ET.SubElement(suite, "testcase")
        name = error_location(error) + (f" {error.path}" if error.path else "")
        _set(case, name=name, classname=ERRORS_SUITE, time="0")
        element = ET.SubElement(case, "error")
        _set(element, type="invalid-document", message=error.message)
        element.text = _xml_text(str(error))
    return len(errors), 0, len(errors)


def render_junit(report: Report, *, color: bool = False) -> str:
    root = ET.Element("testsuites")
    by_policy: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_policy[finding.policy].append(finding)
    totals = [0, 0, 0]  # tests, failures, errors
    if report.errors:
        totals = [a + b for a, b in zip(totals, _errors_suite(root, report.errors), strict=True)]
    for policy, findings in by_policy.items():
        counts = _policy_suite(root, policy, findings)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    _set(root, name="govcloud", tests=str(totals[0]), failures=str(totals[1]))
    _set(root, errors=str(totals[2]), time="0")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
