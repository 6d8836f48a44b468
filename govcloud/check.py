"""`check`: policies and built-in rules over validated documents, as one Report (pure).

Rule providers (consolidation, ...) are passed in by the caller as an explicit tuple
(``govcloud.providers.builtin_providers()`` at the edges): this module imports none of them, so
there is no import cycle and a provider that fails to import fails loudly where it is assembled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from govcloud.documents import Catalog
from govcloud.model import DocError, Finding, Report
from govcloud.policy import PolicySet, apply_waivers, evaluate
from govcloud.policy.waivers import WAIVER_RULE_IDS, waiver_errors
from govcloud.validate import Validated

SCOPES = ("all", "requests")


@dataclass(frozen=True, slots=True)
class RuleProvider:
    """Built-in rules (consolidation, cloud checks) that report findings beside policies."""

    name: str
    rule_ids: Callable[[], Iterable[str]]
    findings: Callable[[Catalog], list[Finding]]


def known_rule_ids(policies: PolicySet, providers: Iterable[RuleProvider]) -> set[str]:
    ids = {p.id for p in policies.policies} | set(WAIVER_RULE_IDS)
    for provider in providers:
        ids.update(provider.rule_ids())
    return ids


def run_check(
    validated: Validated,
    policies: PolicySet,
    *,
    today: dt.date,
    providers: tuple[RuleProvider, ...],
    scope: str = "all",
) -> Report:
    """Findings of ``policies`` and ``providers`` with waivers applied, and every error.

    ``scope="requests"`` keeps only what concerns the request files given (findings on their
    documents, including consolidation findings a request causes, and their errors), so that a
    department's CI is not failed by inventory findings it cannot fix.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")
    catalog = validated.catalog
    findings = evaluate(catalog, policies)
    for provider in providers:
        findings.extend(provider.findings(catalog))
    errors = list(validated.all_errors)
    errors.extend(waiver_errors(catalog, known_rule_ids(policies, providers), policies.hard_ids))
    waivable = {p.id: p.waivable for p in policies.policies}
    final = apply_waivers(findings, catalog, today, waivable)
    if scope == "requests":
        final, errors = in_request_scope(validated, final, errors)
    final.sort(key=Finding.order)
    return Report(findings=tuple(final), errors=tuple(errors))


def in_request_scope(validated: Validated, findings: list[Finding], errors: list[DocError]
                     ) -> tuple[list[Finding], list[DocError]]:
    """Findings on documents of the request files, and errors in those files; input errors
    always (a missing PATH, an unreadable file: the exit code is 2, the reason must show)."""
    files = validated.request_files
    targets = {d.ref for d in validated.catalog.documents if d.file in files}
    unreadable = set(validated.input_errors)
    return ([f for f in findings if f.target in targets],
            [e for e in errors if e.file is None or e.file in files or e in unreadable])
