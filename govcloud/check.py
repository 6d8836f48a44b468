"""`check`: policies and built-in rules over validated documents, as one Report (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from govcloud.documents import Catalog
from govcloud.model import Finding, Report
from govcloud.policy import PolicySet, apply_waivers, evaluate
from govcloud.policy.waivers import EXPIRED_POLICY, waiver_errors
from govcloud.validate import Validated


@dataclass(frozen=True, slots=True)
class RuleProvider:
    """Built-in rules (consolidation, cloud checks) that report findings beside policies."""

    name: str
    rule_ids: Callable[[], Iterable[str]]
    findings: Callable[[Catalog], list[Finding]]


_PROVIDERS: dict[str, RuleProvider] = {}


def register_provider(provider: RuleProvider) -> None:
    _PROVIDERS[provider.name] = provider


def providers() -> list[RuleProvider]:
    # Importing the built-in rule packages registers them (kept lazy: pure core, fast start-up).
    try:
        import govcloud.consolidation  # noqa: F401
    except ImportError:  # pragma: no cover - during early development only
        pass
    return list(_PROVIDERS.values())


def known_rule_ids(policies: PolicySet) -> set[str]:
    ids = {p.id for p in policies.policies} | {EXPIRED_POLICY}
    for provider in providers():
        ids.update(provider.rule_ids())
    return ids


def run_check(
    validated: Validated,
    policies: PolicySet,
    *,
    today: dt.date,
    with_rules: bool = True,
) -> Report:
    catalog = validated.catalog
    findings = evaluate(catalog, policies)
    if with_rules:
        for provider in providers():
            findings.extend(provider.findings(catalog))
    errors = list(validated.all_errors)
    errors.extend(waiver_errors(catalog, known_rule_ids(policies)))
    waivable = {p.id: p.waivable for p in policies.policies}
    final = apply_waivers(findings, catalog, today, waivable)
    final.sort(key=lambda f: (-_rank(f.severity), f.policy, f.target, f.path))
    return Report(findings=tuple(final), errors=tuple(errors))


def _rank(severity: str) -> int:
    return {"critical": 4, "high": 3, "medium": 2, "low": 1}.get(severity, 0)
