"""Consolidation (集约化): duplicate machine rooms and systems, per-level shares, migration plan.

``PROVIDER`` is its rule provider for ``check`` (assembled in ``govcloud.providers``); importing
the package registers its report section with the renderers.
"""

from govcloud.check import RuleProvider
from govcloud.consolidation import render as _render  # noqa: F401  (registers the section)
from govcloud.consolidation.analysis import (
    PLAN_ORDER,
    ConsolidationResult,
    analyze,
    consolidation_findings,
)
from govcloud.consolidation.rules import Rule, rules

PROVIDER = RuleProvider(
    name="consolidation",
    rule_ids=lambda: [r.id for r in rules()],
    findings=consolidation_findings,
)

__all__ = ["PLAN_ORDER", "PROVIDER", "ConsolidationResult", "Rule", "analyze",
           "consolidation_findings", "rules"]
