"""What the "consolidation" report section shows: per-level shares (table and bar chart), the
duplicates and the migration plan with its reasons, as neutral blocks that every format draws
(``govcloud.report.blocks``). All show the same numbers as the JSON."""

from __future__ import annotations

from typing import Any

from govcloud.report import register_section
from govcloud.report.blocks import Bars, Block, Heading, Table, Text

LEVEL_ZH = {"province": "省级", "prefecture": "市级", "county": "县级"}
HEAD = ("Level / 层级", "Departments / 部门数", "With own rooms / 自建机房", "Share / 占比",
        "With own portal / 自建网站", "Share / 占比")
DUP_HEAD = ("Kind / 类型", "Department / 部门", "Function or data set / 功能或数据", "Ids / 对象")
PLAN_HEAD = ("#", "Room / 机房", "Department / 部门", "Status / 状态", "Util% / 利用率",
             "kW / 功耗", "Move to / 迁往", "Replaced by / 已有申请", "Why / 理由")


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _level(lv: dict[str, Any]) -> str:
    return f"{lv['level']} {LEVEL_ZH.get(lv['level'], '')}".rstrip()


def _level_row(lv: dict[str, Any]) -> tuple[str, ...]:
    return (_level(lv), str(lv["departments"]), str(lv["with_independent_rooms"]),
            _pct(lv["share_independent"]), str(lv["with_portal"]), _pct(lv["share_portal"]))


def _plan_row(step: dict[str, Any]) -> tuple[str, ...]:
    def num(v: Any) -> str:
        return "-" if v is None else f"{v:g}"

    return (str(step["order"]), step["room"], step["department"], step["status"],
            num(step["utilization_pct"]), num(step["power_kw"]),
            step["target_platform"] or "none / 无", ", ".join(step["replaced_by"]) or "-",
            step.get("reason", ""))


def blocks(data: dict[str, Any]) -> list[Block]:
    levels = data.get("levels", [])
    return [
        Table(HEAD, tuple(_level_row(lv) for lv in levels)),
        Bars("Share of departments per level / 各层级占比",
             ("own machine room / 自建机房", "own portal / 自建网站"),
             tuple((_level(lv), (float(lv["share_independent"]), float(lv["share_portal"])))
                   for lv in levels)),
        Heading("Duplicates / 重复建设"),
        Table(DUP_HEAD, tuple((d["kind"], d["department"], d["key"], ", ".join(d["ids"]))
                              for d in data.get("duplicates", []))),
        Heading("Migration plan / 迁移计划"),
        Text(data.get("plan_order", "")),
        Table(PLAN_HEAD, tuple(_plan_row(s) for s in data.get("plan", []))),
    ]


register_section("consolidation", blocks=blocks, title="Consolidation / 集约化")
