"""Spec schemas of the documents govcloud reads from a live cloud (CloudProject, CloudServer...).

Nobody writes these by hand: `govcloud audit` builds them from the cloud so that the same policy
engine evaluates them. They register here and ``schemas.py`` merges them into the kind registry.
"""

from __future__ import annotations

from typing import Any

CLOUD_SPEC_SCHEMAS: dict[str, dict[str, Any]] = {}
