"""How the "consolidation" report section looks in HTML (table + inline SVG chart), Markdown and
plain text. All three show the same numbers as the JSON."""

from __future__ import annotations

from html import escape
from typing import Any

from govcloud.report import register_section

LEVEL_ZH = {"province": "省级", "prefecture": "市级", "county": "县级"}
HEAD = ("Level / 层级", "Departments / 部门数", "With own rooms / 自建机房", "Share / 占比",
        "With own portal / 自建网站", "Share / 占比")
PLAN_HEAD = ("#", "Room / 机房", "Department / 部门", "Status / 状态", "Util% / 利用率",
             "kW / 功耗", "Move to / 迁往", "Replaced by / 已有申请")
WHY = "Why / 理由"


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _level_row(lv: dict[str, Any], zh: bool = True) -> list[str]:
    name = f"{lv['level']} {LEVEL_ZH.get(lv['level'], '')}" if zh else lv["level"]
    return [name, str(lv["departments"]),
            str(lv["with_independent_rooms"]), _pct(lv["share_independent"]),
            str(lv["with_portal"]), _pct(lv["share_portal"])]


def _plan_row(step: dict[str, Any], why: bool = False) -> list[str]:
    def num(v: Any) -> str:
        return "-" if v is None else f"{v:g}"

    row = [str(step["order"]), step["room"], step["department"], step["status"],
           num(step["utilization_pct"]), num(step["power_kw"]),
           step["target_platform"] or "none / 无", ", ".join(step["replaced_by"]) or "-"]
    return [*row, step.get("reason", "")] if why else row


def bar_chart(levels: list[dict[str, Any]]) -> str:
    """Inline SVG: per level, two bars (own rooms, own portal) as shares of departments."""
    width, bar_h, gap, left = 420, 14, 10, 110
    scale = width - left - 60
    rows = []
    y = 24
    for lv in levels:
        label = escape(f"{lv['level']} {LEVEL_ZH.get(lv['level'], '')}")
        rows.append(f'<text x="0" y="{y + bar_h}" font-size="12">{label}</text>')
        for offset, key, color in ((0, "share_independent", "#c0392b"),
                                   (bar_h + 2, "share_portal", "#2471a3")):
            share = float(lv[key])
            w = max(1.0, share * scale)
            rows.append(f'<rect x="{left}" y="{y + offset}" width="{w:.1f}" height="{bar_h}" '
                        f'fill="{color}"><title>{escape(key)} {_pct(share)}</title></rect>')
            rows.append(f'<text x="{left + w + 4:.1f}" y="{y + offset + bar_h - 3}" '
                        f'font-size="11">{_pct(share)}</text>')
        y += 2 * bar_h + gap + 6
    legend = (f'<rect x="{left}" y="4" width="10" height="10" fill="#c0392b"/>'
              f'<text x="{left + 14}" y="13" font-size="11">own machine room / 自建机房</text>'
              f'<rect x="{left + 190}" y="4" width="10" height="10" fill="#2471a3"/>'
              f'<text x="{left + 204}" y="13" font-size="11">own portal / 自建网站</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{y}" '
            f'viewBox="0 0 {width} {y}" aria-label="Share of departments per level">'
            f"{legend}{''.join(rows)}</svg>")


def _html_table(head: tuple[str, ...], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def to_html(data: dict[str, Any]) -> str:
    levels = data.get("levels", [])
    dup_rows = [[d["kind"], d["department"], d["key"], ", ".join(d["ids"])]
                for d in data.get("duplicates", [])]
    return (
        '<div style="display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start">'
        f"<div>{_html_table(HEAD, [_level_row(lv) for lv in levels])}</div>"
        f"<div>{bar_chart(levels)}</div></div>"
        "<h3>Duplicates / 重复建设</h3>"
        + _html_table(("Kind / 类型", "Department / 部门", "Function or data set / 功能或数据",
                       "Ids / 对象"), dup_rows)
        + "<h3>Migration plan / 迁移计划</h3>"
        f"<p>{escape(data.get('plan_order', ''))}</p>"
        + _html_table((*PLAN_HEAD, WHY), [_plan_row(s, why=True) for s in data.get("plan", [])])
    )


def _md_table(head: tuple[str, ...], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(data: dict[str, Any]) -> str:
    dup_rows = [[d["kind"], d["department"], d["key"], ", ".join(d["ids"])]
                for d in data.get("duplicates", [])]
    return "\n\n".join([
        _md_table(HEAD, [_level_row(lv) for lv in data.get("levels", [])]),
        "#### Duplicates / 重复建设",
        _md_table(("Kind", "Department", "Function or data set", "Ids"), dup_rows),
        "#### Migration plan / 迁移计划",
        data.get("plan_order", ""),
        _md_table((*PLAN_HEAD, WHY), [_plan_row(s, why=True) for s in data.get("plan", [])]),
    ])


def _text_table(head: tuple[str, ...], rows: list[list[str]], widths: list[int]) -> str:
    def fit(text: str, width: int) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    head_en = [h.split(" / ")[0] for h in head]
    lines = ["  ".join(fit(h, w).ljust(w) for h, w in zip(head_en, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(fit(c, w).ljust(w) for c, w in zip(row, widths, strict=True))
              for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def to_table(data: dict[str, Any]) -> str:
    # Plain text stays ASCII in cells: CJK glyphs are two columns wide and break alignment.
    levels = _text_table(HEAD, [_level_row(lv, zh=False) for lv in data.get("levels", [])],
                         [12, 11, 14, 7, 15, 7])
    dups = _text_table(("Kind", "Department", "Function", "Ids"),
                       [[d["kind"], d["department"], d["key"], ", ".join(d["ids"])]
                        for d in data.get("duplicates", [])], [11, 22, 18, 41])
    plan = _text_table(PLAN_HEAD, [_plan_row(s) for s in data.get("plan", [])],
                       [3, 22, 16, 9, 5, 4, 18, 13])
    return "\n\n".join([
        levels, "Duplicates / 重复建设", dups, "Migration plan / 迁移计划",
        _wrap(data.get("plan_order", ""), 100), plan,
    ])


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


register_section("consolidation", html=to_html, markdown=to_markdown, table=to_table,
                 title="Consolidation / 集约化")
