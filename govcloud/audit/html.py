"""The audit's HTML report: the page a security officer hands to an assessor.

One self-contained file (inline CSS, no script, the same Content-Security-Policy as every govcloud
report, so it opens offline and prints), bilingual (English / 中文). Reading order:

1. summary by severity (cards) and by MLPS 2.0 control family (table);
2. the tenants at a glance: level, classification, approved request, resources, open findings;
3. errors (inputs that could not be judged);
4. one section per tenant, then the platform and inventory: each finding with its clause
   (references), evidence, remediation and status;
5. the other sections (hardening hosts, consolidation, what was audited).

It reuses the building blocks of ``govcloud.report.html`` so a finding looks the same in every
govcloud report.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from govcloud import __version__
from govcloud.audit.run import NO_TENANT
from govcloud.model import LABELS, SEVERITIES, Finding, Report
from govcloud.report.html import (
    CSP,
    _errors,
    _finding,
    _section,
    _summary,
    _worst,
    e,
    stylesheet,
)

EXTRA_CSS = """
nav.toc { font-size: .9rem; margin: .5rem 0 0; }
nav.toc a { margin-right: .75rem; }
.meta { color: var(--waived); font-size: .9rem; margin: .25rem 0 .75rem; }
table.families td.n, table.tenants td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.hot { font-weight: 700; color: var(--high); }
table.tenants td:nth-child(4) { white-space: nowrap; }
section.tenant { border-top: 2px solid var(--line); margin-top: 1.5rem; }
section.tenant dl.context { display: grid; grid-template-columns: max-content 1fr;
  gap: .1rem .75rem; }
section.tenant dl.context dt { color: var(--waived); }
section.tenant dl.context dd { margin: 0; }
.classified { color: var(--critical); font-weight: 700; }
"""

CLASSIFIED = ("secret", "confidential", "top-secret")
_RESOURCE_WORD = {
    "ResourceRequest": "request", "System": "system", "CloudProject": "project",
    "CloudServer": "server", "CloudVolume": "volume", "CloudSecurityGroup": "sg",
    "CloudNetwork": "network", "CloudRouter": "router", "CloudImage": "image",
}
_CLASSIFICATION_ZH = {
    "public": "公开", "internal": "内部", "sensitive": "敏感", "secret": "秘密",
    "confidential": "机密", "top-secret": "绝密",
}


def _n(value: int) -> str:
    return f'<td class="n{" hot" if value else ""}">{value}</td>'


def _families(data: dict[str, Any]) -> str:
    if not data:
        return ""
    head = "".join(f"<th>{e(LABELS[s])}</th>" for s in SEVERITIES)
    rows = []
    for key, counts in data.items():
        total = sum(counts.get(s, 0) for s in SEVERITIES)
        cells = "".join(_n(counts.get(s, 0)) for s in SEVERITIES)
        rows.append(f"<tr><td>{e(counts.get('title', key))}</td>{cells}"
                    f'<td class="n">{total}</td></tr>')
    return (
        '<section id="families"><h2>By control family / 按控制类（GB/T 22239-2019）</h2>'
        '<table class="families"><thead><tr><th>Control family / 控制类</th>'
        f"{head}<th>Total / 合计</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</section>"
    )


def _classification(value: Any) -> str:
    if not value:
        return "-"
    text = f"{value} / {_CLASSIFICATION_ZH.get(str(value), '')}".rstrip(" /")
    css = ' class="classified"' if value in CLASSIFIED else ""
    return f"<span{css}>{e(text)}</span>"


def _anchor(name: str) -> str:
    return "tenant-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _tenants_table(tenants: dict[str, Any]) -> str:
    if not tenants:
        return ""
    head = "".join(f"<th>{e(LABELS[s])}</th>" for s in SEVERITIES)
    rows = []
    for name, t in tenants.items():
        label = "Platform and inventory / 平台与清单" if name == NO_TENANT else name
        resources = ", ".join(f"{_RESOURCE_WORD.get(k, k)} {v}"
                              for k, v in (t.get("resources") or {}).items()) or "-"
        counts = "".join(_n(t["findings"].get(s, 0)) for s in SEVERITIES)
        rows.append(
            f'<tr><td><a href="#{e(_anchor(name))}">{e(label)}</a></td>'
            f"<td>{e(t.get('mlps_level') or '-')}</td>"
            f"<td>{_classification(t.get('classification'))}</td>"
            f"<td>{e(t.get('request') or '-')}</td><td>{e(resources)}</td>{counts}</tr>"
        )
    return (
        '<section id="tenants"><h2>Tenants / 租户概览</h2><table class="tenants"><thead><tr>'
        "<th>Tenant / 租户</th><th>MLPS level / 等保级别</th><th>Classification / 密级</th>"
        "<th>Request / 资源申请</th><th>Resources / 资源</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _tenant_sections(report: Report, tenants: dict[str, Any]) -> str:
    owner = {target: name for name, t in tenants.items() for target in t.get("targets", [])}
    by_tenant: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for finding in report.findings:
        by_tenant[owner.get(finding.target, NO_TENANT)][finding.target].append(finding)
    parts = [f'<section id="findings"><h2>{e(LABELS["findings"])} ({len(report.findings)})'
             "</h2>"]
    if not report.findings:
        parts.append(f'<p class="empty">{e(LABELS["no_findings"])}</p>')
    names = [n for n in tenants if n in by_tenant] + sorted(
        n for n in by_tenant if n not in tenants)
    for name in names:
        t = tenants.get(name, {})
        label = "Platform and inventory / 平台与清单" if name == NO_TENANT else name
        parts.append(f'<section class="tenant" id="{e(_anchor(name))}">'
                     f"<h2>{'' if name == NO_TENANT else 'Tenant / 租户: '}{e(label)}</h2>")
        if name != NO_TENANT:
            context = [
                ("Project / 项目", e(t.get("project_id") or "-")),
                ("Request / 资源申请", e(t.get("request") or "- (unmanaged / 未纳管)")),
                ("Department / 部门", e(t.get("department") or "-")),
                ("MLPS level / 等保级别", e(t.get("mlps_level") or "-")),
                ("Classification / 密级", _classification(t.get("classification"))),
            ]
            parts.append('<dl class="context">' + "".join(
                f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in context) + "</dl>")
        targets = by_tenant[name]
        for target in sorted(targets, key=lambda x: (-_worst(targets[x]), x)):
            parts.append(f'<article class="target"><h3>{e(target)}</h3>')
            parts.extend(_finding(f) for f in targets[target])
            parts.append("</article>")
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
           '<a href="#families">Control families / 控制类</a>'
           '<a href="#tenants">Tenants / 租户</a><a href="#findings">Findings / 发现项</a></nav>')
    extra = "".join(_section(name, data) for name, data in sections.items())
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="govcloud {e(__version__)}">\n'
        f"<title>{e(report.title)}</title>\n<style>\n{stylesheet()}{EXTRA_CSS}</style>\n"
        "</head>\n<body>\n"
        f"<header><h1>{e(report.title)}</h1>{meta}{toc}</header>\n<main>\n"
        f"{_summary(report)}\n{_families(families)}\n{_tenants_table(tenants)}\n"
        f"{_errors(report)}\n{_tenant_sections(report, tenants)}\n{extra}\n</main>\n"
        f"<footer>govcloud {e(__version__)} · {e(LABELS['report'])}</footer>\n"
        "</body>\n</html>\n"
    )
