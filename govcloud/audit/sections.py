"""Table and Markdown renderings of the audit's ``tenants`` and ``families`` sections (the HTML
report draws them itself, in ``audit/html.py``; JSON keeps them as they are)."""

from __future__ import annotations

from typing import Any

from govcloud.model import SEVERITIES
from govcloud.report import register_section
from govcloud.report.common import display_width, pad


def _family_rows(data: dict[str, Any]) -> list[list[str]]:
    return [[str(v.get("title", k)), *(str(v.get(s, 0)) for s in SEVERITIES)]
            for k, v in (data or {}).items()]


def _tenant_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, t in (data or {}).items():
        counts = [str(t.get("findings", {}).get(s, 0)) for s in SEVERITIES]
        rows.append([name, str(t.get("mlps_level") or "-"), str(t.get("classification") or "-"),
                     str(t.get("request") or "-"), *counts])
    return rows


def _markdown(headers: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return "\n".join(out)


def _table(headers: list[str], rows: list[list[str]], first: int) -> str:
    widths = [first] + [max(len(h), 4) for h in headers[1:]]
    if "request" in headers:
        widths[headers.index("request")] = 16
    def fit(text: str, width: int) -> str:
        while display_width(text) > width:  # CJK characters take two columns
            text = text[:-1]
        return pad(text, width)

    lines = ["  ".join(fit(h, w) for h, w in zip(headers, widths, strict=True))]
    for row in rows:
        lines.append("  ".join(fit(str(c), w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)


_FAM_HEAD = ["control family", *SEVERITIES]
_TEN_HEAD = ["tenant", "mlps", "classification", "request", "crit", "high", "med", "low"]

register_section(
    "families",
    title="By control family / 按控制类",
    table=lambda d: _table(_FAM_HEAD, _family_rows(d), 50),
    markdown=lambda d: _markdown(_FAM_HEAD, _family_rows(d)),
)
register_section(
    "tenants",
    title="Tenants / 租户",
    table=lambda d: _table(_TEN_HEAD, _tenant_rows(d), 24),
    markdown=lambda d: _markdown(_TEN_HEAD, _tenant_rows(d)),
)
register_section("audit", title="What was audited / 审计范围")
