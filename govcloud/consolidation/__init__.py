"""Consolidation (集约化): duplicate machine rooms and systems, per-level shares, migration plan.

Importing the package registers its rules with ``check`` and its report section with the
renderers.
"""

from govcloud.check import RuleProvider, register_provider
from govcloud.consolidation import render as _render  # noqa: F401  (registers the section)
from govcloud.consolidation.analysis import (
    PLAN_ORDER,
    ConsolidationResult,
    analyze,
    consolidation_findings,
)
from govcloud.consolidation.rules import Rule, rules

register_provider(
    RuleProvider(
        name="consolidation",
        rule_ids=lambda: [r.id for r in rules()],
        findings=consolidation_findings,
    )
)

__all__ = ["PLAN_ORDER", "ConsolidationResult", "Rule", "analyze", "consolidation_findings",
           "rules"]
