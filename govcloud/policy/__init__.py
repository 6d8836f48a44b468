"""Policies: JSON Schema documents evaluated on resolved govcloud documents."""

from govcloud.policy.engine import Policy, PolicySet, evaluate, load_policies
from govcloud.policy.waivers import apply_waivers

__all__ = ["Policy", "PolicySet", "apply_waivers", "evaluate", "load_policies"]
