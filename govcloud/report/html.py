"""``--format html``: one self-contained page a security officer can open offline and print.

Everything is inline (CSS from ``report.css`` beside this module); a Content-Security-Policy
forbids the page from loading or running anything, so even a section renderer's mistake cannot
reach the network. Every value from the report goes through ``html.escape``.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from html import escape
from importlib import resources

from govcloud import __version__
from govcloud.model import LABELS, SEVERITIES, Finding, Report, severity_rank
from govcloud.report.common import error_location, generic_rows
from govcloud.report.sections import section_renderer

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


def table_html(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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
    open_ranks = [severity_rank(f.severity) for f in findings if not f.waived]
    return max(open_ranks, default=0)


def _findings(report: Report) -> str:
    title = f"{e(LABELS['findings'])} ({len(report.findings)})"
    if not report.findings:
        return (
            f'<section id="findings"><h2>{title}</h2>'
            f'<p class="empty">{e(LABELS["no_findings"])}</p></section>'
        )
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_target[finding.target].append(finding)
    # Worst open finding first, so the page reads in the order things must be fixed.
    targets = sorted(by_target, key=lambda t: (-_worst(by_target[t]), t))
    parts = [f'<section id="findings"><h2>{title}</h2>']
    for target in targets:
        parts.append(f'<article class="target"><h3>{e(target)}</h3>')
        parts.extend(_finding(f) for f in by_target[target])
        parts.append("</article>")
    parts.append("</section>")
    return "".join(parts)


def _section(name: str, data: object) -> str:
    renderer = section_renderer(name)
    if renderer.html is not None:
        body = renderer.html(data)  # the section owner escapes its own fragment
    else:
        headers, rows = generic_rows(data)
        body = table_html(headers, rows)
    heading = f"<h2>{e(renderer.title)}</h2>"
    return f'<section class="extra" id="section-{e(name)}">{heading}{body}</section>'


def render_html(report: Report, *, color: bool = False) -> str:
    sections = "".join(_section(name, data) for name, data in report.sections.items())
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="govcloud {e(__version__)}">\n'
        f"<title>{e(report.title)}</title>\n<style>\n{stylesheet()}</style>\n</head>\n<body>\n"
        f"<header><h1>{e(report.title)}</h1></header>\n<main>\n"
        f"{_summary(report)}\n{_errors(report)}\n{_findings(report)}\n{sections}\n</main>\n"
        f"<footer>govcloud {e(__version__)} · {e(LABELS['report'])}</footer>\n"
        "</body>\n</html>\n"
    )
