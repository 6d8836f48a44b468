"""The gate's settings, and what the audit log records of them (pure).

The decision itself is ``Report.blocking(fail_on)``: open findings at or above ``fail_on`` plus
every open finding of a hard (non-waivable) policy, whatever ``fail_on`` says. ``check`` and
``plan``/``apply`` both use it (``audit`` and ``consolidation`` report; their ``--fail-on`` is
plain), with the policies of ``load_policies`` (which always include the
shipped hard rules). What differs from the defaults is recorded with the command (the audit log
adds the actor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from govcloud.model import Report
from govcloud.policy import PolicySet

DEFAULT_FAIL_ON = "high"
DEFAULT_SCOPE = "all"


@dataclass(frozen=True, slots=True)
class GateSettings:
    fail_on: str = DEFAULT_FAIL_ON
    policies: str | None = None  # --policies DIR, None: the shipped baseline
    scope: str = DEFAULT_SCOPE
    inventory: str | None = None  # the inventory read (file or folder), None: none
    inventory_source: str = "default"  # "--inventory", "$GOVCLOUD_INVENTORY" or "default"

    def overrides(self) -> dict[str, str]:
        """Every setting that differs from its default."""
        out: dict[str, str] = {}
        if self.fail_on != DEFAULT_FAIL_ON:
            out["fail_on"] = self.fail_on
        if self.policies is not None:
            out["policies"] = self.policies
        if self.scope != DEFAULT_SCOPE:
            out["scope"] = self.scope
        if self.inventory_source != "default":
            out["inventory"] = f"{self.inventory} ({self.inventory_source})"
        return out

    def record(self, report: Report, policies: PolicySet) -> dict[str, Any]:
        """The gate part of the command's audit-log entry."""
        failing = report.blocking(self.fail_on)
        return {
            "overrides": self.overrides(),
            "inventory": self.inventory,
            "waivers_applied": sorted({f.waiver for f in report.findings
                                       if f.waived and f.waiver}),
            "hard_findings": sum(1 for f in failing if f.hard),
            "failing": len(failing),
            "policy_notes": list(policies.notes),
        }
