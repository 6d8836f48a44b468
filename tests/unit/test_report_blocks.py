"""Sections as neutral blocks: hostile text in a consolidation, audit or hardening section is
escaped by the format that draws it (Markdown, HTML, terminal), exactly as findings are."""

from __future__ import annotations

from typing import Any

import pytest

import govcloud.audit  # noqa: F401  (registers tenants and families)
import govcloud.consolidation  # noqa: F401  (registers consolidation)
import govcloud.hardening  # noqa: F401  (registers hosts)
from govcloud.model import Report
from govcloud.report import render
from govcloud.report.blocks import Bars, Cell, Heading, KeyValue, Table, Text
from govcloud.report.common import display_width, terminal_text
from govcloud.report.html import block_html
from govcloud.report.markdown import block_lines as markdown_lines
from govcloud.report.table import block_lines as text_lines

# A pipe to break the table, markup to run, a newline to end the row, backticks and brackets to
# turn text into code or a link, an escape sequence to repaint the terminal, a bidi override.
HOSTILE = ("evil | <script>alert('x')</script>\n| row | `code` [link](http://x) ~~gone~~ "
           "\x1b[2J\x1b]0;owned\x07 \u202eabc")

CONSOLIDATION: dict[str, Any] = {
    "levels": [{"level": HOSTILE, "departments": 1, "with_independent_rooms": 1,
                "share_independent": 1.0, "with_portal": 0, "share_portal": 0.0}],
    "duplicates": [{"kind": "rooms", "department": HOSTILE, "key": HOSTILE,
                    "ids": [HOSTILE, "r2"]}],
    "plan_order": HOSTILE,
    "plan": [{"order": 1, "room": HOSTILE, "department": HOSTILE, "status": "active",
              "utilization_pct": 5, "power_kw": None, "target_platform": None,
              "replaced_by": [HOSTILE], "reason": HOSTILE}],
}
TENANTS: dict[str, Any] = {
    HOSTILE: {"mlps_level": 3, "classification": HOSTILE, "request": HOSTILE,
              "resources": {"CloudServer": 2}, "findings": {"critical": 1}, "targets": []},
}
FAMILIES: dict[str, Any] = {"network": {"title": HOSTILE, "critical": 2}}
HOSTS: dict[str, Any] = {
    HOSTILE: {"reachable": True, "controls": {"MLPS3-AC-02": {"status": "non-compliant",
                                                               "message": HOSTILE}}},
    "web-2": {"reachable": False, "unreachable": HOSTILE, "controls": {}},
}
SECTIONS = {"consolidation": CONSOLIDATION, "tenants": TENANTS, "families": FAMILIES,
            "hosts": HOSTS}


def _tables(markdown: str) -> list[list[str]]:
    tables: list[list[str]] = []
    current: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def _columns(row: str) -> int:
    return row.replace("\\|", "").count("|") - 1


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_markdown_escapes_section_cells_like_findings(name: str) -> None:
    text = render(Report(sections={name: SECTIONS[name]}), "markdown")
    section = text[text.index("## ", text.index("## Findings")):]
    assert "<script>" not in section and "&lt;script&gt;" in section
    tables = _tables(section)
    assert tables
    for rows in tables:  # no pipe or newline broke a row out of its table
        assert len({_columns(r) for r in rows}) == 1, rows
    # Backticks, brackets and tildes stay literal text: no code span, link or strike-through.
    assert "`" not in section.replace("\\`", "")
    assert "[link]" not in section and "\\[link\\]" in section
    assert "~~" not in section.replace("\\~", "")


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_html_escapes_section_cells(name: str) -> None:
    text = render(Report(sections={name: SECTIONS[name]}), "html")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert 'href="http' not in text


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_terminal_shows_control_characters_and_stays_in_100_columns(name: str) -> None:
    text = render(Report(sections={name: SECTIONS[name]}), "table")
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "\\x1b[2J" in text and "\\u202e" in text  # shown, not obeyed
    for line in text.splitlines():
        assert display_width(line) <= 100, line


def test_terminal_text_keeps_ordinary_text_and_newlines() -> None:
    assert terminal_text("省级 a/b-c\nnext") == "省级 a/b-c\nnext"
    assert terminal_text("a\tb\x7f\x9b") == "a b\\x7f\\x9b"


def test_findings_in_the_terminal_are_made_safe_too() -> None:
    from govcloud.model import Finding

    finding = Finding("GC-X-1", "t", "high", "System/a", "\x1b[31mfake\x1b[0m ok")
    text = render(Report(findings=(finding,)), "table")
    assert "\x1b" not in text and "\\x1b[31mfake" in text


def test_each_block_kind_in_each_format() -> None:
    table = Table(("Name / 名称", "Count / 数量"), (("a", Cell("10", numeric=True, alert=True)),
                                                   (Cell("b", link="tenant-b"), "2")))
    assert block_html(table) == (
        "<table><thead><tr><th>Name / 名称</th><th>Count / 数量</th></tr></thead><tbody>"
        '<tr><td>a</td><td class="n hot">10</td></tr>'
        '<tr><td><a href="#tenant-b">b</a></td><td>2</td></tr></tbody></table>')
    assert markdown_lines(table) == ["| Name / 名称 | Count / 数量 |", "|---|---|",
                                     "| a | 10 |", "| b | 2 |"]
    assert text_lines(table) == ["Name  Count", "名称  数量", "----  -----", "a        10",
                                 "b     2"]
    pairs = KeyValue((("key", "v<1>"),))
    assert block_html(pairs) == (
        "<table><tbody><tr><td>key</td><td>v&lt;1&gt;</td></tr></tbody></table>")
    assert markdown_lines(pairs) == ["|  |  |", "|---|---|", "| key | v&lt;1&gt; |"]
    assert text_lines(pairs) == ["key  v<1>"]
    assert block_html(Heading("a<b")) == "<h3>a&lt;b</h3>"
    assert markdown_lines(Heading("a|b")) == ["#### a\\|b"]
    assert text_lines(Text("x " * 80), 40)[0] == ("x " * 20).rstrip()
    bars = Bars("l", ("s",), (("row", (0.25,)),))
    assert "<svg" in block_html(bars) and "25.0%" in block_html(bars)
    assert markdown_lines(bars) == [] and text_lines(bars) == []


def test_a_table_too_wide_for_the_terminal_becomes_a_list() -> None:
    wide = Table(tuple(f"column {i}" for i in range(20)), (tuple(str(i) * 9 for i in range(20)),))
    lines = text_lines(wide)
    assert lines[0] == "  - column 0: 000000000" and len(lines) == 20
