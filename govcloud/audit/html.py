"""The audit's HTML report: the page a security officer hands to an assessor.

One self-contained file (inline CSS, no script, the same Content-Security-Policy as every govcloud
report, so it opens offline and prints), bilingual (English / 中文). Reading order:

1. summary by severity (cards) and by MLPS 2.0 control family (table);
2. the tenants at a glance: level, classification, approved request, resources, open findings;
3. errors (inputs that could not be judged);
4. one section per tenant, then the platform and inventory: each finding with its clause
   (references), evidence, remediation and status;
5. the other sections (hardening hosts, consolidation, what was audited).

It is assembled from the building blocks of ``govcloud.report.html`` (page, summary, findings,
sections drawn from neutral blocks) so a finding or a table looks the same in every report.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from govcloud.audit.run import NO_TENANT
from govcloud.audit.sections import anchor, classification, tenant_blocks, tenant_label
from govcloud.model import LABELS, Finding, Report
from govcloud.report.blocks import Cell, KeyValue
from govcloud.report.html import (
    _errors,
    _summary,
    block_html,
    e,
    page,
    section_html,
    targets_html,
)

EXTRA_CSS = """
nav.toc { font-size: .9rem; margin: .5rem 0 0; }
nav.toc a { margin-right: .75rem; }
.meta { color: var(--waived); font-size: .9rem; margin: .25rem 0 .75rem; }
table.tenants td:nth-child(3) { white-space: nowrap; }
section.tenant { border-top: 2px solid var(--line); margin-top: 1.5rem; }
table.context { width: auto; }
table.context td:first-child { color: var(--waived); }
"""


def _context(t: dict[str, Any]) -> str:
    items: tuple[tuple[str, str | Cell], ...] = (
        ("Project / 项目", t.get("project_id") or "-"),
        ("Request / 资源申请", t.get("request") or "- (unmanaged / 未纳管)"),
        ("Department / 部门", t.get("department") or "-"),
        ("MLPS level / 等保级别", str(t.get("mlps_level") or "-")),
        ("Classification / 密级", classification(t.get("classification"))),
    )
    return block_html(KeyValue(items, name="context"))


def _tenant_sections(report: Report, tenants: dict[str, Any]) -> str:
    owner = {target: name for name, t in tenants.items() for target in t.get("targets", [])}
    by_tenant: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_tenant[owner.get(finding.target, NO_TENANT)].append(finding)
    parts = [f'<section id="findings"><h2>{e(LABELS["findings"])} ({len(report.findings)})'
             "</h2>"]
    if not report.findings:
        parts.append(f'<p class="empty">{e(LABELS["no_findings"])}</p>')
    names = [n for n in tenants if n in by_tenant] + sorted(
        n for n in by_tenant if n not in tenants)
    for name in names:
        parts.append(f'<section class="tenant" id="{e(anchor(name))}">'
                     f"<h2>{'' if name == NO_TENANT else 'Tenant / 租户: '}"
                     f"{e(tenant_label(name))}</h2>")
        if name != NO_TENANT:
            parts.append(_context(tenants.get(name, {})))
        parts.append(targets_html(by_tenant[name]))
        parts.append("</section>")
    parts.append("</section>")
    return "".join(parts)


def render_audit_html(report: Report, *, generated: dt.datetime | None = None) -> str:
    sections = dict(report.sections)
    tenants = sections.pop("tenants", {}) or {}
    families = sections.pop("families", {}) or {}
    about = sections.get("audit") or {}
    when = (generated or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    cloud = about.get("cloud") or "none: documents only / 无（仅审计文件）"
    docs = sum((about.get("documents") or {}).values())
    meta = (f'<p class="meta">Cloud / 云平台: {e(cloud)} · Documents / 文档: {docs} · '
            f"Generated / 生成时间: {e(when)}</p>")
    toc = ('<nav class="toc"><a href="#summary">Summary / 汇总</a>'
           '<a href="#section-families">Control families / 控制类</a>'
           '<a href="#section-tenants">Tenants / 租户</a>'
           '<a href="#findings">Findings / 发现项</a></nav>')
    top = ""
    if families:
        top += section_html("families", families)
    if tenants:
        top += section_html("tenants", tenants, tenant_blocks(tenants, links=True))
    extra = "".join(section_html(name, data) for name, data in sections.items())
    return page(report.title, f"{_summary(report)}\n{top}\n{_errors(report)}\n"
                f"{_tenant_sections(report, tenants)}\n{extra}",
                css=EXTRA_CSS, header=meta + toc)
