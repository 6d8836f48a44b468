"""Diff desired against actual resources into a Terraform-style plan (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from govcloud.provision.desired import Resource
from govcloud.provision.kinds import RANK, kind

OWNER_FIELD = "govcloud:request"

# Why a resource is deleted (the plan shows it; apply lists the last two before it deletes).
NO_LONGER_REQUESTED = "no longer requested"
NOT_IN_MANAGED_GROUP = ("not asked for by the request: a managed security group holds only the "
                        "rules its request asks for")
PRUNED = "in a managed project but not created by govcloud (--prune)"
DUPLICATE = "a second copy of a managed name in the tenant"  # the reason goes on: "; kept ..."


@dataclass(frozen=True, slots=True)
class Action:
    op: str  # create | update | replace | delete
    resource: Resource
    changes: tuple[tuple[str, Any, Any], ...] = ()  # (field, actual, desired)
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        r = self.resource
        return {"op": self.op, "kind": r.kind, "name": r.name, "tenant": r.tenant,
                "request": r.request, "reason": self.reason,
                "changes": [{"field": f, "from": _plain(a), "to": _plain(d)}
                            for f, a, d in self.changes]}


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    fingerprint: str  # of the actual state the plan was computed from (stale-plan check)
    unchanged: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.actions

    def summary(self) -> str:
        add = sum(1 for a in self.actions if a.op in ("create", "replace"))
        change = sum(1 for a in self.actions if a.op == "update")
        destroy = sum(1 for a in self.actions if a.op in ("delete", "replace"))
        return f"Plan: {add} to add, {change} to change, {destroy} to destroy."

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "fingerprint": self.fingerprint, "summary": self.summary(),
                "unchanged": self.unchanged, "actions": [a.to_json() for a in self.actions]}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        if all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
            return {k: _plain(v) for k, v in value}
        return [_plain(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(_plain(v) for v in value)
    return value


def fingerprint(actual: Iterable[Resource]) -> str:
    rows = sorted(json.dumps([r.kind, r.tenant, r.name, r.request, _plain(r.fields)],
                             sort_keys=True, default=str) for r in actual)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def _order(name: str) -> int:
    """Creation rank: the order follows the kinds' declared needs (provision/kinds.py)."""
    return RANK[kind(name).name]


def diff(desired: Iterable[Resource], actual: Iterable[Resource],
         managed_requests: Iterable[str] | None = None,
         broken: dict[tuple[str, str, str], str] | None = None, *,
         prune: bool = False,
         copies: dict[tuple[str, str, str], tuple[tuple[str, str, str], str]] | None = None,
         ) -> Plan:
    """Creates, updates and replaces in dependency order, then deletes in reverse order.

    Deleted are: resources tagged with a request in ``managed_requests`` (default: the desired
    ones) that the requests no longer ask for; every rule of a managed security group that its
    request does not ask for, whoever made it (managed groups are authoritative); and, with
    ``prune``, every other resource in the managed projects that govcloud did not create.
    Otherwise untagged resources are left alone (``drift`` reports them). ``broken`` names
    existing resources that cannot be used as they are (a server in ERROR): they are replaced.
    ``copies`` (copy key -> (key of the one kept, why)) are extra resources of one name: those
    of a requested or managed resource are deleted (see ``govcloud/cloud/copies.py``).
    """
    broken = broken or {}
    desired = list(desired)
    actual = list(actual)
    have = {r.key: r for r in actual}
    want = {r.key: r for r in desired}
    managed = set(managed_requests) if managed_requests is not None else {
        r.request for r in desired}
    forward: list[Action] = []
    unchanged = 0
    for resource in sorted(desired, key=lambda r: (_order(r.kind), r.tenant, r.name)):
        current = have.get(resource.key)
        if current is None:
            forward.append(Action("create", resource))
            continue
        changes = _changes(current, resource)
        if resource.key in broken:
            forward.append(Action("replace", resource, tuple(changes), broken[resource.key]))
            continue
        if not changes:
            unchanged += 1
            continue
        blocking = kind(resource.kind).replace_reasons(changes)
        op = "replace" if blocking else "update"
        forward.append(Action(op, resource, tuple(changes), "; ".join(blocking)))
    groups = managed_groups(desired, actual, managed)
    backward = []
    for current in sorted(actual, key=lambda r: (-_order(r.kind), r.tenant, r.name)):
        if current.key in want:
            continue
        reason = _copy_reason(current, (copies or {}).get(current.key), want, have, managed) or (
            _deletion_reason(current, managed, groups, prune))
        if reason:
            backward.append(Action("delete", current, reason=reason))
    counts: dict[str, int] = {}
    for action in forward + backward:
        counts[action.op] = counts.get(action.op, 0) + 1
    return Plan(tuple(forward + backward), fingerprint(actual), unchanged, counts)


