"""One pass over the catalog that every consolidation rule and the analysis share.

The rules ask the same questions (which rooms are independent and active, which systems share a
department and a function, what does each request replace); answering them once per catalog keeps
the whole analysis linear in the inventory size instead of one scan and sort per rule.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from govcloud.documents import Catalog, Document

# A platform outside China cannot take a government machine room's load (data must stay in the
# country), so only domestic platforms are migration targets.
DOMESTIC = "CN"
# Where a room carries several zones, the platform of the most sensitive zone takes it: moving an
# internal-network system onto an external-network cloud is not a migration, it is a violation.
ZONE_RANK = {"gov-internal": 0, "gov-external": 1, "internet": 2}
# A room that declares no networks and hosts no system is assumed to sit on the e-government
# external network, where most department rooms are.
DEFAULT_ZONE = "gov-external"


@dataclass(frozen=True, slots=True)
class Index:
    levels: dict[str, str]  # department id -> level
    rooms: list[Document]  # every room, by id
    requests: list[Document]  # by id
    independent: dict[str, list[Document]]  # department -> active independent rooms, by id
    by_function: dict[tuple[str, str], list[Document]]  # (department, function) -> systems
    repeated: list[tuple[tuple[str, str], list[Document]]]  # by_function groups of 2+, sorted
    portals: dict[str, list[Document]]  # department -> portal systems, by id
    sources: list[tuple[str, list[tuple[Document, int]]]]  # data set -> (system, position)
    # for data sets claimed by two or more systems, sorted
    zones: dict[str, tuple[str, ...]]  # independent room id -> the zones it serves
    replaced_by: dict[str, list[str]]  # room or system id -> request ids, by id
    platforms: dict[str, list[Document]]  # zone -> domestic platforms, by id

    def platforms_for(self, zones: Iterable[str]) -> list[Document]:
        """Domestic platforms serving any of ``zones``, most sensitive zone first."""
        ordered = sorted(set(zones), key=lambda z: (ZONE_RANK.get(z, len(ZONE_RANK)), z))
        return [p for zone in ordered for p in self.platforms.get(zone, ())]


_CACHE: weakref.WeakKeyDictionary[Catalog, tuple[int, Index]] = weakref.WeakKeyDictionary()


def index_of(catalog: Catalog) -> Index:
    """The index of ``catalog``, built on first use and rebuilt if documents were added since."""
    cached = _CACHE.get(catalog)
    if cached is not None and cached[0] == len(catalog.documents):
        return cached[1]
    built = _build(catalog)
    _CACHE[catalog] = (len(catalog.documents), built)
    return built


def _by_id(docs: Iterable[Document]) -> list[Document]:
    return sorted(docs, key=lambda d: d.id)


def _build(catalog: Catalog) -> Index:
    rooms = _by_id(catalog.of_kind("MachineRoom"))
    systems = _by_id(catalog.of_kind("System"))
    requests = _by_id(catalog.of_kind("ResourceRequest"))
    by_function: dict[tuple[str, str], list[Document]] = defaultdict(list)
    portals: dict[str, list[Document]] = defaultdict(list)
    hosted_zones: dict[str, set[str]] = defaultdict(set)
    claims: dict[str, list[tuple[Document, int]]] = defaultdict(list)
    for system in systems:
        spec: Any = system.spec
        by_function[(spec["department"], spec["function"])].append(system)
        if spec["function"] == "portal":
            portals[spec["department"]].append(system)
        hosted_zones[spec["hosted_in"]].add(spec["network_zone"])
        for position, dataset in enumerate(spec.get("authoritative_for", ())):
            claims[dataset].append((system, position))
    independent: dict[str, list[Document]] = defaultdict(list)
    zones: dict[str, tuple[str, ...]] = {}
    for room in rooms:
        spec = room.spec
        if spec["kind"] != "independent":
            continue
        # A room's zones: its declared networks, else those of the systems it hosts.
        zones[room.id] = tuple(spec.get("networks") or sorted(hosted_zones.get(room.id, ()))
                               ) or (DEFAULT_ZONE,)
        if spec["status"] == "active":
            independent[spec["department"]].append(room)
    replaced_by: dict[str, list[str]] = defaultdict(list)
    for request in requests:
        for target in request.spec.get("replaces", ()):
            replaced_by[target].append(request.id)
    platforms: dict[str, list[Document]] = defaultdict(list)
    for platform in _by_id(catalog.of_kind("Platform")):
        if platform.spec["location"] == DOMESTIC:
            platforms[platform.spec["zone"]].append(platform)
    return Index(
        levels={d.id: d.spec["level"] for d in catalog.of_kind("Department")},
        rooms=rooms, requests=requests, independent=dict(independent),
        by_function=dict(by_function),
        repeated=sorted((k, v) for k, v in by_function.items() if len(v) > 1),
        portals=dict(portals),
        sources=sorted((k, v) for k, v in claims.items() if len(v) > 1),
        zones=zones, replaced_by=dict(replaced_by), platforms=dict(platforms),
    )
