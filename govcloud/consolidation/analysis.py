"""The consolidation picture: shares per administrative level, duplicates, migration plan."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from govcloud.consolidation.rules import (
    platforms_for,
    replaced_ids,
    room_zones,
    rules,
    systems_by_room,
)
from govcloud.documents import Catalog
from govcloud.model import Finding
from govcloud.schemas import LEVELS

PLAN_ORDER = (
    "Rooms are ordered for migration: active before migrating; then by utilization, lowest "
    "first (least load to move, most capacity wasted); then by power draw, highest first (most "
    "energy saved); ties by id. Each goes to the shared platform serving its zones."
)


@dataclass(frozen=True, slots=True)
class LevelShare:
    level: str
    departments: int
    with_independent_rooms: int
    with_portal: int

    @property
    def share_independent(self) -> float:
        return self.with_independent_rooms / self.departments if self.departments else 0.0

    @property
    def share_portal(self) -> float:
        return self.with_portal / self.departments if self.departments else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "departments": self.departments,
            "with_independent_rooms": self.with_independent_rooms,
            "share_independent": round(self.share_independent, 4),
            "with_portal": self.with_portal,
            "share_portal": round(self.share_portal, 4),
        }


@dataclass(frozen=True, slots=True)
class Duplicate:
    kind: str  # "rooms" | "systems" | "portals" | "data-source"
    department: str
    key: str  # function, data set, or "machine rooms"
    ids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "department": self.department, "key": self.key,
                "ids": list(self.ids)}


@dataclass(frozen=True, slots=True)
class PlanStep:
    order: int
    room: str
    department: str
    level: str
    status: str
    utilization_pct: float | None
    power_kw: float | None
    zones: tuple[str, ...]
    target_platform: str | None
    replaced_by: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"order": self.order, "room": self.room, "department": self.department,
                "level": self.level, "status": self.status,
                "utilization_pct": self.utilization_pct, "power_kw": self.power_kw,
                "zones": list(self.zones), "target_platform": self.target_platform,
                "replaced_by": list(self.replaced_by)}


@dataclass(frozen=True, slots=True)
class ConsolidationResult:
    levels: tuple[LevelShare, ...]
    duplicates: tuple[Duplicate, ...]
    plan: tuple[PlanStep, ...]
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "levels": [lv.to_json() for lv in self.levels],
            "duplicates": [d.to_json() for d in self.duplicates],
            "plan": [p.to_json() for p in self.plan],
            "plan_order": PLAN_ORDER,
            "findings": [f.to_json() for f in self.findings],
        }

    def section(self) -> dict[str, Any]:
        """The report section (everything but the findings, which the report carries)."""
        data = self.to_json()
        del data["findings"]
        return data


def consolidation_findings(catalog: Catalog) -> list[Finding]:
    return [finding for rule in rules() for finding in rule.evaluate(catalog)]


def level_shares(catalog: Catalog) -> tuple[LevelShare, ...]:
    departments: dict[str, list[str]] = {level: [] for level in LEVELS}
    for dept in catalog.of_kind("Department"):
        departments[dept.spec["level"]].append(dept.id)
    with_room = {r.spec["department"] for r in catalog.of_kind("MachineRoom")
                 if r.spec["kind"] == "independent" and r.spec["status"] == "active"}
    with_portal = {s.spec["department"] for s in catalog.of_kind("System")
                   if s.spec["function"] == "portal"}
    return tuple(
        LevelShare(level, len(ids), sum(1 for d in ids if d in with_room),
                   sum(1 for d in ids if d in with_portal))
        for level, ids in departments.items()
    )


def duplicates(catalog: Catalog) -> tuple[Duplicate, ...]:
    out: list[Duplicate] = []
    rooms: dict[str, list[str]] = defaultdict(list)
    for room in catalog.of_kind("MachineRoom"):
        if room.spec["kind"] == "independent" and room.spec["status"] == "active":
            rooms[room.spec["department"]].append(room.id)
    out += [Duplicate("rooms", d, "machine rooms", tuple(sorted(ids)))
            for d, ids in sorted(rooms.items()) if len(ids) > 1]
    systems: dict[tuple[str, str], list[str]] = defaultdict(list)
    sources: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for system in catalog.of_kind("System"):
        systems[(system.spec["department"], system.spec["function"])].append(system.id)
        for dataset in system.spec.get("authoritative_for", ()):
            sources[dataset].append((system.spec["department"], system.id))
    for (dept, function), ids in sorted(systems.items()):
        if len(ids) > 1:
            kind = "portals" if function == "portal" else "systems"
            out.append(Duplicate(kind, dept, function, tuple(sorted(ids))))
    for dataset, owners in sorted(sources.items()):
        if len(owners) > 1:
            depts = ",".join(sorted({d for d, _ in owners}))
            out.append(Duplicate("data-source", depts, dataset,
                                 tuple(sorted(s for _, s in owners))))
    return tuple(out)


def migration_plan(catalog: Catalog) -> tuple[PlanStep, ...]:
    hosted = systems_by_room(catalog)
    replaced = replaced_ids(catalog)
    candidates = [r for r in catalog.of_kind("MachineRoom")
                  if r.spec["kind"] == "independent" and r.spec["status"] in ("active",
                                                                              "migrating")]

    def key(room: Any) -> tuple[int, float, float, str]:
        spec = room.spec
        utilization = spec.get("utilization_pct")
        power = spec.get("power_kw")
        return (0 if spec["status"] == "active" else 1,
                utilization if utilization is not None else 101.0,
                -(power if power is not None else -1.0),
                room.id)

    steps = []
    for order, room in enumerate(sorted(candidates, key=key), start=1):
        zones = tuple(room_zones(room, catalog, hosted)) or ("gov-external",)
        platforms = platforms_for(zones, catalog)
        # The platform serving the most sensitive zone the room carries wins.
        rank = {"gov-internal": 0, "gov-external": 1, "internet": 2}
        platforms.sort(key=lambda p: (rank.get(p.spec["zone"], 9), p.id))
        dept = catalog.get("Department", room.spec["department"])
        steps.append(PlanStep(
            order=order, room=room.id, department=room.spec["department"],
            level=dept.spec["level"] if dept else "",
            status=room.spec["status"], utilization_pct=room.spec.get("utilization_pct"),
            power_kw=room.spec.get("power_kw"), zones=zones,
            target_platform=platforms[0].id if platforms else None,
            replaced_by=tuple(sorted(replaced.get(room.id, ()))),
        ))
    return tuple(steps)


def analyze(catalog: Catalog) -> ConsolidationResult:
    return ConsolidationResult(
        levels=level_shares(catalog),
        duplicates=duplicates(catalog),
        plan=migration_plan(catalog),
        findings=tuple(consolidation_findings(catalog)),
    )
