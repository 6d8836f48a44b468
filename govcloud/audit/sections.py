"""What the audit's ``tenants`` and ``families`` sections show, as neutral blocks that every
format draws (``govcloud.report.blocks``); JSON keeps the data as it is. The assessor's page
(``audit/html.py``) places the same blocks at the top and links each tenant to its findings."""

from __future__ import annotations

from typing import Any

from govcloud.audit.run import NO_TENANT
from govcloud.model import LABELS, SEVERITIES
from govcloud.report import register_section
from govcloud.report.blocks import Block, Cell, Table
from govcloud.schemas import CLASSIFIED

PLATFORM = "Platform and inventory / 平台与清单"
RESOURCE_WORD = {
    "ResourceRequest": "request", "System": "system", "CloudProject": "project",
    "CloudServer": "server", "CloudVolume": "volume", "CloudSecurityGroup": "sg",
    "CloudNetwork": "network", "CloudRouter": "router", "CloudImage": "image",
}
CLASSIFICATION_ZH = {
    "public": "公开", "internal": "内部", "sensitive": "敏感", "secret": "秘密",
    "confidential": "机密", "top-secret": "绝密",
}
SEVERITY_HEAD = tuple(LABELS[s] for s in SEVERITIES)


def anchor(tenant: str) -> str:
    """The id of a tenant's part of the HTML page."""
    return "tenant-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in tenant)


def tenant_label(tenant: str) -> str:
    return PLATFORM if tenant == NO_TENANT else tenant


def classification(value: Any) -> Cell:
    if not value:
        return Cell("-")
    text = f"{value} / {CLASSIFICATION_ZH.get(str(value), '')}".rstrip(" /")
    return Cell(text, alert=value in CLASSIFIED)


def _count(value: int) -> Cell:
    return Cell(str(value), numeric=True, alert=bool(value))


def family_blocks(data: dict[str, Any]) -> list[Block]:
    rows = []
    for key, counts in (data or {}).items():
        numbers = [int(counts.get(s, 0)) for s in SEVERITIES]
        rows.append((Cell(str(counts.get("title", key))), *map(_count, numbers),
                     Cell(str(sum(numbers)), numeric=True)))
    head = ("Control family / 控制类", *SEVERITY_HEAD, "Total / 合计")
    return [Table(head, tuple(rows), name="families")]


def tenant_blocks(data: dict[str, Any], *, links: bool = False) -> list[Block]:
    """``links``: each tenant links to its part of the assessor's page (``anchor``)."""
    rows = []
    for name, t in (data or {}).items():
        resources = ", ".join(f"{RESOURCE_WORD.get(k, k)} {v}"
                              for k, v in (t.get("resources") or {}).items()) or "-"
        counts = (t.get("findings") or {})
        rows.append((Cell(tenant_label(name), link=anchor(name) if links else ""),
                     Cell(str(t.get("mlps_level") or "-")),
                     classification(t.get("classification")),
                     Cell(str(t.get("request") or "-")), Cell(resources),
                     *(_count(int(counts.get(s, 0))) for s in SEVERITIES)))
    head = ("Tenant / 租户", "MLPS level / 等保级别", "Classification / 密级",
            "Request / 资源申请", "Resources / 资源", *SEVERITY_HEAD)
    return [Table(head, tuple(rows), name="tenants")]


register_section("families", title="By control family / 按控制类（GB/T 22239-2019）",
                 blocks=family_blocks)
register_section("tenants", title="Tenants / 租户概览", blocks=tenant_blocks)
register_section("audit", title="What was audited / 审计范围")
