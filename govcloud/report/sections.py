"""Registry of report sections: ``Report.sections[name]`` is described by whoever owns ``name``.

The consolidation, audit and hardening packages register their sections here. A section's
``blocks(data)`` returns neutral blocks (``govcloud.report.blocks``: tables, text, key-value,
bar charts); each format renderer draws them, so a section never learns about Markdown, HTML
or terminal widths. A section nobody registered still shows up: as key/value rows or a table
(``common.generic_blocks``) in HTML, Markdown and the table, as-is in JSON and SARIF.

Contract of the callables, both given the section's data as stored in the report:

- ``blocks(data) -> Sequence[Block]``: what the human formats show;
- ``json(data) -> Any``: a JSON-serializable value that replaces the data in JSON and SARIF.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from govcloud.report.blocks import Block

BlocksOf = Callable[[Any], Sequence[Block]]


@dataclass(frozen=True, slots=True)
class SectionRenderer:
    name: str
    title: str
    blocks: BlocksOf | None = None
    json: Callable[[Any], Any] | None = None


_SECTIONS: dict[str, SectionRenderer] = {}


def register_section(
    name: str,
    *,
    blocks: BlocksOf | None = None,
    json: Callable[[Any], Any] | None = None,
    title: str | None = None,
) -> SectionRenderer:
    """Register how ``report.sections[name]`` is shown; a later registration replaces it.

    ``title`` is the heading shown above the section (bilingual by convention, e.g.
    ``"Consolidation / 集约化"``); it defaults to ``name``. Without ``blocks`` the human formats
    use the generic rendering; without ``json`` JSON carries the data as it is.
    """
    if not name or not isinstance(name, str):
        raise ValueError("a section needs a non-empty name")
    renderer = SectionRenderer(name, title or name, blocks, json)
    _SECTIONS[name] = renderer
    return renderer


def unregister_section(name: str) -> None:
    """Forget ``name`` (tests use it to leave the registry as they found it)."""
    _SECTIONS.pop(name, None)


def section_renderer(name: str) -> SectionRenderer:
    """The registered renderer of ``name``, or an empty one (every format falls back)."""
    return _SECTIONS.get(name) or SectionRenderer(name, name)


def section_title(name: str) -> str:
    return section_renderer(name).title


def section_json(name: str, data: Any) -> Any:
    fn = section_renderer(name).json
    return fn(data) if fn is not None else data
