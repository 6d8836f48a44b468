"""``--format markdown``: a summary table, a findings table and the errors, for a merge request.

Cells are escaped so that a message can neither break the table (``|``, newlines) nor inject
HTML into the page that renders it (``<``, ``>``, ``&`` become entities).
"""

from __future__ import annotations

from collections.abc import Iterable

from govcloud.model import LABELS, SEVERITIES, Report
from govcloud.report.common import error_location, generic_rows, references_text
from govcloud.report.sections import section_renderer


def cell(text: object) -> str:
    """One table cell: escaped, single line."""
    value = "" if text is None else str(text)
    value = value.replace("\\", "\\\\")
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace("|", "\\|")
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")
    return value


def table(headers: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    headers = list(headers)
    out = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    out.append("|" + "|".join("---" for _ in headers) + "|")
    out.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return out


def _summary(report: Report) -> list[str]:
    summary = report.summary()
    rows = [[LABELS[sev], summary[sev]] for sev in SEVERITIES]
    rows.append([LABELS["waived"], summary["waived"]])
    rows.append([LABELS["errors"], len(report.errors)])
    return table([LABELS["severity"], "Count / 数量"], rows)


def _findings(report: Report) -> list[str]:
    if not report.findings:
        return [f"_{LABELS['no_findings']}_"]
    headers = [
        LABELS[key]
        for key in ("severity", "policy", "target", "location", "message", "remediation", "status")
    ]
    rows = []
    for f in report.findings:
        location = f"{f.location} {f.path}".strip()
        status = f"{LABELS['waived']}: {f.waiver or '?'}" if f.waived else LABELS["open"]
        message = f.message
        if f.references:
            message += f" ({references_text(f)})"
        rows.append([f.severity, f.policy, f.target, location, message, f.remediation, status])
    return table(headers, rows)


def _errors(report: Report) -> list[str]:
    rows = [[error_location(e), e.path, e.message] for e in report.errors]
    return table([LABELS["location"], "Path / 路径", LABELS["message"]], rows)


def _section(name: str, data: object) -> list[str]:
    renderer = section_renderer(name)
    out = [f"## {cell(renderer.title)}", ""]
    if renderer.markdown is not None:
        out.append(renderer.markdown(data).rstrip("\n"))
        return out
    headers, rows = generic_rows(data)
    out.extend(table(headers, rows))
    return out


def render_markdown(report: Report, *, color: bool = False) -> str:
    out = [f"# {cell(report.title)}", "", f"## {LABELS['summary']}", ""]
    out.extend(_summary(report))
    out += ["", f"## {LABELS['findings']}", ""]
    out.extend(_findings(report))
    if report.errors:
        out += ["", f"## {LABELS['errors']}", ""]
        out.extend(_errors(report))
    for name, data in report.sections.items():
        out.append("")
        out.extend(_section(name, data))
    return "\n".join(out) + "\n"
