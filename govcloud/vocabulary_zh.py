"""Chinese (and loosely spelt) values of the enums a person types, mapped to the canonical value.

A county clerk writes ``classification: 机密``, ``network_zone: 政务外网``, ``mlps_level: 三级``;
the loader hands every later stage (schema validation, rules, plan, reports) the canonical value
(``confidential``, ``gov-external``, ``3``), so every output shows one spelling and every rule
decides on meaning: ``机密`` and ``confidential`` give exactly the same findings.

How a value is read: a *string* at one of the paths below is normalised like a function name
(``vocabulary.normalise``: Unicode NFKC, so full-width ``ｃｏｎｆｉｄｅｎｔｉａｌ`` and ``３级`` are
their half-width selves; case-folded; surrounding spaces dropped; runs of spaces, ``_`` and
``-`` made one ``-``) and looked up in the table of that field. A known spelling is replaced by
the canonical value; anything else is left exactly as written, so schema validation refuses it
with the usual error, which then lists both forms (``public (公开), internal (内部), …``).

Conservative on purpose: only words in common use on a 政务云 request form are here. Values that
are not strings (``mlps_level: 3``) are never touched; a bare number in quotes (``"3"``) is not
a level word and stays refused. The paths are fixed per kind: a ``classification`` key elsewhere
(e.g. inside ``metadata``) is not rewritten.

Approvals sign the request's canonical data (``approvals.request_digest``): rewriting ``机密`` as
``confidential`` in an approved request keeps the approval, since the meaning is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from govcloud.documents import Document
from govcloud.i18n import N_
from govcloud.schemas import CLASSIFICATIONS, CLASSIFIED, LEVELS, ZONES
from govcloud.vocabulary import normalise

# canonical value -> the Chinese words accepted for it; the first one is the label shown next to
# the canonical value in errors and docs.
CLASSIFICATION_ZH: dict[str, tuple[str, ...]] = {
    "public": ("公开",),
    "internal": ("内部",),
    "sensitive": ("敏感",),
    "secret": ("秘密",),
    "confidential": ("机密",),
    "top-secret": ("绝密",),
}
ZONE_ZH: dict[str, tuple[str, ...]] = {
    "gov-internal": ("政务内网", "电子政务内网"),
    "gov-external": ("政务外网", "电子政务外网"),
    "internet": ("互联网",),
}
LEVEL_ZH: dict[str, tuple[str, ...]] = {
    "province": ("省级",),
    "prefecture": ("市级", "地市级", "地级"),
    "county": ("县级", "区县级", "县区级"),
}
DIRECTION_ZH: dict[str, tuple[str, ...]] = {
    "ingress": ("入方向", "入站"),
    "egress": ("出方向", "出站"),
}
_NUMERALS = ("一", "二", "三", "四", "五")


def _mlps_words(level: int) -> tuple[str, ...]:
    """一级, 第一级, 等保一级, 等保第一级, 等级保护一级, 等级保护第一级, and the same with the
    digit (3级, 第3级, 等保3级...; a full-width ３ is NFKC-normalised to 3 first)."""
    words = []
    for numeral in (_NUMERALS[level - 1], str(level)):
        for prefix in ("", "等保", "等级保护"):
            for ordinal in ("", "第"):
                words.append(f"{prefix}{ordinal}{numeral}级")
    return tuple(words)


MLPS_ZH: dict[int, tuple[str, ...]] = {level: _mlps_words(level) for level in range(1, 6)}


def _table(canonical: Iterable[Any], chinese: Mapping[Any, tuple[str, ...]],
           english: bool = True) -> dict[str, Any]:
    """normalised spelling -> canonical value: the canonical spelling itself (loosely spelt:
    ``Top Secret`` is ``top-secret``) and every Chinese word. A spelling two values claim would
    be a bug in the tables above (``tests/unit/test_vocabulary_zh.py`` checks there is none)."""
    table: dict[str, Any] = {}
    for value in canonical:
        spellings = ((str(value),) if english else ()) + chinese.get(value, ())
        for spelling in spellings:
            table[normalise(spelling)] = value
    return table


_CLASSIFICATION = _table(CLASSIFICATIONS, CLASSIFICATION_ZH)
_ZONE = _table(ZONES, ZONE_ZH)
_LEVEL = _table(LEVELS, LEVEL_ZH)
_MLPS = _table(range(1, 6), MLPS_ZH, english=False)
_DIRECTION = _table(("ingress", "egress"), DIRECTION_ZH)
_PROTOCOL = _table(("tcp", "udp", "icmp", "any"), {})  # TCP, Tcp: no Chinese word in common use

# Where each table applies, per kind: a path of keys, "*" for every item of a list.
_SYSTEM_ZH = (
    (("classification",), _CLASSIFICATION),
    (("network_zone",), _ZONE),
    (("mlps_level",), _MLPS),
)
FIELDS: dict[str, tuple[tuple[tuple[str, ...], dict[str, Any]], ...]] = {
    "ResourceRequest": tuple((("system", *path), table) for path, table in _SYSTEM_ZH) + (
        (("security_groups", "*", "rules", "*", "direction"), _DIRECTION),
        (("security_groups", "*", "rules", "*", "protocol"), _PROTOCOL),
    ),
    "System": _SYSTEM_ZH,
    "Platform": (
        (("zone",), _ZONE),
        (("mlps_level",), _MLPS),
        (("accredited_for",), _CLASSIFICATION),
    ),
    "Department": (
        (("level",), _LEVEL),
        (("networks", "*"), _ZONE),
    ),
    "MachineRoom": ((("networks", "*"), _ZONE),),
    "Function": ((("built_once_at",), _LEVEL),),
}

# For error messages: canonical value -> its Chinese label, per enum (keyed by the enum's values).
_LABELS: dict[tuple[str, ...], dict[str, str]] = {
    tuple(CLASSIFICATIONS): {k: v[0] for k, v in CLASSIFICATION_ZH.items()},
    tuple(CLASSIFIED): {k: CLASSIFICATION_ZH[k][0] for k in CLASSIFIED},
    tuple(ZONES): {k: v[0] for k, v in ZONE_ZH.items()},
    tuple(LEVELS): {k: v[0] for k, v in LEVEL_ZH.items()},
    ("ingress", "egress"): {k: v[0] for k, v in DIRECTION_ZH.items()},
}


def canonical_value(table: Mapping[str, Any], value: Any) -> Any:
    """The canonical value ``value`` means in ``table``; ``value`` itself when not a known
    spelling (validation then refuses it) or not a string."""
    if type(value) is not str:
        return value
    if value in table and table[value] == value:  # already canonical: the common, fast case
        return value
    return table.get(normalise(value), value)


def canonical_document(doc: Document) -> Document:
    """``doc`` with every typed enum value of its kind made canonical (the same document when
    nothing changes). The paths do not move, so the line map still points at the right line."""
    fields = FIELDS.get(doc.kind)
    spec = doc.body.get("spec")
    if not fields or type(spec) is not dict:
        return doc
    new_spec = spec
    for path, table in fields:
        new_spec = _rewrite(new_spec, path, table)
    if new_spec is spec:
        return doc
    body = dict(doc.body)
    body["spec"] = new_spec
    return replace(doc, body=body)


def _rewrite(node: Any, path: tuple[str, ...], table: Mapping[str, Any]) -> Any:
    """``node`` with the value at ``path`` canonical; copies only what changes."""
    head, rest = path[0], path[1:]
    if head == "*":
        if type(node) is not list:
            return node
        items = [_rewrite(item, rest, table) if rest else canonical_value(table, item)
                 for item in node]
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    if type(node) is not dict or head not in node:
        return node
    old = node[head]
    new = _rewrite(old, rest, table) if rest else canonical_value(table, old)
    if new is old:
        return node
    copy = dict(node)
    copy[head] = new
    return copy


def with_chinese(values: Iterable[Any]) -> str:
    """``public (公开), internal (内部), …`` for an enum that has Chinese words; else the values."""
    values = [str(v) for v in values]
    labels = _LABELS.get(tuple(values), {})
    return ", ".join(f"{v} ({labels[v]})" if v in labels else v for v in values)


# Marked for the catalog; the validator says it in the reader's language (_(MLPS_HINT)).
MLPS_HINT = N_("write the level as a number 1-5, or as 一级…五级 (also 第三级, 等保三级, 3级)")
