"""MLPS 2.0 level-3 host hardening: run the baseline playbooks, report per host and control.

Public API:
- ``run_baseline(inventory, check=..., limit=..., tags=..., extravars=...) -> HardenRun``
- ``load_latest()``: the newest saved results, for ``govcloud audit``
- ``load_controls()``: the control catalog (ids, clauses, severities)
"""

import govcloud.hardening.sections  # noqa: F401  (registers the "hosts" report section)
from govcloud.hardening.controls import Control, default_playbooks_dir, load_controls
from govcloud.hardening.runner import HardenRun, load_latest, run_baseline

__all__ = [
    "Control",
    "HardenRun",
    "default_playbooks_dir",
    "load_controls",
    "load_latest",
    "run_baseline",
]
