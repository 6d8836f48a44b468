"""``--format html``: one self-contained page a security officer can open offline and print.

Everything is inline (CSS from ``report.css`` beside this module); a Content-Security-Policy
forbids the page from loading or running anything, so even a section renderer's mistake cannot
reach the network. Every value from the report goes through ``html.escape``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from html import escape
from importlib import resources

from govcloud import __version__
from govcloud.model import LABELS, SEVERITIES, Finding, Report, severity_rank
from govcloud.report.blocks import Bars, Block, CellLike, Heading, KeyValue, Table, Text, as_cell
from govcloud.report.common import error_location, section_blocks
from govcloud.report.sections import section_title

# No script, no fetch, no frame; inline styles and data: images only (for SVG charts).
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


@cache
def stylesheet() -> str:
    return resources.files("govcloud.report").joinpath("report.css").read_text(encoding="utf-8")


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def table_html(headers: Sequence[str], rows: Iterable[Sequence[CellLike]], name: str = "") -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    body = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in rows)
    css = f' class="{e(name)}"' if name else ""
    return f"<table{css}>{thead}<tbody>{body}</tbody></table>"


def _td(value: CellLike) -> str:
    cell = as_cell(value)
    classes = " ".join(c for c, on in (("n", cell.numeric), ("hot", cell.alert)) if on)
    text = f'<a href="#{e(cell.link)}">{e(cell.text)}</a>' if cell.link else e(cell.text)
    return f'<td class="{classes}">{text}</td>' if classes else f"<td>{text}</td>"


def block_html(block: Block) -> str:
    """One neutral block as an HTML fragment; every text in it is escaped here."""
    if isinstance(block, Heading):
        return f"<h3>{e(block.text)}</h3>"
    if isinstance(block, Text):
        return f"<p>{e(block.text)}</p>" if block.text else ""
    if isinstance(block, KeyValue):
        return table_html(block.headers, block.items, block.name)
    if isinstance(block, Table):
        return table_html(block.headers, block.rows, block.name)
    return bars_svg(block)


BAR_COLOURS = ("#c0392b", "#2471a3", "#b7791f", "#2f855a")


def bars_svg(block: Bars) -> str:
    """Inline SVG (no link, no script): per row, one bar per series, as a share of 100 %."""
    width, bar_h, gap, left = 420, 14, 10, 110
    scale = width - left - 60
    parts = []
    for i, legend in enumerate(block.series):
        x = left + 190 * i
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" '
                     f'fill="{BAR_COLOURS[i % len(BAR_COLOURS)]}"/>'
                     f'<text x="{x + 14}" y="13" font-size="11">{e(legend)}</text>')
    y = 24
    for label, shares in block.rows:
        parts.append(f'<text x="0" y="{y + bar_h}" font-size="12">{e(label)}</text>')
        for i, (legend, share) in enumerate(zip(block.series, shares, strict=True)):
            top, bar = y + i * (bar_h + 2), max(1.0, float(share) * scale)
            pct = f"{float(share) * 100:.1f}%"
            parts.append(f'<rect x="{left}" y="{top}" width="{bar:.1f}" height="{bar_h}" '
                         f'fill="{BAR_COLOURS[i % len(BAR_COLOURS)]}"><title>{e(legend)} {pct}'
                         f'</title></rect><text x="{left + bar + 4:.1f}" y="{top + bar_h - 3}" '
                         f'font-size="11">{pct}</text>')
        y += len(block.series) * (bar_h + 2) + gap + 4
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{y}" '
            f'viewBox="0 0 {width} {y}" aria-label="{e(block.label)}">{"".join(parts)}</svg>')


def _summary(report: Report) -> str:
    summary = report.summary()
    cards = []
    for key in (*SEVERITIES, "waived"):
        count = summary[key]
        css = f"sev-{key}" if key in SEVERITIES else "waived"
        zero = " zero" if count == 0 and key != "waived" else ""
        cards.append(
            f'<div class="card {css}{zero}"><span class="count">{count}</span>'
            f'<span class="label">{e(LABELS[key])}</span></div>'
        )
    errors = len(report.errors)
    cards.append(
        f'<div class="card errors{" zero" if errors == 0 else ""}"><span class="count">{errors}'
        f'</span><span class="label">{e(LABELS["errors"])}</span></div>'
    )
    open_count = sum(summary[s] for s in SEVERITIES)
    if open_count or errors:
        verdict = (
            f'<p class="verdict fail">{open_count} open finding(s) / {open_count} 项未整改, '
            f"{errors} error(s) / {errors} 个错误</p>"
        )
    else:
        verdict = f'<p class="verdict pass">{e(LABELS["no_findings"])}</p>'
    return (
        f'<section id="summary"><h2>{e(LABELS["summary"])}</h2>'
        f'<div class="cards">{"".join(cards)}</div>{verdict}</section>'
    )


def _errors(report: Report) -> str:
    if not report.errors:
        return ""
    rows = [[error_location(err), err.path, err.message] for err in report.errors]
    headers = [LABELS["location"], "Path / 路径", LABELS["message"]]
    return (
        f'<section id="errors"><h2>{e(LABELS["errors"])} ({len(report.errors)})</h2>'
        f"{table_html(headers, rows)}</section>"
    )


def _finding(f: Finding) -> str:
    classes = f"finding sev-{e(f.severity)}" + (" waived" if f.waived else "")
    head = [
        f'<span class="badge sev-{e(f.severity)}">{e(LABELS.get(f.severity, f.severity))}</span>',
        f"<code>{e(f.policy)}</code>",
        f'<span class="title">{e(f.title)}</span>',
    ]
    if f.waived:
        waiver = f"{e(LABELS['waived'])}: {e(f.waiver or '?')}"
        head.append(f'<span class="badge waived">{waiver}</span>')
    details: list[tuple[str, str]] = []
    location = f"{f.location} {f.path}".strip()
    if location:
        details.append((LABELS["location"], f"<code>{e(location)}</code>"))
    if f.references:
        refs = "; ".join(e(r) for r in f.references)
        details.append((LABELS["references"], refs))
    if f.family:
        details.append(("Family / 控制类", e(f.family)))
    if f.evidence:
        details.append((LABELS["evidence"], f"<pre>{e(f.evidence)}</pre>"))
    if f.remediation:
        details.append((LABELS["remediation"], e(f.remediation)))
    status = f"{LABELS['waived']}: {f.waiver or '?'}" if f.waived else LABELS["open"]
    details.append((LABELS["status"], e(status)))
    dl = "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in details)
    return (
        f'<div class="{classes}"><div class="head">{" ".join(head)}</div>'
        f'<p class="message">{e(f.message)}</p><dl>{dl}</dl></div>'
    )


def _worst(findings: list[Finding]) -> int:
    return max((severity_rank(f.severity) for f in findings if not f.waived), default=0)


def targets_html(findings: Iterable[Finding]) -> str:
    """Findings grouped by target, the target with the worst open finding first (the order in
    which things must be fixed)."""
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_target[finding.target].append(finding)
    parts = []
    for target in sorted(by_target, key=lambda t: (-_worst(by_target[t]), t)):
        parts.append(f'<article class="target"><h3>{e(target)}</h3>')
        parts.extend(_finding(f) for f in by_target[target])
        parts.append("</article>")
    return "".join(parts)


def _findings(report: Report) -> str:
    title = f"{e(LABELS['findings'])} ({len(report.findings)})"
    if not report.findings:
        return (
            f'<section id="findings"><h2>{title}</h2>'
            f'<p class="empty">{e(LABELS["no_findings"])}</p></section>'
        )
    return f'<section id="findings"><h2>{title}</h2>{targets_html(report.findings)}</section>'


def section_html(name: str, data: object, blocks: Sequence[Block] | None = None) -> str:
    """``report.sections[name]`` with its title; ``blocks`` replaces the registered ones (the
    audit page links its tenants table to the tenants' parts of the page)."""
    chosen = section_blocks(name, data) if blocks is None else blocks
    body = "".join(block_html(block) for block in chosen)
    heading = f"<h2>{e(section_title(name))}</h2>"
    return f'<section class="extra" id="section-{e(name)}">{heading}{body}</section>'


def page(title: str, main: str, *, css: str = "", header: str = "") -> str:
    """The whole document around ``main`` (already escaped HTML): CSP, inline style, footer."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="govcloud {e(__version__)}">\n'
        f"<title>{e(title)}</title>\n<style>\n{stylesheet()}{css}</style>\n</head>\n<body>\n"
        f"<header><h1>{e(title)}</h1>{header}</header>\n<main>\n{main}\n</main>\n"
        f"<footer>govcloud {e(__version__)} · {e(LABELS['report'])}</footer>\n"
        "</body>\n</html>\n"
    )


def render_html(report: Report, *, color: bool = False) -> str:
    sections = "".join(section_html(name, data) for name, data in report.sections.items())
    return page(report.title, f"{_summary(report)}\n{_errors(report)}\n{_findings(report)}\n"
                f"{sections}")
