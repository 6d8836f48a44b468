"""Consolidation (集约化) rules: registered rule kinds reporting through the common Finding model.

Each rule has an id, a severity, references to the policy it enforces, its own options schema
(JSON Schema) with defaults, a remediation, and an ``evaluate(catalog, options)`` that yields
findings. ``rules()`` is the registry; nothing outside this module lists rules by hand.

A rule's body receives what every rule needs (its own ``Rule``, for ``finding``; the catalog's
consolidation ``Index``, built once per catalog; its options merged with the defaults), so it
holds only its judgement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from govcloud.consolidation.index import PORTAL, Index, index_of
from govcloud.documents import Catalog, Document
from govcloud.model import Finding

GUIDE = "国办发〔2017〕47号《政府网站发展指引》"
# Websites below province level. 47号 says county-level departments open no site of their own and
# publish through the county government's portal; the website consolidation pilot (集约化)
# puts a level's sites on one platform. This project applies the rule to every level below the
# province by default (option `department_portals_at` widens it): only the people's government of
# the level (or its general office) runs a portal, its departments publish as sections of it.
SECTIONS = (f"{GUIDE}: 县级政府部门原则上不开设政府网站, 通过县级政府门户网站开展政务公开和服务",
            "国办函〔2018〕71号《政府网站集约化试点工作方案》: 政府网站集约化 (applied here to "
            "prefecture departments too: they publish as sections of their government's portal)")
BUILT_ONCE = ("省级统建 (国发〔2018〕27号, 全国一体化在线政务服务平台: 省级统筹建设): a system the "
              "province builds once for all levels is used below it, not rebuilt")
OWN_ONLY = "集约化迁移: 由系统和机房的主管部门申报迁移 (a department consolidates what it owns)"
ONE_CLOUD = "政务\u201c一朵云\u201d: 统一上云部署，整合淘汰\u201c小散\u201d数据中心"
NEW_ON_CLOUD = "新建应用在统一政务云平台直接部署、存量应用逐步迁移 (应上尽上)"

Options = Mapping[str, Any]  # a rule's options, merged with its defaults
Findings = Iterator[Finding]
# A rule body: (the rule itself, the catalog's index, its options) -> its findings. A rule judged
# one request at a time (``per_request=True``) also receives the request, after the index.
Evaluate = Callable[["Rule", Index, Options], Findings]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str  # kebab-case registry key
    id: str
    title: str
    severity: str
    references: tuple[str, ...]
    remediation: str
    evaluate_fn: Evaluate = field(repr=False)
    options_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})

    def defaults(self) -> dict[str, Any]:
        props = self.options_schema.get("properties", {})
        return {k: v["default"] for k, v in props.items() if "default" in v}

    def evaluate(self, catalog: Catalog, options: Mapping[str, Any] | None = None
                 ) -> list[Finding]:
        merged = {**self.defaults(), **(options or {})}
        Draft202012Validator(dict(self.options_schema)).validate(merged)
        return list(self.evaluate_fn(self, index_of(catalog), merged))

    def finding(self, doc: Document, path: str, message: str, evidence: str = "") -> Finding:
        return Finding(
            policy=self.id, title=self.title, severity=self.severity, target=doc.ref,
            message=message, file=doc.file, line=doc.line_of(path), path=path,
            remediation=self.remediation, references=self.references, evidence=evidence,
            family="CON",
        )


_RULES: dict[str, Rule] = {}


def register(name: str, *, id: str, title: str, severity: str, references: Iterable[str],
             remediation: str, options: Options | None = None, per_request: bool = False
             ) -> Callable[[Callable[..., Findings]], Callable[..., Findings]]:
    def decorate(fn: Callable[..., Findings]) -> Callable[..., Findings]:
        schema = {"type": "object", "additionalProperties": False,
                  "properties": dict(options or {})}
        Draft202012Validator.check_schema(schema)
        body = _each_request(fn) if per_request else fn
        _RULES[name] = Rule(name, id, title, severity, tuple(references), remediation, body,
                            schema)
        return fn

    return decorate


def _each_request(fn: Callable[[Rule, Index, Document, Options], Findings]) -> Evaluate:
    """A rule judged one request at a time, run over every request of the catalog."""

    def evaluate(me: Rule, index: Index, options: Options) -> Findings:
        for request in index.requests:
            yield from fn(me, index, request, options)

    return evaluate


def _all_but_first(me: Rule, groups: Iterable[tuple[Any, list[Document]]], path: str,
                   say: Callable[[Any, list[Document], str], tuple[str, str]]) -> Findings:
    """A finding on every document of a group after its first (the one that may stay);
    ``say(key, group, ids)`` gives the message and the evidence."""
    for key, group in groups:
        message, evidence = say(key, group, ", ".join(d.id for d in group))
        for extra in group[1:]:
            yield me.finding(extra, path, message, evidence=evidence)


def rules() -> list[Rule]:
    return list(_RULES.values())


def rule(name: str) -> Rule:
    return _RULES[name]


# ------------------------------------------------------------------ the rules


@register("independent-room-with-shared-platform", id="GC-CON-001",
    title="Independent machine room where a shared cloud serves its zone / 有共享政务云仍自建机房",
    severity="medium", references=(ONE_CLOUD, NEW_ON_CLOUD),
    remediation="Plan the room's migration to the shared platform (a ResourceRequest whose "
    "`replaces` lists the room), then retire it",
    options={"statuses": {"type": "array", "items": {"enum": ["active", "migrating"]},
                          "uniqueItems": True, "default": ["active"]}},
)
def _independent_room(me: Rule, index: Index, options: Options) -> Findings:
    for room in index.rooms:
        if room.spec["kind"] != "independent" or room.spec["status"] not in options["statuses"]:
            continue
        zones = index.zones[room.id]
        served = index.platforms_for(zones)
        if served:
            yield me.finding(room, "/spec/kind", f"{room.spec['department']} runs its own "
                             f"machine room '{room.id}' although shared platform "
                             f"{served[0].id} serves its zone ({', '.join(zones)})",
                             evidence=f"platforms {', '.join(p.id for p in served)}; "
                             f"status {room.spec['status']}")


@register("duplicate-rooms", id="GC-CON-002",
    title="Department runs two or more machine rooms / 同一部门多个机房",
    severity="medium", references=(ONE_CLOUD,),
    remediation="Merge the rooms onto the shared cloud; keep at most one while migrating",
)
def _duplicate_rooms(me: Rule, index: Index, options: Options) -> Findings:
    return _all_but_first(me, sorted(index.independent.items()), "/spec/department", lambda
                          dept_id, rooms, ids: (f"{dept_id} runs {len(rooms)} active machine "
                                                f"rooms: {ids}", f"rooms {ids}"))


@register("duplicate-systems", id="GC-CON-003",
    title="Duplicate systems with the same function / 同一部门重复建设系统",
    severity="medium", references=(NEW_ON_CLOUD,),
    remediation="Merge the systems, or list the old one in a ResourceRequest's `replaces`",
    options={"ignore_functions": {"type": "array", "items": {"type": "string"},
                                  "default": ["portal"]}},
)
def _duplicate_systems(me: Rule, index: Index, options: Options) -> Findings:
    ignored = {index.vocabulary.key(f) for f in options["ignore_functions"]}
    # a duplicate already being consolidated (one of them is replaced) is not reported
    groups = [(key, systems) for key, systems in index.repeated if key[1] not in ignored
              and not any(s.id in index.replaced_by for s in systems)]
    return _all_but_first(me, groups, "/spec/function", lambda key, systems, ids: (
        f"{key[0]} runs {len(systems)} '{key[1]}' systems: {ids}",
        f"same department and function as {systems[0].id}"))


LEVELS = ["province", "prefecture", "county"]  # from the top


def _levels_option(default: list[str]) -> dict[str, Any]:
    return {"type": "array", "items": {"enum": LEVELS},
            "uniqueItems": True, "default": default}


def _publish_through(index: Index, dept_id: str) -> str:
    """Where a department below province level publishes instead: its government's portal."""
    government = index.government_of(dept_id)
    if government is None:
        return "its government's portal"
    portals = index.portals.get(government, [])
    return (f"{government}'s portal {portals[0].id}" if portals
            else f"the portal of {government} (which runs none yet)")


