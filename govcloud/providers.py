"""The built-in rule providers, assembled in one place.

``check``, ``plan``/``apply`` and ``audit`` pass this tuple to ``run_check``; the core modules
import no provider themselves. A provider that cannot be imported is an error here, never a
silent loss of its findings.
"""

from __future__ import annotations

from govcloud.check import RuleProvider


def builtin_providers() -> tuple[RuleProvider, ...]:
    from govcloud.consolidation import PROVIDER as consolidation

    return (consolidation,)
