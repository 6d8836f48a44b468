"""``--format markdown``: a summary table, a findings table and the errors, for a merge request.

Every text from a report (cells, headings, section text) goes through ``cell``: a message can
neither break the table (``|``, newlines) nor inject HTML into the page that renders it (``<``,
``>``, ``&`` become entities), nor become a link, an image, code or struck-through text (the
characters that start those are backslash-escaped).
"""

from __future__ import annotations

from collections.abc import Iterable

from govcloud.model import LABELS, SEVERITIES, Report
from govcloud.report.blocks import Block, Heading, KeyValue, Table, Text, as_cell
from govcloud.report.common import error_location, references_text, section_blocks
from govcloud.report.sections import section_title

# Start a code span, link (or image), emphasis or strike-through (``_`` is left: GitHub does not
# emphasise inside a word, so ``network_zone`` stays readable in the source).
_INLINE = "`[]*~"


def cell(text: object) -> str:
    """One table cell: escaped, single line."""
    value = "" if text is None else str(text)
    value = value.replace("\\", "\\\\")
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace("|", "\\|")
    for ch in _INLINE:
        value = value.replace(ch, "\\" + ch)
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
    out = [f"## {cell(section_title(name))}"]
    for block in section_blocks(name, data):
        lines = block_lines(block)
        if lines:
            out += ["", *lines]
    return out


def block_lines(block: Block) -> list[str]:
    """One neutral block as Markdown lines."""
    if isinstance(block, Heading):
        return [f"#### {cell(block.text)}"]
    if isinstance(block, Text):
        return [cell(block.text)] if block.text else []
    if isinstance(block, KeyValue):
        return table(block.headers, ([k, as_cell(v).text] for k, v in block.items))
    if isinstance(block, Table):
        return table(block.headers, ([as_cell(c).text for c in row] for row in block.rows))
    return []  # Bars: a chart is for HTML; its numbers are in a table beside it


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
