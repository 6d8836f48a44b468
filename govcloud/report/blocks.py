"""Neutral blocks: what a report section says, before any format draws it.

A section (consolidation levels, audit tenants, hardening hosts...) turns its data into a list
of blocks; each format renderer (``table``, ``markdown``, ``html``) draws each kind of block in
one place, with that format's escaping. A section never writes Markdown, HTML or padded text.

- ``Heading``: a sub-heading inside the section;
- ``Text``: a paragraph;
- ``Table``: headers and rows of cells (``"English / 中文"`` headers are split by the text
  format into two header lines);
- ``KeyValue``: labelled values (the generic rendering of a mapping);
- ``Bars``: shares between 0 and 1 per label and series, drawn as an inline SVG chart in HTML;
  the text formats leave it out (put the same numbers in a ``Table`` beside it).

Cells are plain text or ``Cell`` (text plus hints: a number, something to notice, a link to
an anchor of the same page). Every renderer escapes the text; no block carries markup.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    numeric: bool = False  # right-aligned where the format can
    alert: bool = False  # drawn emphasised (a non-zero count, a classified system)
    link: str = ""  # HTML: a link to the element with this id on the same page


CellLike = Cell | str


def as_cell(value: CellLike) -> Cell:
    return value if isinstance(value, Cell) else Cell(value)


@dataclass(frozen=True, slots=True)
class Heading:
    text: str


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[CellLike, ...], ...]
    name: str = ""  # HTML: the table's class (for a stylesheet), nothing else


@dataclass(frozen=True, slots=True)
class KeyValue:
    items: tuple[tuple[str, CellLike], ...]
    headers: tuple[str, str] = ("", "")  # shown by the formats that draw it as a table
    name: str = ""


@dataclass(frozen=True, slots=True)
class Bars:
    label: str  # what the chart shows, for readers that cannot see it
    series: tuple[str, ...]  # legend, one per bar of a row
    rows: tuple[tuple[str, tuple[float, ...]], ...]  # (label, one share 0..1 per series)


Block = Heading | Text | Table | KeyValue | Bars