def _department_portal(index: Index, dept_id: str, allowed: list[str]) -> bool:
    """A department portal the national rule does not allow (governments always may have one)."""
    return (not index.is_government(dept_id)
            and index.levels.get(dept_id) not in (None, *allowed))


@register("department-portal-below-province", id="GC-CON-004",
    title="Department below province level runs its own website / 省级以下政府部门自建网站",
    severity="medium", references=SECTIONS,
    remediation="Move the content into a section (栏目) of the government portal of the "
    "department's level and close the department site",
    options={"department_portals_at": _levels_option(["province"])},
)
def _portal_below_province(me: Rule, index: Index, options: Options) -> Findings:
    for dept_id, portals in sorted(index.portals.items()):
        if not _department_portal(index, dept_id, options["department_portals_at"]):
            continue
        level = index.levels.get(dept_id)
        for system in portals:
            yield me.finding(system, "/spec/function",
                             f"{level}-level department {dept_id} runs its own portal "
                             f"'{system.spec['name']}'; below province level only the "
                             f"government runs one: publish through "
                             f"{_publish_through(index, dept_id)}",
                             evidence=system.spec.get("public_url", ""))


@register("multiple-portals", id="GC-CON-005",
    title="More than one website per unit / 一个单位开设多个网站",
    severity="medium", references=(f"{GUIDE}: 原则上一个单位最多开设一个网站",),
    remediation="Fold the extra sites into the unit's one portal as sections",
)
def _multiple_portals(me: Rule, index: Index, options: Options) -> Findings:
    return _all_but_first(me, sorted(index.portals.items()), "/spec/function", lambda
                          dept_id, systems, ids: (f"{dept_id} runs {len(systems)} portals: {ids}",
                                                  ""))


