"""`audit`: live-cloud documents + inventory and requests + the latest hardening run → one Report.

Pure: it takes what the edges read (a ``CloudSnapshot`` from ``live.read_cloud``, the documents
under PATH, the saved hardening results) and returns a ``Report`` with the findings of every
policy and rule provider (consolidation) on all documents together, the hardening findings,
waivers applied once over all of them, and three sections for the reader:

- ``audit``: what was audited (cloud, API calls, documents per kind, hardening run);
- ``tenants``: per tenant, its level, classification, request, resources and findings;
- ``families``: open findings per MLPS 2.0 control family and severity.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from govcloud.audit.families import ORDER, TITLES, control_family
from govcloud.check import RuleProvider, run_check
from govcloud.cloud.live import CloudSnapshot
from govcloud.cloudkinds import CLOUD_KINDS
from govcloud.documents import Catalog, Document
from govcloud.model import SEVERITIES, DocError, Finding, Report
from govcloud.policy import PolicySet, apply_waivers
from govcloud.policy.waivers import EXPIRED_POLICY
from govcloud.validate import Validated

TITLE = "govcloud compliance audit / 政务云合规审计报告"
NO_TENANT = "(platform and inventory)"
_KIND_WORD = {
    "CloudProject": "project",
    "CloudUser": "user",
    "CloudServer": "server",
    "CloudVolume": "volume",
    "CloudSecurityGroup": "security group",
    "CloudNetwork": "network",
    "CloudRouter": "router",
    "CloudImage": "image",
}


def merge(validated: Validated | None, snapshot: CloudSnapshot | None) -> Validated:
    """The documents under PATH and the cloud's, in one catalog (a clash is an error)."""
    base = validated or Validated(Catalog(), (), (), ())
    catalog = Catalog(base.catalog.documents)
    errors = list(base.errors)
    for doc in snapshot.documents if snapshot else ():
        earlier = catalog.add(doc)
        if earlier is not None:
            errors.append(DocError(earlier.file, earlier.line, "/metadata/id",
                                   f"{doc.ref} is also read from {doc.file}; remove the copy "
                                   "from the files (the audit reads the live cloud)"))
    return Validated(catalog, tuple(errors), base.input_errors, base.files)


def hardening_report(latest: Mapping[str, Any], controls: Mapping[str, Any]) -> Report:
    """The saved results of the latest harden run (``latest.json``) as findings and errors."""
    from govcloud.hardening.results import ControlResult, HostResult, to_report

    hosts = {}
    for name, data in (latest.get("hosts") or {}).items():
        host = HostResult(name=name, reachable=bool(data.get("reachable", True)),
                          unreachable_msg=str(data.get("unreachable", "")),
                          other_failures=list(data.get("failures") or []),
                          stats=dict(data.get("stats") or {}))
        for cid, c in (data.get("controls") or {}).items():
            host.controls[cid] = ControlResult(str(c.get("status", "error")),
                                               list(c.get("tasks") or []))
        hosts[name] = host
    run = {k: latest[k] for k in ("run_id", "finished", "mode") if k in latest}
    return to_report(hosts, controls, str(latest.get("mode", "audit")), run)


def run_audit(
    validated: Validated | None,
    policies: PolicySet,
    *,
    today: dt.date,
    providers: tuple[RuleProvider, ...],
    snapshot: CloudSnapshot | None = None,
    hardening: Mapping[str, Any] | None = None,
    controls: Mapping[str, Any] | None = None,
) -> Report:
    merged = merge(validated, snapshot)
    checked = run_check(merged, policies, today=today, providers=providers)
    findings = list(checked.findings)
    errors = list(checked.errors)
    sections: dict[str, Any] = {}
    hosts_section = None
    if hardening is not None:
        hard = hardening_report(hardening, controls or {})
        # Waivers (active ones) apply to hosts too; expired ones were reported by run_check.
        findings.extend(f for f in apply_waivers(hard.findings, merged.catalog, today, {})
                        if f.policy != EXPIRED_POLICY)
        errors.extend(hard.errors)
        hosts_section = hard.sections.get("hosts")
    findings = [_with_context(f, merged.catalog) for f in findings]
    findings.sort(key=Finding.order)
    sections["audit"] = _about(merged, snapshot, hardening)
    sections["tenants"] = tenants_section(findings, merged.catalog)
    sections["families"] = families_section(findings)
    if hosts_section:
        sections["hosts"] = hosts_section
    return Report(findings=tuple(findings), errors=tuple(errors), title=TITLE, sections=sections)


