"""What the ``hosts`` section of a hardening report shows: one row per host and control.

``report.sections["hosts"]`` maps host -> {"reachable", "compliant", "controls": {id: {"status",
"message", ...}}}. Registered with the report package's section registry on import; each format
draws the table (``govcloud.report.blocks``).
"""

from __future__ import annotations

from typing import Any

from govcloud.report import register_section
from govcloud.report.blocks import Block, Cell, Table

_LABEL = {
    "compliant": "compliant / 合规",
    "remediated": "remediated / 已整改",
    "non-compliant": "non-compliant / 不合规",
    "error": "error / 错误",
}
HEAD = ("Host / 主机", "Control / 控制项", "Status / 状态", "Detail / 详情")


def _row(host: str, cid: str, status: str, detail: str) -> tuple[Cell, ...]:
    bad = status in ("non-compliant", "error")
    return (Cell(host), Cell(cid), Cell(_LABEL.get(status, status), alert=bad), Cell(detail))


def blocks(data: dict[str, Any]) -> list[Block]:
    rows = []
    for host, h in sorted((data or {}).items()):
        if not h.get("reachable", True):
            rows.append(_row(host, "-", "error", f"unreachable: {h.get('unreachable', '')}"))
        for cid, c in sorted((h.get("controls") or {}).items()):
            rows.append(_row(host, cid, c.get("status", ""), c.get("message", "")))
    return [Table(HEAD, tuple(rows), name="hosts")]


register_section("hosts", title="Hosts / 主机加固状态", blocks=blocks)