@register("one-data-one-source", id="GC-CON-006",
    title="Two authoritative sources for one data set / 一数多源",
    severity="high", references=("一数一源: 政务数据资源目录, 一数一源、多元校核",),
    remediation="Keep one authoritative system for the data set; others consume it through the "
    "data-exchange platform",
)
def _one_source(me: Rule, index: Index, options: Options) -> Findings:
    for dataset, claims in index.sources:
        ids = ", ".join(s.id for s, _ in claims)
        for system, position in claims[1:]:
            yield me.finding(system, f"/spec/authoritative_for/{position}",
                             f"'{dataset}' has {len(claims)} authoritative sources: {ids}")


@register("request-duplicates-system", id="GC-CON-007",
    title="Request adds a duplicate of a running system / 申请重复建设已有系统",
    severity="high", references=(NEW_ON_CLOUD,),
    remediation="List the system it supersedes in `replaces` (it is then migrated and retired), "
    "or reuse the existing system",
    per_request=True,
)
def _request_duplicates(me: Rule, index: Index, request: Document, options: Options) -> Findings:
    key = (request.spec["department"], index.function_of(request.spec["system"]))
    replaces = set(request.spec.get("replaces", ()))
    existing = [s.id for s in index.by_function.get(key, ()) if s.id not in replaces]
    if existing:
        yield me.finding(request, "/spec/system/function",
                         f"{key[0]} already runs '{key[1]}' system(s) "
                         f"{', '.join(existing)} not listed in replaces")


