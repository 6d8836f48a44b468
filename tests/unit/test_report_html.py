"""HTML output: one self-contained, escaped, bilingual page."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from govcloud.model import LABELS, Report
from govcloud.report import register_section, render, unregister_section
from govcloud.report.blocks import Bars
from tests.unit.test_report_samples import ALL, FULL, HOSTILE, XSS


class Collect(HTMLParser):
    """Tags, attributes and text of a page, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(text: str) -> Collect:
    parser = Collect()
    parser.feed(text)
    parser.close()
    return parser


@pytest.mark.parametrize("name", sorted(ALL))
def test_self_contained_no_external_url(name: str) -> None:
    text = render(ALL[name], "html")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()
    assert "@import" not in text and "url(" not in text
    page = parse(text)
    tags = {tag for tag, _ in page.tags}
    assert {"html", "head", "meta", "title", "style", "body"} <= tags
    csp = [a for t, a in page.tags if t == "meta" and a.get("http-equiv")]
    assert "default-src 'none'" in (csp[0]["content"] or "")


def test_bilingual_summary_by_severity() -> None:
    text = render(FULL, "html")
    for key in ("critical", "high", "medium", "low", "waived", "errors", "summary", "findings"):
        assert LABELS[key] in text
    assert '<span class="count">1</span><span class="label">Critical / 严重</span>' in text


def test_findings_grouped_by_target_with_details() -> None:
    text = render(FULL, "html")
    # One <article> per target; both REQ-2026-0042 findings sit in the same one.
    articles = text.split('<article class="target">')[1:]
    assert len(articles) == 3
    req = next(a for a in articles if "REQ-2026-0042</h3>" in a)
    assert "GC-CLS-001" in req and "GC-XC-002" in req
    assert "GB/T 22239-2019 8.1.2" in req  # clause/references
    assert "classification=secret, network_zone=gov-external" in req  # evidence
    assert "Set network_zone to gov-internal" in req  # remediation
    assert "requests/health/REQ-2026-0042.yaml:12 /spec/system/network_zone" in req
    # The critical target comes first: fix order.
    assert articles[0].startswith("<h3>ResourceRequest/REQ-2026-0042</h3>")


def test_waived_marked_with_waiver_id() -> None:
    text = render(ALL["waived"], "html")
    assert 'class="finding sev-high waived"' in text
    assert '<span class="badge waived">Waived / 已豁免: WV-2026-007</span>' in text


def test_errors_section() -> None:
    text = render(ALL["errors"], "html")
    assert '<section id="errors">' in text
    assert "departments/city.yaml:3" in text
    assert "&#x27;city&#x27; is not one of" in text
    assert '<section id="errors">' not in render(ALL["findings"], "html")


def test_empty_report_says_no_findings() -> None:
    text = render(ALL["empty"], "html")
    assert 'class="verdict pass"' in text and LABELS["no_findings"] in text
    assert '<article class="target">' not in text


def test_everything_is_escaped() -> None:
    text = render(HOSTILE, "html")
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    page = parse(text)
    assert not [t for t, _ in page.tags if t in ("script", "img")]
    assert not [a for _, a in page.tags if any(k.startswith("on") for k in a)]
    # The hostile text survives as text: a reader sees exactly what was written.
    assert any(XSS in chunk for chunk in page.text)


def test_unregistered_section_is_a_key_value_table() -> None:
    text = render(HOSTILE, "html")
    assert '<section class="extra" id="section-unregistered">' in text
    assert "<td>note</td>" in text and "<td>[1, 2]</td>" in text


def test_registered_section_bars_become_an_inline_svg_chart() -> None:
    bars = Bars("Shares / 占比", ("own room / 自建机房", XSS), (("province 省级", (0.5, 1.0)),))
    register_section("test-chart", blocks=lambda data: [bars], title="Chart / 图")
    try:
        text = render(Report(sections={"test-chart": {"a": 1}}), "html")
    finally:
        unregister_section("test-chart")
    assert "<h2>Chart / 图</h2><svg" in text and 'aria-label="Shares / 占比"' in text
    assert "50.0%" in text and "100.0%" in text and "province 省级" in text
    assert "<script>" not in text  # the legend is escaped like any other text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