def managed_groups(desired: Iterable[Resource], actual: Iterable[Resource],
                   managed: set[str]) -> set[tuple[str, str]]:
    """(tenant, name) of the security groups govcloud owns: requested, or tagged with a
    managed request. Their rules are exactly what the requests ask for."""
    out = {(r.tenant, r.name) for r in desired if r.kind == "security_group"}
    out.update((r.tenant, r.name) for r in actual
               if r.kind == "security_group" and r.request and r.request in managed)
    return out


def _copy_reason(current: Resource, copy: tuple[tuple[str, str, str], str] | None,
                 want: dict[tuple[str, str, str], Resource],
                 have: dict[tuple[str, str, str], Resource], managed: set[str]) -> str:
    if copy is None:
        return ""
    kept_key, why = copy
    kept = have.get(kept_key)
    if kept_key in want or current.request in managed or (kept and kept.request in managed):
        return f"{DUPLICATE}; {why}"
    return ""


def is_copy(action: Action) -> bool:
    return action.op == "delete" and action.reason.startswith(DUPLICATE)


def _deletion_reason(current: Resource, managed: set[str], groups: set[tuple[str, str]],
                     prune: bool) -> str:
    if current.request and current.request in managed:
        return NO_LONGER_REQUESTED
    if current.kind == "sg_rule" and (current.tenant, current.parent) in groups:
        return NOT_IN_MANAGED_GROUP
    if prune and not current.request:
        return PRUNED
    return ""


def foreign_deletions(plan: Plan) -> list[Action]:
    """Deletions of what no managed request made (out-of-band rules in managed groups, and
    with --prune unmanaged resources): apply names each before it deletes anything."""
    return [a for a in plan.actions
            if a.op == "delete" and a.reason in (NOT_IN_MANAGED_GROUP, PRUNED)]


def _changes(current: Resource, desired: Resource) -> list[tuple[str, Any, Any]]:
    have = current.field_map()
    out: list[tuple[str, Any, Any]] = []
    if current.request != desired.request:
        # Found by name but not (yet) marked: a crash between create and tag. Adopt it.
        out.append((OWNER_FIELD, current.request or None, desired.request))
    for name, value in desired.fields:
        if have.get(name) != value:
            out.append((name, have.get(name), value))
    return out


SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}


def render_plan(plan: Plan) -> str:
    """Terraform-style text: one block per action, field by field, and a summary line."""
    lines: list[str] = []
    for action in plan.actions:
        r = action.resource
        head = f"{SYMBOLS[action.op]} {r.kind} \"{r.name}\" (tenant {r.tenant}, {r.request})"
        if action.op == "replace":
            head += f"  # must be replaced: {action.reason}"
        elif action.op == "delete" and action.reason != NO_LONGER_REQUESTED:
            head += f"  # {action.reason}"
        lines.append(head)
        if action.op == "create":
            for name, value in r.fields:
                lines.append(f"    + {name} = {json.dumps(_plain(value), ensure_ascii=False)}")
        for name, old, new in action.changes:
            lines.append(f"    ~ {name}: {json.dumps(_plain(old), ensure_ascii=False)} -> "
                         f"{json.dumps(_plain(new), ensure_ascii=False)}")
    if not plan.actions:
        lines.append("No changes. The cloud matches the requests.")
    lines.append(plan.summary())
    return "\n".join(lines)
