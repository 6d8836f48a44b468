"""The controlled vocabulary of system functions (inventory ``kind: Function``).

A System's or a request's ``function`` is compared by meaning, not by spelling: it is normalised
(Unicode NFKC, case-folded, runs of spaces, ``_`` and ``-`` made one ``-``) and mapped onto a
Function id, directly or through the Function's declared ``synonyms``. Renaming ``function`` from
``office-automation`` to ``OA`` or ``办公自动化`` therefore changes nothing the rules see.

When the inventory declares Functions, a function that maps onto none of them is refused at
validation (``validate`` reports it). A catalog without any Function document has no vocabulary:
functions are then compared after normalisation only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from govcloud.documents import Catalog, Document

_SEPARATORS = re.compile(r"[\s_\-‐-―－·・/]+")


@lru_cache(maxsize=8192)
def normalise(text: str) -> str:
    """The spelling-free form of a function: ``" Office_Automation "`` → ``office-automation``."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    return _SEPARATORS.sub("-", folded).strip("-")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    functions: dict[str, Document]  # id -> Function
    spellings: dict[str, str]  # normalised id or synonym -> Function id
    clashes: dict[str, tuple[str, ...]]  # normalised spelling claimed by 2+ Functions -> ids

    @property
    def declared(self) -> bool:
        return bool(self.functions)

    def canonical(self, function: str) -> str | None:
        """The Function id ``function`` means; None when the vocabulary does not know it.

        Without a vocabulary every function is its own normalised spelling."""
        key = normalise(function)
        if not self.functions:
            return key
        return self.spellings.get(key)

    def key(self, function: str) -> str:
        """What rules compare: the Function id, else the normalised spelling."""
        return self.canonical(function) or normalise(function)

    def known(self) -> list[str]:
        return sorted(self.functions)


def vocabulary_of(catalog: Catalog) -> Vocabulary:
    """The vocabulary of ``catalog``, built on first use and rebuilt if documents were added."""
    return catalog.derived("vocabulary", _build)


def _build(catalog: Catalog) -> Vocabulary:
    functions = {d.id: d for d in sorted(catalog.of_kind("Function"), key=lambda d: d.id)}
    claims: dict[str, list[str]] = {}
    for fid, doc in functions.items():
        spec = doc.spec
        for spelling in (fid, spec.get("name", ""), spec.get("name_zh", ""),
                         *spec.get("synonyms", ())):
            key = normalise(str(spelling))
            if key and fid not in claims.setdefault(key, []):
                claims[key].append(fid)
    spellings = {key: ids[0] for key, ids in claims.items() if len(ids) == 1}
    clashes = {key: tuple(ids) for key, ids in claims.items() if len(ids) > 1}
    return Vocabulary(functions, spellings, clashes)