def _with_context(finding: Finding, catalog: Catalog) -> Finding:
    """Live findings name the resource and its tenant (their target is an OpenStack id), and
    every finding gets its control family (for the summary by family)."""
    family = control_family(finding.references, finding.policy)
    kind, _, doc_id = finding.target.partition("/")
    evidence = finding.evidence
    if kind in CLOUD_KINDS:
        doc = catalog.get(kind, doc_id)
        if doc is not None:
            name = doc.spec.get("name", doc_id)
            where = _KIND_WORD.get(kind, kind)
            tenant = doc.spec.get("tenant")
            prefix = f"{where} '{name}'" + (
                f" of tenant '{tenant}'" if tenant and kind != "CloudProject" else "")
            rule = _rule_at(doc, finding.path)
            if rule is not None:
                evidence = describe_rule(rule)
            evidence = f"{prefix}: {evidence}" if evidence else prefix
    return dataclasses.replace(finding, evidence=evidence, family=family)


def _rule_at(doc: Document, path: str) -> Mapping[str, Any] | None:
    parts = path.split("/")
    if doc.kind != "CloudSecurityGroup" or len(parts) < 4 or parts[1:3] != ["spec", "rules"]:
        return None
    rules = doc.spec.get("rules") or []
    if not parts[3].isdigit() or int(parts[3]) >= len(rules):
        return None
    rule = rules[int(parts[3])]
    return rule if isinstance(rule, Mapping) else None


def describe_rule(rule: Mapping[str, Any]) -> str:
    """``rule 1f2e…: ingress tcp 22 from 0.0.0.0/0`` (what an assessor looks for)."""
    low, high = rule.get("port_min"), rule.get("port_max")
    ports = "" if low is None else (f" {low}" if low == high else f" {low}-{high}")
    return (f"rule {rule.get('rule_id', '?')}: {rule.get('direction')} {rule.get('protocol')}"
            f"{ports} from {rule.get('remote')}")


def tenant_of(doc: Document) -> str | None:
    spec = doc.spec
    if doc.kind in CLOUD_KINDS and doc.kind != "CloudUser":
        tenant = spec.get("name") if doc.kind == "CloudProject" else spec.get("tenant")
        return str(tenant) if tenant else None
    if doc.kind == "ResourceRequest":
        return str(spec.get("tenant"))
    if doc.kind == "System" and str(spec.get("hosted_in", "")).startswith("cloud:"):
        return str(spec["hosted_in"])[len("cloud:"):]
    return None


def tenants_section(findings: list[Finding], catalog: Catalog) -> dict[str, Any]:
    """Per tenant: its context, resources by kind, open findings by severity, and the targets
    (``<Kind>/<id>``) that belong to it, so renderers can group findings by tenant."""
    tenants: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return tenants.setdefault(name, {"project_id": None, "request": None,
                                         "department": None, "mlps_level": None,
                                         "classification": None, "resources": Counter(),
                                         "findings": dict.fromkeys(SEVERITIES, 0),
                                         "targets": []})

    owner: dict[str, str] = {}
    for doc in catalog.documents:
        name = tenant_of(doc)
        if name is None:
            continue
        owner[doc.ref] = name
        item = entry(name)
        item["resources"][doc.kind] += 1
        spec = doc.spec
        if doc.kind == "CloudProject":
            item["project_id"] = spec.get("project_id")
            for key in ("request", "department", "mlps_level", "classification"):
                if spec.get(key) is not None and not isinstance(spec.get(key), Mapping):
                    item[key] = spec.get(key)
        elif doc.kind == "ResourceRequest":
            item["request"] = item["request"] or doc.id
            system = spec.get("system") or {}
            item["mlps_level"] = item["mlps_level"] or system.get("mlps_level")
            item["classification"] = item["classification"] or system.get("classification")
            dept = spec.get("department")
            item["department"] = item["department"] or (dept if isinstance(dept, str) else None)
    for finding in findings:
        name = owner.get(finding.target, NO_TENANT)
        item = entry(name)
        if finding.target not in item["targets"]:
            item["targets"].append(finding.target)
        if not finding.waived:
            item["findings"][finding.severity] = item["findings"].get(finding.severity, 0) + 1
    out = {}
    for name in sorted(tenants, key=lambda n: (n == NO_TENANT, n)):
        item = tenants[name]
        item["resources"] = dict(sorted(item["resources"].items()))
        out[name] = item
    return out


def families_section(findings: list[Finding]) -> dict[str, Any]:
    """Open findings per control family and severity, in the standard's order."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SEVERITIES, 0))
    for finding in findings:
        if not finding.waived:
            counts[finding.family or "other"][finding.severity] += 1
    return {key: {"title": TITLES[key], **counts[key]} for key in ORDER if key in counts}


def _about(merged: Validated, snapshot: CloudSnapshot | None,
           hardening: Mapping[str, Any] | None) -> dict[str, Any]:
    kinds = Counter(d.kind for d in merged.catalog.documents)
    out: dict[str, Any] = {
        "cloud": snapshot.cloud if snapshot else None,
        "api_calls": snapshot.calls if snapshot else 0,
        "documents": dict(sorted(kinds.items())),
        "files": len(merged.files),
        "hardening_run": None,
    }
    if hardening is not None:
        out["hardening_run"] = {k: hardening.get(k) for k in ("run_id", "finished", "mode")}
    return out
