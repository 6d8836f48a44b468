"""One pass over the catalog that every consolidation rule and the analysis share.

The rules ask the same questions (which rooms are independent and active, which systems share a
department and a function, what does each request replace); answering them once per catalog keeps
the whole analysis linear in the inventory size instead of one scan and sort per rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from govcloud.documents import Catalog, Document
from govcloud.vocabulary import Vocabulary, vocabulary_of

# A platform outside China cannot take a government machine room's load (data must stay in the
# country), so only domestic platforms are migration targets.
DOMESTIC = "CN"
# Where a room carries several zones, the platform of the most sensitive zone takes it: moving an
# internal-network system onto an external-network cloud is not a migration, it is a violation.
ZONE_RANK = {"gov-internal": 0, "gov-external": 1, "internet": 2}
# A room that declares no networks and hosts no system is assumed to sit on the e-government
# external network, where most department rooms are.
DEFAULT_ZONE = "gov-external"
# The Function id of a government website (门户网站); other spellings map onto it.
PORTAL = "portal"


@dataclass(frozen=True, slots=True)
class ForeignReplace:
    """A request's ``replaces`` entry naming what another department owns (it silences nothing)."""

    request: Document
    position: int
    target: str
    owner: str


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
    departments: dict[str, Document]  # id -> Department
    governments: dict[str, list[str]]  # region code -> government departments (政府/政府办)
    foreign_replaces: list[ForeignReplace]  # replaces entries owned by another department
    vocabulary: Vocabulary

    def function_of(self, spec: Any) -> str:
        """The canonical function of a System spec or a request's ``spec.system``."""
        return self.vocabulary.key(str(spec.get("function", "")))

    def ancestors(self, dept_id: str) -> list[str]:
        """The department's supervising departments, nearest first (the ``parent`` chain)."""
        out: list[str] = []
        current = self.departments.get(dept_id)
        while current is not None and len(out) < len(self.departments):
            parent = current.spec.get("parent")
            if not parent or parent in out or parent == dept_id:
                break  # validation refuses cycles; never loop on bad data anyway
            out.append(parent)
            current = self.departments.get(parent)
        return out

    def is_government(self, dept_id: str) -> bool:
        dept = self.departments.get(dept_id)
        return dept is not None and dept.spec.get("government") is True

    def government_of(self, dept_id: str) -> str | None:
        """The government (政府/政府办) of the department's own region, if the inventory has one."""
        dept = self.departments.get(dept_id)
        if dept is None:
            return None
        found = self.governments.get(str(dept.spec.get("region")), [])
        return found[0] if found else None

    def platforms_for(self, zones: Iterable[str]) -> list[Document]:
        """Domestic platforms serving any of ``zones``, most sensitive zone first."""
        ordered = sorted(set(zones), key=lambda z: (ZONE_RANK.get(z, len(ZONE_RANK)), z))
        return [p for zone in ordered for p in self.platforms.get(zone, ())]


def index_of(catalog: Catalog) -> Index:
    """The index of ``catalog``, built on first use and rebuilt if documents were added since."""
    return catalog.derived("consolidation-index", _build)


def _by_id(docs: Iterable[Document]) -> list[Document]:
    return sorted(docs, key=lambda d: d.id)


def _build(catalog: Catalog) -> Index:
    rooms = _by_id(catalog.of_kind("MachineRoom"))
    systems = _by_id(catalog.of_kind("System"))
    requests = _by_id(catalog.of_kind("ResourceRequest"))
    vocabulary = vocabulary_of(catalog)
    by_function: dict[tuple[str, str], list[Document]] = defaultdict(list)
    portals: dict[str, list[Document]] = defaultdict(list)
    hosted_zones: dict[str, set[str]] = defaultdict(set)
    claims: dict[str, list[tuple[Document, int]]] = defaultdict(list)
    for system in systems:
        spec: Any = system.spec
        function = vocabulary.key(spec["function"])
        by_function[(spec["department"], function)].append(system)
        if function == PORTAL:
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
    foreign: list[ForeignReplace] = []
    for request in requests:
        requester = request.spec["department"]
        for position, target in enumerate(request.spec.get("replaces", ())):
            owned = catalog.get("MachineRoom", target) or catalog.get("System", target)
            owner = owned.spec.get("department") if owned is not None else requester
            if owner != requester:
                # Another department's room or system: naming it consolidates nothing and must
                # not silence that department's findings (GC-CON-010 reports it).
                foreign.append(ForeignReplace(request, position, target, str(owner)))
                continue
            replaced_by[target].append(request.id)
    platforms: dict[str, list[Document]] = defaultdict(list)
    for platform in _by_id(catalog.of_kind("Platform")):
        if platform.spec["location"] == DOMESTIC:
            platforms[platform.spec["zone"]].append(platform)
    departments = {d.id: d for d in catalog.of_kind("Department")}
    governments: dict[str, list[str]] = defaultdict(list)
    for dept_id in sorted(departments):
        if departments[dept_id].spec.get("government") is True:
            governments[str(departments[dept_id].spec["region"])].append(dept_id)
    return Index(
        levels={d.id: d.spec["level"] for d in departments.values()},
        rooms=rooms, requests=requests, independent=dict(independent),
        by_function=dict(by_function),
        repeated=sorted((k, v) for k, v in by_function.items() if len(v) > 1),
        portals=dict(portals),
        sources=sorted((k, v) for k, v in claims.items() if len(v) > 1),
        zones=zones, replaced_by=dict(replaced_by), platforms=dict(platforms),
        departments=departments, governments=dict(governments), foreign_replaces=foreign,
        vocabulary=vocabulary,
    )
