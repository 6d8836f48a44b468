"""Table (terminal) and Markdown output."""

from __future__ import annotations

import pytest

from govcloud.model import LABELS, Finding, Report
from govcloud.report import render
from govcloud.report.common import display_width
from govcloud.report.markdown import cell
from tests.unit.test_report_samples import ALL, FULL, HOSTILE, XSS

# --- table -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*sorted(ALL), "hostile"])
def test_table_fits_100_columns(name: str) -> None:
    report = HOSTILE if name == "hostile" else ALL[name]
    for line in render(report, "table").splitlines():
        assert display_width(line) <= 100, line


def test_table_lists_errors_first_with_file_line() -> None:
    lines = render(FULL, "table").splitlines()
    assert lines[0] == "Errors / 错误 (2)"
    assert lines[1].startswith("  - departments/city.yaml:3 /spec/level: 'city' is not one of")
    assert lines[2].startswith("  - broken.yaml: YAML syntax error")
    assert lines.index(LABELS["findings"]) > 2


def test_table_has_bilingual_header_columns_and_summary() -> None:
    text = render(FULL, "table")
    lines = text.splitlines()
    header = lines.index(LABELS["findings"]) + 1
    assert lines[header].split() == ["Severity", "Policy", "Target", "Location", "Message"]
    assert lines[header + 1].split() == ["严重性", "策略", "对象", "位置", "说明"]
    assert lines[-1] == ("Summary / 汇总: critical 1, high 0, medium 1, low 1, waived 1; errors 2")


def test_table_wraps_long_messages_and_marks_waivers() -> None:
    long = Finding("GC-X-1", "t", "low", "System/a", "word " * 60, "f.yaml", 1, "/spec")
    lines = render(Report(findings=(long,)), "table").splitlines()
    rows = [line for line in lines if "word" in line]
    assert len(rows) > 3  # wrapped, not cut
    assert sum(line.count("word") for line in rows) == 60
    waived = render(ALL["waived"], "table")
    assert "[Waived / 已豁免: WV-2026-007]" in waived


def test_table_empty_report() -> None:
    assert render(ALL["empty"], "table").splitlines() == [
        LABELS["no_findings"],
        "",
        "Summary / 汇总: critical 0, high 0, medium 0, low 0, waived 0; errors 0",
    ]


def test_table_color_only_when_asked() -> None:
    assert "\033[" not in render(FULL, "table")
    colored = render(FULL, "table", color=True)
    assert "\033[1;31mcritical\033[0m" in colored
    assert "\033[2mhigh\033[0m" in colored  # the waived one is dimmed


def test_table_generic_section() -> None:
    text = render(HOSTILE, "table")
    assert "unregistered\n============" in text
    assert "rows  [1, 2]" in text


# --- markdown ----------------------------------------------------------------------------------


def test_markdown_escapes_cells() -> None:
    assert cell("a|b") == "a\\|b"
    assert cell("line1\nline2") == "line1<br>line2"
    assert cell("<b>&") == "&lt;b&gt;&amp;"
    assert cell(None) == ""


def _table_rows(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(heading) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def _columns(row: str) -> int:
    # Unescaped pipes delimit cells; "\|" is a pipe inside one.
    return row.replace("\\|", "").count("|") - 1


def test_markdown_summary_findings_and_errors() -> None:
    text = render(FULL, "markdown")
    assert text.startswith("# govcloud compliance report / 政务云合规报告\n")
    summary = _table_rows(text, f"## {LABELS['summary']}")
    assert "| Critical / 严重 | 1 |" in summary and "| Errors / 错误 | 2 |" in summary
    findings = _table_rows(text, f"## {LABELS['findings']}")
    assert len(findings) == 2 + 4
    assert "| Waived / 已豁免: WV-2026-007 |" in findings[3]
    assert "requests/health/REQ-2026-0042.yaml:12 /spec/system/network_zone" in findings[2]
    errors = _table_rows(text, f"## {LABELS['errors']}")
    assert errors[2].startswith("| departments/city.yaml:3 | /spec/level |")


def test_markdown_hostile_text_keeps_the_table_shape() -> None:
    text = render(HOSTILE, "markdown")
    assert "<script>" not in text
    for heading in (f"## {LABELS['findings']}", f"## {LABELS['errors']}", "## unregistered"):
        rows = _table_rows(text, heading)
        assert len({_columns(r) for r in rows}) == 1, rows
    assert cell(XSS) in text


def test_markdown_empty_report() -> None:
    text = render(ALL["empty"], "markdown")
    assert f"_{LABELS['no_findings']}_" in text
    assert f"## {LABELS['errors']}" not in text
