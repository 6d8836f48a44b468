"""How the ``hosts`` section of a hardening report is drawn in table, Markdown and HTML.

``report.sections["hosts"]`` maps host -> {"reachable", "compliant", "controls": {id: {"status",
"message", ...}}}. Registered with the report package's section registry on import.
"""

from __future__ import annotations

import html
from typing import Any

from govcloud.report import register_section

_LABEL = {
    "compliant": "compliant / 合规",
    "remediated": "remediated / 已整改",
    "non-compliant": "non-compliant / 不合规",
    "error": "error / 错误",
}


def _rows(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for host, h in sorted((data or {}).items()):
        if not h.get("reachable", True):
            rows.append((host, "-", "error", f"unreachable: {h.get('unreachable', '')}"))
        for cid, c in sorted((h.get("controls") or {}).items()):
            rows.append((host, cid, c.get("status", ""), c.get("message", "")))
    return rows


def _table(data: dict[str, Any]) -> str:
    out = [f"{'host':<14} {'control':<12} {'status':<24} detail"]
    for host, cid, status, msg in _rows(data):
        line = f"{host[:14]:<14} {cid:<12} {_LABEL.get(status, status):<24} {msg}"
        out.append(line[:100])
    return "\n".join(out)


def _markdown(data: dict[str, Any]) -> str:
    out = ["| host | control | status | detail |", "|---|---|---|---|"]
    for host, cid, status, msg in _rows(data):
        cells = [host, cid, _LABEL.get(status, status), msg[:200]]
        out.append(
            "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
        )
    return "\n".join(out)


def _html(data: dict[str, Any]) -> str:
    body = "".join(
        f'<tr class="{html.escape(status)}"><td>{html.escape(host)}</td>'
        f"<td>{html.escape(cid)}</td><td>{html.escape(_LABEL.get(status, status))}</td>"
        f"<td>{html.escape(msg)}</td></tr>"
        for host, cid, status, msg in _rows(data)
    )
    return (
        "<table><thead><tr><th>Host / 主机</th><th>Control / 控制项</th>"
        f"<th>Status / 状态</th><th>Detail / 详情</th></tr></thead><tbody>{body}</tbody>"
        "</table>"
    )


register_section(
    "hosts", title="Hosts / 主机加固状态", table=_table, markdown=_markdown, html=_html
)
