"""Drift: where the cloud differs from the requests, read off a plan (pure).

Every action of the plan is a difference (``create`` = missing, ``update``/``replace`` =
changed, ``delete`` = not requested any more, an extra copy, or unmanaged); resources in the
managed projects that govcloud did not create and the plan leaves alone are unmanaged too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from govcloud.provision.plan import _plain

if TYPE_CHECKING:
    from govcloud.provision.plan import Action
    from govcloud.provision.service import Planned

STATUS_OF_OP = {"create": "missing", "update": "changed", "replace": "changed"}
UNMANAGED_REASON = "in a managed project but not created by govcloud"


@dataclass(frozen=True)
class DriftRow:
    cloud: str
    status: str  # missing | changed | not requested | duplicate | unmanaged
    kind: str
    name: str
    tenant: str
    request: str | None
    reason: str
    changes: tuple[tuple[str, Any, Any], ...] = ()  # (field, actual, requested)

    def to_json(self) -> dict[str, Any]:
        return {"cloud": self.cloud, "status": self.status, "kind": self.kind,
                "name": self.name, "tenant": self.tenant, "request": self.request,
                "reason": self.reason,
                "changes": [{"field": f, "actual": _plain(a), "requested": _plain(d)}
                            for f, a, d in self.changes]}


def _status(action: Action) -> str:
    from govcloud.provision.plan import is_copy

    if action.op != "delete":
        return STATUS_OF_OP[action.op]
    if is_copy(action):
        return "duplicate"
    return "not requested" if action.resource.request else "unmanaged"


def drift_rows(planned: Planned) -> list[DriftRow]:
    cloud = planned.target.cloud
    rows: list[DriftRow] = []
    want = {r.key for r in planned.desired}
    listed = set()
    for action in planned.plan.actions:
        r = action.resource
        listed.add(r.key)
        rows.append(DriftRow(cloud, _status(action), r.kind, r.name, r.tenant, r.request,
                             action.reason, action.changes))
    for r in planned.snapshot.resources:
        if r.key not in want and not r.request and r.key not in listed:
            rows.append(DriftRow(cloud, "unmanaged", r.kind, r.name, r.tenant, None,
                                 UNMANAGED_REASON))
    return rows


def summary(rows: Iterable[DriftRow]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def drift_document(rows: list[DriftRow]) -> dict[str, Any]:
    """What `drift -o json` prints."""
    return {"version": 1, "drift": [r.to_json() for r in rows], "summary": summary(rows)}


def render_drift(rows: list[DriftRow]) -> str:
    """The table `drift` prints: one line per row, its changed fields below it."""
    if not rows:
        return "No drift: the cloud matches the requests."
    lines = []
    for row in rows:
        lines.append(f"{row.status:<14} {row.kind:<17} {row.name} "
                     f"(tenant {row.tenant}, {row.request or 'unmanaged'})")
        for field, actual, requested in row.changes:
            lines.append(f"    {field}: requested "
                         f"{json.dumps(_plain(requested), ensure_ascii=False)}, actual "
                         f"{json.dumps(_plain(actual), ensure_ascii=False)}")
    counts = summary(rows)
    lines.append("Drift: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".")
    return "\n".join(lines)
