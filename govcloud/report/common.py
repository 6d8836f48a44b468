"""Helpers the renderers share: JSON-able values, generic section rows, terminal text width."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import unicodedata
from collections.abc import Mapping
from functools import cache
from pathlib import PurePath
from typing import Any

from govcloud.model import DocError, Finding, Report
from govcloud.report.blocks import Block, KeyValue, Table, Text
from govcloud.report.sections import section_json, section_renderer


def jsonable(value: Any) -> Any:
    """``json.dumps`` default: sections may hold dataclasses, dates, sets or paths."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, PurePath):
        return str(value)
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    return str(value)


def to_json_text(value: Any) -> str:
    """A JSON document as a text file: indent 2, UTF-8 as written, final newline."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=jsonable) + "\n"


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=jsonable, separators=(", ", ": "))


def report_document(report: Report) -> dict[str, Any]:
    """``report.to_json()`` with each section passed through its registered JSON renderer."""
    out = report.to_json()
    for name, data in report.sections.items():
        out[name] = section_json(name, data)
    return out


def scalar_text(value: Any) -> str:
    """A cell's text: scalars as written, containers as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return compact_json(value)


def generic_rows(data: Any) -> tuple[list[str], list[list[str]]]:
    """Headers and rows for a section nobody registered a renderer for.

    A mapping becomes key/value rows, a list of mappings a table whose columns are the union of
    their keys (in first-seen order), anything else a single value row.
    """
    data = json.loads(json.dumps(data, default=jsonable))  # normalise dataclasses, tuples...
    if isinstance(data, Mapping):
        return ["key", "value"], [[str(k), scalar_text(v)] for k, v in data.items()]
    if isinstance(data, list) and data and all(isinstance(item, Mapping) for item in data):
        columns: list[str] = []
        for item in data:
            columns.extend(str(k) for k in item if str(k) not in columns)
        rows = [[scalar_text(item.get(col)) for col in columns] for item in data]
        return columns, rows
    if isinstance(data, list):
        return ["value"], [[scalar_text(item)] for item in data]
    return ["value"], [[scalar_text(data)]]


def generic_blocks(data: Any) -> list[Block]:
    """The blocks of a section nobody registered: key/value rows, a table, or one value."""
    headers, rows = generic_rows(data)
    if headers == ["key", "value"]:
        return [KeyValue(tuple((k, v) for k, v in rows), headers=("key", "value"))]
    if headers == ["value"] and len(rows) == 1:
        return [Text(rows[0][0])]
    return [Table(tuple(headers), tuple(tuple(row) for row in rows))]


def section_blocks(name: str, data: Any) -> list[Block]:
    """What the human formats show of ``report.sections[name]``."""
    blocks = section_renderer(name).blocks
    return list(blocks(data)) if blocks is not None else generic_blocks(data)


_UNSAFE = {0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def terminal_text(text: str) -> str:
    """Text a terminal shows as written: control characters (an escape sequence could move the
    cursor, recolour or retitle the terminal) and bidirectional overrides (they reorder what a
    reader sees) are shown as ``\\x1b`` / ``\\u202e``; tabs become a space, newlines stay."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\n":
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif code < 0x20 or 0x7F <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        elif code in _UNSAFE:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def error_location(error: DocError) -> str:
    where = error.file or "<input>"
    return f"{where}:{error.line}" if error.line else where


def summary_text(report: Report) -> str:
    summary = report.summary()
    counts = ", ".join(f"{name} {count}" for name, count in summary.items())
    return f"{counts}; errors {len(report.errors)}"


def references_text(finding: Finding) -> str:
    return "; ".join(finding.references)


# --- terminal text: CJK characters take two columns -------------------------------------------


@cache
def char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    if text.isascii():
        return len(text)
    return sum(char_width(ch) for ch in text)


_BREAK_AFTER = frozenset("/-")


def _tokens(text: str) -> list[str]:
    """Words, single spaces and single wide characters: a line may break after any of those.

    Paths and ids also break after ``/`` and ``-``, so a long file name wraps at a folder.
    """
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch.isspace() or char_width(ch) == 2:
            if word:
                tokens.append(word)
                word = ""
            tokens.append(" " if ch.isspace() else ch)
        else:
            word += ch
            if ch in _BREAK_AFTER:
                tokens.append(word)
                word = ""
    if word:
        tokens.append(word)
    return tokens


def wrap(text: str, width: int) -> list[str]:
    """Greedy wrap by display width; words longer than a line are cut; newlines are kept."""
    width = max(width, 1)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, used = "", 0  # ``used`` is display_width(line), kept as we go (long reports)
        for token in _tokens(paragraph):
            if token == " " and not line:
                continue  # no leading blanks on a wrapped line
            token_width = display_width(token)
            if used + token_width <= width:
                line, used = line + token, used + token_width
                continue
            if line.strip():
                lines.append(line.rstrip())
            line, used = ("", 0) if token == " " else (token, token_width)
            while used > width:  # a path or id longer than the column
                cut = _cut_at(line, width)
                lines.append(line[:cut])
                line = line[cut:]
                used = display_width(line)
        lines.append(line.rstrip())
    return lines


def _cut_at(text: str, width: int) -> int:
    used = 0
    for index, ch in enumerate(text):
        used += char_width(ch)
        if used > width:
            return max(index, 1)
    return len(text)


def pad(text: str, width: int) -> str:
    return text + " " * max(width - display_width(text), 0)
