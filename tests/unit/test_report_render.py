"""render() dispatch, JSON format, section registry and text wrapping."""

from __future__ import annotations

import json

import pytest

from govcloud.errors import InputError
from govcloud.model import Report
from govcloud.report import FORMATS, register_section, render, unregister_section
from govcloud.report.blocks import Cell, Heading, Table, Text
from govcloud.report.common import display_width, generic_rows, wrap
from tests.unit.test_report_samples import ALL, EMPTY, FULL, HOSTILE

CONTRACT_FINDING_KEYS = {
    "policy",
    "title",
    "severity",
    "target",
    "message",
    "file",
    "line",
    "path",
    "waived",
    "waiver",
}


def test_formats_are_the_contracts() -> None:
    assert set(FORMATS) == {"table", "json", "sarif", "junit", "html", "markdown"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(ALL))
def test_every_format_renders_every_case(fmt: str, name: str) -> None:
    text = render(ALL[name], fmt)
    assert isinstance(text, str) and text.endswith("\n")


def test_unknown_format_is_an_input_error() -> None:
    with pytest.raises(InputError) as info:
        render(EMPTY, "yaml")
    assert info.value.exit_code == 2
    assert "table" in str(info.value)


def test_json_is_the_contract_shape() -> None:
    text = render(FULL, "json")
    data = json.loads(text)
    assert text.startswith('{\n  "version": 1,')  # indent 2
    assert "电子政务内网" in text  # ensure_ascii=False
    assert data == FULL.to_json()
    assert data["summary"] == {"critical": 1, "high": 0, "medium": 1, "low": 1, "waived": 1}
    for finding in data["findings"]:
        assert CONTRACT_FINDING_KEYS <= set(finding)
    waived = [f for f in data["findings"] if f["waived"]]
    assert [f["waiver"] for f in waived] == ["WV-2026-007"]
    assert data["errors"][1] == {
        "file": "broken.yaml",
        "line": None,
        "path": "",
        "message": "YAML syntax error: mapping values not allowed",
    }


def test_json_of_empty_report() -> None:
    assert json.loads(render(EMPTY, "json")) == {
        "version": 1,
        "summary": {"critical": 0, "high": 0, "medium": 0, "low": 0, "waived": 0},
        "findings": [],
        "errors": [],
    }


def test_json_carries_unregistered_sections_as_is() -> None:
    data = json.loads(render(HOSTILE, "json"))
    assert data["unregistered"] == HOSTILE.sections["unregistered"]


def test_registered_section_blocks_are_drawn_by_every_format() -> None:
    register_section(
        "test-hosts",
        title="Hosts / 主机",
        blocks=lambda d: [Heading("Counted / 计数"), Text(f"{len(d)} hosts"),
                          Table(("Host / 主机", "Open / 未整改"),
                                tuple((h, Cell("1", numeric=True)) for h in d))],
        json=lambda d: {"count": len(d)},
    )
    try:
        report = Report(sections={"test-hosts": ["h1", "h2"]})
        assert json.loads(render(report, "json"))["test-hosts"] == {"count": 2}
        html = render(report, "html")
        assert "<h2>Hosts / 主机</h2><h3>Counted / 计数</h3><p>2 hosts</p>" in html
        assert '<tr><td>h1</td><td class="n">1</td></tr>' in html
        markdown = render(report, "markdown")
        assert "## Hosts / 主机\n\n#### Counted / 计数\n\n2 hosts\n\n| Host / 主机 |" in markdown
        assert "| h2 | 1 |" in markdown
        table = render(report, "table").splitlines()
        at = table.index("Hosts / 主机")
        assert table[at + 1:at + 9] == ["============", "Counted / 计数", "", "2 hosts", "",
                                        "Host  Open", "主机  未整改", "----  ------"]
        assert table[at + 9:at + 11] == ["h1         1", "h2         1"]  # numbers to the right
        sarif = json.loads(render(report, "sarif"))
        assert sarif["runs"][0]["properties"]["sections"] == {"test-hosts": {"count": 2}}
    finally:
        unregister_section("test-hosts")
    # Once unregistered, the same data falls back to the generic rendering.
    assert json.loads(render(report, "json"))["test-hosts"] == ["h1", "h2"]
    assert "<td>h1</td>" in render(report, "html")


def test_register_section_needs_a_name() -> None:
    with pytest.raises(ValueError):
        register_section("")


def test_generic_rows_shapes() -> None:
    assert generic_rows({"a": 1, "b": [1, 2]}) == (["key", "value"], [["a", "1"], ["b", "[1, 2]"]])
    headers, rows = generic_rows([{"x": 1}, {"x": 2, "y": True}])
    assert headers == ["x", "y"] and rows == [["1", ""], ["2", "true"]]
    assert generic_rows(["a", "b"]) == (["value"], [["a"], ["b"]])
    assert generic_rows(3) == (["value"], [["3"]])


def test_wrap_counts_cjk_as_two_columns() -> None:
    text = "服务器必须使用国产CPU，当前为 Intel Xeon Gold 6330"
    lines = wrap(text, 20)
    assert all(display_width(line) <= 20 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_wrap_breaks_paths_at_folders_and_cuts_long_words() -> None:
    assert wrap("inventory/requests/health/REQ-1.yaml:12", 20) == [
        "inventory/requests/",
        "health/REQ-1.yaml:12",
    ]
    assert wrap("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert wrap("", 10) == [""]
