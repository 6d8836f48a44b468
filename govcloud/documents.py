"""Loaded documents and the index of them by kind and id.

A ``Document`` keeps its source file and, for every JSON Pointer inside it, the line it came
from, so that every error and finding can name ``file:line``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from govcloud.schemas import KINDS  # one registry of kinds

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Document:
    kind: str
    id: str
    body: Mapping[str, Any]  # the whole document: apiVersion, kind, metadata, spec
    file: str
    line: int  # line of the document's first key
    lines: Mapping[str, int] = field(default_factory=dict, repr=False)  # JSON Pointer -> line

    @property
    def spec(self) -> Mapping[str, Any]:
        spec = self.body.get("spec")
        if type(spec) is dict:  # the common case, without the slow ABC check (hot path)
            return spec
        return spec if isinstance(spec, Mapping) else {}

    @property
    def ref(self) -> str:
        """``<Kind>/<id>``, the target name used in findings and waivers."""
        return f"{self.kind}/{self.id}"

    def line_of(self, pointer: str) -> int:
        """Line of the deepest node on ``pointer`` that exists in the source (else the doc's)."""
        while pointer:
            found = self.lines.get(pointer)
            if found is not None:
                return found
            pointer = pointer.rsplit("/", 1)[0]
        return self.line


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(parts: Iterable[Any]) -> str:
    """JSON Pointer (RFC 6901) for a sequence of keys and indexes."""
    return "".join("/" + escape_pointer_token(str(p)) for p in parts)


class Catalog:
    """Documents indexed by kind then id; what resolution and the rules look things up in."""

    def __init__(self, documents: Iterable[Document] = ()) -> None:
        self.by_kind: dict[str, dict[str, Document]] = {kind: {} for kind in KINDS}
        self.documents: list[Document] = []
        self._derived: dict[str, tuple[int, Any]] = {}
        for doc in documents:
            self.add(doc)

    def derived(self, name: str, build: Callable[[Catalog], T]) -> T:
        """What ``build`` computes from this catalog (an index, a vocabulary), built on first use
        and rebuilt if documents were added since."""
        cached = self._derived.get(name)
        if cached is not None and cached[0] == len(self.documents):
            return cached[1]  # type: ignore[no-any-return]
        built = build(self)
        self._derived[name] = (len(self.documents), built)
        return built

    def add(self, doc: Document) -> Document | None:
        """Add ``doc``; return an earlier document of the same kind and id (then not added)."""
        bucket = self.by_kind.setdefault(doc.kind, {})
        earlier = bucket.get(doc.id)
        if earlier is not None:
            return earlier
        bucket[doc.id] = doc
        self.documents.append(doc)
        return None

    def get(self, kind: str, id_: str) -> Document | None:
        return self.by_kind.get(kind, {}).get(id_)

    def of_kind(self, kind: str) -> list[Document]:
        return list(self.by_kind.get(kind, {}).values())
