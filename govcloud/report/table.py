"""``--format table``: what an operator reads in a 100-column terminal.

Errors come first (they stop a request before any policy matters), each with file:line; then
one row per finding with wrapped cells; then the extra sections; a summary line closes it.
Header labels are bilingual: English on the first header line, Chinese on the second.
"""

from __future__ import annotations

from govcloud.i18n import _
from govcloud.model import LABELS, Finding, Report
from govcloud.report.blocks import Block, Heading, KeyValue, Table, Text, as_cell
from govcloud.report.common import (
    display_width,
    error_location,
    pad,
    section_blocks,
    summary_text,
    terminal_text,
    wrap,
)
from govcloud.report.sections import section_title

WIDTH = 100
GAP = "  "
MIN_MESSAGE = 34
# Widest a column may grow before it wraps, and how narrow it may shrink to leave room for
# the message: severity, policy, target, location.
CAPS = (8, 14, 24, 26)
FLOORS = (8, 10, 20, 18)
COLUMNS = ("severity", "policy", "target", "location", "message")
MIN_COLUMN = 6  # narrowest a section's column may get before its table becomes a list

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
    english, _sep, chinese = LABELS[key].partition(" / ")
    return english, chinese


def _cells(finding: Finding) -> list[str]:
    message = finding.message
    if finding.waived:
        message = f"[{LABELS['waived']}: {finding.waiver or '?'}] {message}"
    if finding.path:  # below the message: the location column stays short enough to scan
        message = f"{message}\n" + _("at {path}").format(path=finding.path)
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
    wrapped = [wrap(terminal_text(cell), w) for cell, w in zip(cells, widths, strict=True)]
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
        lines = wrap(terminal_text(f"{head}: {error.message}"), width - 4)
        out.append("  - " + lines[0])
        out.extend("    " + line for line in lines[1:])
    return out


def _section(name: str, data: object, width: int) -> list[str]:
    title = terminal_text(section_title(name))
    out = [title, "=" * min(display_width(title), width)]
    first = True
    for block in section_blocks(name, data):
        lines = block_lines(block, width)
        if lines and not first:
            out.append("")
        out.extend(lines)
        first = first and not lines
    return out


def block_lines(block: Block, width: int = WIDTH) -> list[str]:
    """One neutral block as terminal lines, none wider than ``width`` display columns."""
    if isinstance(block, Heading | Text):
        return wrap(terminal_text(block.text), width)
    if isinstance(block, KeyValue):
        return _key_values(block, width)
    if isinstance(block, Table):
        return _grid(block, width)
    return []  # Bars: a chart is for HTML; its numbers are in a table beside it


def _key_values(block: KeyValue, width: int) -> list[str]:
    rows = [(terminal_text(k), terminal_text(as_cell(v).text)) for k, v in block.items]
    key_width = min(max((display_width(k) for k, _value in rows), default=0), 30)
    out = []
    for key, value in rows:
        keys, values = wrap(key, key_width), wrap(value, width - key_width - len(GAP))
        for i in range(max(len(keys), len(values))):
            left = keys[i] if i < len(keys) else ""
            right = values[i] if i < len(values) else ""
            out.append(f"{pad(left, key_width)}{GAP}{right}".rstrip())
    return out


def _grid(block: Table, width: int) -> list[str]:
    """Columns as wide as their widest line, the widest narrowed (its cells wrap) until the
    table fits; a table that cannot fit with columns of ``MIN_COLUMN`` becomes a list."""
    heads = [terminal_text("\n".join(h.split(" / ", 1))) for h in block.headers]
    cells = [[as_cell(c) for c in row] for row in block.rows]
    texts = [[terminal_text(c.text) for c in row] for row in cells]
    count = len(heads)
    natural = [max((display_width(line) for text in [heads[i], *(row[i] for row in texts)]
                    for line in text.split("\n")), default=1) for i in range(count)]
    widths = [max(n, 1) for n in natural]
    room = width - len(GAP) * (count - 1)
    while sum(widths) > room:
        widest = max(range(count), key=widths.__getitem__)
        if widths[widest] <= MIN_COLUMN:
            return _records(block.headers, texts, width)
        widths[widest] -= 1
    out = _grid_row(heads, widths, [False] * count)
    out.append(GAP.join("-" * w for w in widths))
    for row, raw in zip(texts, cells, strict=True):
        out.extend(_grid_row(row, widths, [c.numeric for c in raw]))
    return out


def _grid_row(texts: list[str], widths: list[int], numeric: list[bool]) -> list[str]:
    wrapped = [wrap(text, w) for text, w in zip(texts, widths, strict=True)]
    lines = []
    for i in range(max(len(w) for w in wrapped)):
        parts = []
        for lines_of, w, right in zip(wrapped, widths, numeric, strict=True):
            text = lines_of[i] if i < len(lines_of) else ""
            gap = " " * max(w - display_width(text), 0)
            parts.append(gap + text if right else text + gap)
        lines.append(GAP.join(parts).rstrip())
    return lines


def _records(headers: tuple[str, ...], rows: list[list[str]], width: int) -> list[str]:
    out = []
    for row in rows:  # one bullet per row, "column: value" lines
        for col, (header, value) in enumerate(zip(headers, row, strict=True)):
            for i, line in enumerate(wrap(f"{terminal_text(header)}: {value}", width - 4)):
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