@register("request-keeps-independent-room", id="GC-CON-008",
    title="Requesting department keeps its independent machine room / 上云后仍保留自建机房",
    severity="high", references=(ONE_CLOUD,),
    remediation="Add the department's room to `replaces` with a migration date, or get a waiver",
    per_request=True,
)
def _request_keeps_room(me: Rule, index: Index, request: Document, options: Options) -> Findings:
    dept_id = request.spec["department"]
    kept = [r.id for r in index.independent.get(dept_id, ()) if r.id not in index.replaced_by]
    if kept:
        yield me.finding(request, "/spec/department",
                         f"{dept_id} still runs {', '.join(kept)} and no request "
                         f"replaces it")


@register("request-new-department-portal", id="GC-CON-009",
    title="Request for a department website the hierarchy already provides / 申请新建部门网站",
    severity="high", references=(*SECTIONS, f"{GUIDE}: 原则上一个单位最多开设一个网站"),
    remediation="Publish as a section (栏目) of the government portal of your level, or of your "
    "supervising department's portal; do not build a new site",
    options={"department_portals_at": _levels_option(["province"])},
    per_request=True,
)
def _request_portal(me: Rule, index: Index, request: Document, options: Options) -> Findings:
    """A new portal by a department (not a government) that is below the levels allowed their
    own site, or whose supervising departments (the ``parent`` chain) already run one."""
    if index.function_of(request.spec["system"]) != PORTAL:
        return
    dept_id = request.spec["department"]
    if index.is_government(dept_id):
        return  # the government's own portal: GC-CON-005/007 judge a second one
    above = [(a, p.id) for a in index.ancestors(dept_id) for p in index.portals.get(a, ())]
    below = _department_portal(index, dept_id, options["department_portals_at"])
    if not below and not above:
        return
    reasons = []
    if below:
        reasons.append(f"{index.levels.get(dept_id)}-level departments publish through "
                       f"their government's portal ({_publish_through(index, dept_id)})")
    if above:
        reasons.append("its supervising department(s) already run "
                       + ", ".join(f"{p} ({a})" for a, p in above))
    yield me.finding(request, "/spec/system/function",
                     f"{dept_id} requests a new portal: {'; '.join(reasons)}",
                     evidence=f"function {request.spec['system']['function']!r} means "
                     f"{PORTAL!r}")


@register("request-replaces-other-department", id="GC-CON-010",
    title="Request replaces another department's room or system / 申请替代其他部门的机房或系统",
    severity="high", references=(OWN_ONLY,),
    remediation="List only your own department's machine rooms and systems in `replaces`; the "
    "owner files its own request (or the consolidation plan names it)",
)
def _foreign_replaces(me: Rule, index: Index, options: Options) -> Findings:
    for entry in index.foreign_replaces:
        yield me.finding(entry.request, f"/spec/replaces/{entry.position}",
                         f"{entry.request.spec['department']} lists '{entry.target}' in "
                         f"replaces, but it belongs to {entry.owner}; the entry is ignored and "
                         "silences none of that department's findings")


@register("request-built-once-above", id="GC-CON-011",
    title="Request builds a function a higher level builds once / 申请重复建设上级统建系统",
    severity="high", references=(BUILT_ONCE,),
    remediation="Use the system the higher level provides (a tenant or a section of it), not a "
    "new one; ask its owner for access",
    per_request=True,
)
def _built_once(me: Rule, index: Index, request: Document, options: Options) -> Findings:
    function = index.vocabulary.functions.get(index.function_of(request.spec["system"]))
    if function is None or "built_once_at" not in function.spec:
        return
    at = function.spec["built_once_at"]
    level = index.levels.get(request.spec["department"])
    if level not in LEVELS or LEVELS.index(level) <= LEVELS.index(at):
        return
    provided = ", ".join(function.spec.get("provided_by", ())) or f"the {at}'s system"
    yield me.finding(request, "/spec/system/function",
                     f"'{function.id}' is built once at {at} level (统建) and provided by "
                     f"{provided}; {request.spec['department']} ({level}) must use it, "
                     "not build its own",
                     evidence=f"function {request.spec['system']['function']!r} means "
                     f"{function.id!r}")
