"""Provisioning core (pure): the resources requests ask for, and the plan to get there.

``desired_state`` turns ResourceRequests into named, tagged resources; ``diff`` compares them
with what the cloud holds (read by an adapter under ``govcloud/cloud/``) and returns a ``Plan``
in dependency order. Nothing here talks to OpenStack.
"""

from govcloud.provision.desired import Resource, desired_state
from govcloud.provision.kinds import KINDS, KINDS_ORDER
from govcloud.provision.plan import Action, Plan, diff, render_plan

__all__ = ["KINDS", "KINDS_ORDER", "Action", "Plan", "Resource", "desired_state", "diff",
           "render_plan"]
