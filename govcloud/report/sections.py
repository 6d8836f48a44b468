"""Registry of section renderers: ``Report.sections[name]`` is drawn by whoever owns ``name``.

The consolidation and hardening packages register their sections here (a per-level bar chart,
a hosts table) so that the format renderers never learn about them: a renderer asks the registry,
and a section nobody registered still shows up, as a generic key/value table (HTML, Markdown,
table) or as-is (JSON, SARIF properties).

Contract of the callables, all given the section's data as stored in the report:

- ``html(data) -> str``: an HTML fragment. It must escape what it prints (``html.escape``) and
  must not load anything from outside (no ``src``/``href`` to a URL; inline SVG is fine).
- ``markdown(data) -> str``: GitHub-flavoured Markdown.
- ``table(data) -> str``: plain text, at most 100 columns wide.
- ``json(data) -> Any``: a JSON-serializable value that replaces the data in JSON and SARIF.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SectionRenderer:
    name: str
    title: str
    html: Callable[[Any], str] | None = None
    markdown: Callable[[Any], str] | None = None
    table: Callable[[Any], str] | None = None
    json: Callable[[Any], Any] | None = None


_SECTIONS: dict[str, SectionRenderer] = {}


def register_section(
    name: str,
    *,
    html: Callable[[Any], str] | None = None,
    markdown: Callable[[Any], str] | None = None,
    table: Callable[[Any], str] | None = None,
    json: Callable[[Any], Any] | None = None,
    title: str | None = None,
) -> SectionRenderer:
    """Register renderers for ``report.sections[name]``; a later registration replaces it.

    ``title`` is the heading shown above the section (bilingual by convention, e.g.
    ``"Consolidation / 集约化"``); it defaults to ``name``. Formats left as None fall back to the
    generic rendering.
    """
    if not name or not isinstance(name, str):
        raise ValueError("a section needs a non-empty name")
    renderer = SectionRenderer(name, title or name, html, markdown, table, json)
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
