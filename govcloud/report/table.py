"""``--format table``: what an operator reads in a 100-column terminal.

Errors come first (they stop a request before any policy matters), each with file:line; then
one row per finding with wrapped cells; then the extra sections; a summary line closes it.
Header labels are bilingual: English on the first header line, Chinese on the second.
"""

from __future__ import annotations

from govcloud.model import LABELS, Finding, Report
from govcloud.report.common import (
    display_width,
    error_location,
    generic_rows,
    pad,
    summary_text,
    wrap,
)
from govcloud.report.sections import section_renderer

WIDTH = 100
GAP = "  "
MIN_MESSAGE = 34
# Widest a column may grow before it wraps, and how narrow it may shrink to leave room for
# the message: severity, policy, target, location.
CAPS = (8, 14, 24, 26)
FLOORS = (8, 10, 20, 18)
COLUMNS = ("severity", "policy", "target", "location", "message")

_ANSI = {
    "critical": "\033[1;31m",
    "high": "\033[31m",
    "medium": "\033[33m",
    "low": "\033[36m",
    "waived": "\033[2m",
    "error": "\033[1;31m",
}
_RESET = "\033[0m"


def _paint(text: str, key: str, color: bool) -> str:
    return f"{_ANSI[key]}{text}{_RESET}" if color and text else text


def _label_lines(key: str) -> tuple[str, str]:
    english, _, chinese = LABELS[key].partition(" / ")
    return english, chinese


def _cells(finding: Finding) -> list[str]:
    message = finding.message
    if finding.waived:
        message = f"[{LABELS['waived']}: {finding.waiver or '?'}] {message}"
    if finding.path:  # below the message: the location column stays short enough to scan
        message = f"{message}\nat {finding.path}"
    return [finding.severity, finding.policy, finding.target, finding.location, message]


def _widths(rows: list[list[str]], width: int) -> list[int]:
    natural = [
        max([display_width(h) for h in _label_lines(key)] + [display_width(r[i]) for r in rows])
        for i, key in enumerate(COLUMNS[:4])
    ]
    widths = [min(n, cap) for n, cap in zip(natural, CAPS, strict=True)]
    widths = [max(w, f) if n >= f else w for w, f, n in zip(widths, FLOORS, natural, strict=True)]

    def message_room() -> int:
        return width - sum(widths) - len(GAP) * 4

    # Give the message room first by narrowing location, then target, then policy.
    for index in (3, 2, 1):
        while message_room() < MIN_MESSAGE and widths[index] > FLOORS[index]:
            widths[index] -= 1
    return [*widths, max(message_room(), 12)]


def _row_lines(cells: list[str], widths: list[int], severity_key: str, color: bool) -> list[str]:
    wrapped = [wrap(cell, w) for cell, w in zip(cells, widths, strict=True)]
    height = max(len(w) for w in wrapped)
    out = []
    for i in range(height):
        parts = []
        for col, (lines, w) in enumerate(zip(wrapped, widths, strict=True)):
            text = lines[i] if i < len(lines) else ""
            last = col == len(widths) - 1
            cell = text if last else pad(text, w)
            if col == 0 and text:
                cell = _paint(text, severity_key, color) + " " * (w - display_width(text))
            parts.append(cell)
        out.append(GAP.join(parts).rstrip())
    return out


def _findings_table(findings: tuple[Finding, ...], width: int, color: bool) -> list[str]:
    rows = [_cells(f) for f in findings]
    widths = _widths(rows, width)
    header: list[str] = []
    for line in (0, 1):
        cells = [_label_lines(key)[line] for key in COLUMNS]
        header.append(GAP.join(pad(c, w) for c, w in zip(cells, widths, strict=True)).rstrip())
    out = [*header, GAP.join("-" * w for w in widths)]
    for finding, cells in zip(findings, rows, strict=True):
        key = "waived" if finding.waived else finding.severity
        out.extend(_row_lines(cells, widths, key if key in _ANSI else "low", color))
    return out


def _errors(report: Report, width: int, color: bool) -> list[str]:
    out = [_paint(f"{LABELS['errors']} ({len(report.errors)})", "error", color)]
    for error in report.errors:
        head = error_location(error) + (f" {error.path}" if error.path else "")
        lines = wrap(f"{head}: {error.message}", width - 4)
        out.append("  - " + lines[0])
        out.extend("    " + line for line in lines[1:])
    return out


def _section(name: str, data: object, width: int) -> list[str]:
    renderer = section_renderer(name)
    out = [renderer.title, "=" * min(display_width(renderer.title), width)]
    if renderer.table is not None:
        out.extend(renderer.table(data).rstrip("\n").splitlines())
        return out
    headers, rows = generic_rows(data)
    if headers == ["key", "value"]:
        key_width = min(max((display_width(k) for k, _ in rows), default=0), 30)
        for key, value in rows:
            keys, values = wrap(key, key_width), wrap(value, width - key_width - len(GAP))
            for i in range(max(len(keys), len(values))):
                left = keys[i] if i < len(keys) else ""
                right = values[i] if i < len(values) else ""
                out.append(f"{pad(left, key_width)}{GAP}{right}".rstrip())
        return out
    for row in rows:  # values or records: one bullet each, "column: value" lines
        for col, (header, value) in enumerate(zip(headers, row, strict=True)):
            text = value if headers == ["value"] else f"{header}: {value}"
            for i, line in enumerate(wrap(text, width - 4)):
                out.append(("  - " if col == 0 and i == 0 else "    ") + line)
    return out


def render_table(report: Report, *, color: bool = False, width: int = WIDTH) -> str:
    out: list[str] = []
    if report.errors:
        out.extend(_errors(report, width, color))
        out.append("")
    if report.findings:
        out.append(LABELS["findings"])
        out.extend(_findings_table(report.findings, width, color))
    else:
        out.append(LABELS["no_findings"])
    for name, data in report.sections.items():
        out.append("")
        out.extend(_section(name, data, width))
    out.append("")
    out.append(f"{LABELS['summary']}: {summary_text(report)}")
    return "\n".join(out) + "\n"
