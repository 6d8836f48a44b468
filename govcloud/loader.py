"""Read YAML documents safely, keeping the source line of every node.

PyYAML composes the node tree (its C parser when available); we build plain data from it
ourselves, so that:
- no Python object is ever constructed from a YAML tag (unknown tags are errors);
- duplicate keys are errors instead of silently keeping the last one;
- alias expansion is bounded per *file*, before anything is expanded (subtree sizes are
  computed once per node, so a file of many small alias bombs costs no more than one), as is
  nesting depth;
- numbers are finite: ``.nan``, ``.inf``, ``-.Inf`` and floats that overflow to infinity
  (``1.0e+999``) are refused;
- no string holds an invisible character: C0/C1 control characters (other than tab and line
  breaks), bidi overrides and other format characters (zero-width space and joiners, BOM, soft
  hyphen...) are refused in every key and value; keys also refuse tabs and line breaks;
- only regular files are read (a FIFO, a device, a socket, or a link to one is refused before a
  byte is read; see ``fsutil.read_regular``);
- every JSON Pointer in a document maps back to its line.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from govcloud.documents import Document, escape_pointer_token
from govcloud.fsutil import FileTooLargeError, NotRegularFileError, read_regular
from govcloud.i18n import _
from govcloud.model import DocError
from govcloud.vocabulary_zh import canonical_document

try:  # libyaml's parser is ~10x faster; the pure-Python one is a fine fallback
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

YAML_SUFFIXES = (".yaml", ".yml")
_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = {
    _STR: None,
    "tag:yaml.org,2002:int": "construct_yaml_int",
    "tag:yaml.org,2002:float": "construct_yaml_float",
    "tag:yaml.org,2002:bool": "construct_yaml_bool",
    "tag:yaml.org,2002:null": "construct_yaml_null",
    # Dates stay strings (ISO 8601 as written): JSON Schema and the JSON report speak strings.
    "tag:yaml.org,2002:timestamp": None,
}
_CONSTRUCTOR = SafeConstructor()
_MERGE = "tag:yaml.org,2002:merge"

# Every Unicode control (Cc) and format (Cf) character but tab, LF and CR, plus the line and
# paragraph separators: invisible, or able to reorder what a terminal or report shows (bidi
# overrides: "Trojan Source"), or to make two ids look alike. tests/unit/test_loader_hostile.py
# checks this table against unicodedata.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f"
    "\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")
_KEY_BREAKS = re.compile("[\t\n\r]")


@dataclass(frozen=True, slots=True)
class LoadLimits:
    """Bounds on hostile input, per file.

    ``max_alias_nodes``: how many nodes alias expansion may add to a file, all its documents
    together (the nodes written out are bounded by ``max_bytes``). ``max_depth``: nesting.
    """

    max_bytes: int = 10 * 1024 * 1024
    max_alias_nodes: int = 100_000
    max_depth: int = 64


@dataclass(slots=True)
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    errors: list[DocError] = field(default_factory=list)  # invalid documents: exit 1
    input_errors: list[DocError] = field(default_factory=list)  # unreadable/unparsable: exit 2
    files: list[str] = field(default_factory=list)

    def extend(self, other: LoadResult) -> None:
        self.documents.extend(other.documents)
        self.errors.extend(other.errors)
        self.input_errors.extend(other.input_errors)
        self.files.extend(other.files)


class _Refused(Exception):
    """Raised inside conversion; carries the error for the document being built."""

    def __init__(self, line: int, path: str, message: str) -> None:
        super().__init__(message)
        self.line, self.path, self.message = line, path, message


class _Builder:
    def __init__(self, limits: LoadLimits) -> None:
        self.limits = limits
        self.lines: dict[str, int] = {}

    def build(self, node: yaml.Node, path: str, depth: int) -> Any:
        if depth > self.limits.max_depth:
            raise _Refused(
                node.start_mark.line + 1,
                path,
                _("nesting deeper than {depth} levels; flatten the document").format(
                    depth=self.limits.max_depth),
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self._bad_tag(node, path)
            out = []
            for index, item in enumerate(node.value):
                item_path = f"{path}/{index}"
                self.lines.setdefault(item_path, item.start_mark.line + 1)
                out.append(self.build(item, item_path, depth + 1))
            return out
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: str, depth: int) -> dict[str, Any]:
        if node.tag != "tag:yaml.org,2002:map":
            raise self._bad_tag(node, path)
        out: dict[str, Any] = {}
        explicit: set[str] = set()
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused(
                    key_node.start_mark.line + 1, path, _("a mapping key must be a plain scalar")
                )
            key = str(self._scalar(key_node, path))
            if _KEY_BREAKS.search(key):
                raise _Refused(key_node.start_mark.line + 1, path,
                               _("the key {key} holds a tab or line break; keys are one line")
                               .format(key=repr(key)))
            child = f"{path}/{escape_pointer_token(key)}"
            if key in explicit:
                first = self.lines.get(child, 0)
                raise _Refused(
                    key_node.start_mark.line + 1,
                    child,
                    _("duplicate key '{key}' (first at line {first}); keep one of them").format(
                        key=key, first=first),
                )
            explicit.add(key)
            self.lines[child] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, child, depth + 1)
        # YAML merge keys (<<: *base): explicit keys win, as in PyYAML.
        for source in merged:
            sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
            for item in sources:
                value = self.build(item, path, depth + 1)
                if not isinstance(value, dict):
                    raise _Refused(item.start_mark.line + 1, path,
                                   _("'<<' must merge a mapping"))
                for key, val in value.items():
                    out.setdefault(key, val)
        return out

    def _scalar(self, node: yaml.Node, path: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise _Refused(node.start_mark.line + 1, path, _("expected a scalar"))
        tag = node.tag
        if tag == "!" or _SCALAR_TAGS.get(tag, "") is None:  # a string, as written
            return self._text(node, path)
        if tag not in _SCALAR_TAGS:
            raise self._bad_tag(node, path)
        try:
            value = getattr(_CONSTRUCTOR, str(_SCALAR_TAGS[tag]))(node)
        except (ConstructorError, ValueError) as exc:
            raise _Refused(
                node.start_mark.line + 1, path, f"bad {tag.rsplit(':', 1)[-1]}: {exc}"
            ) from exc
        if isinstance(value, float) and not math.isfinite(value):
            raise _Refused(
                node.start_mark.line + 1, path,
                _("{value} is not a finite number (NaN and infinity are refused); write a "
                  "number, or quote it if it is text").format(value=repr(node.value)))
        return value

    @staticmethod
    def _text(node: yaml.ScalarNode, path: str) -> str:
        text: str = node.value
        bad = _INVISIBLE.search(text)
        if bad:
            char = bad.group()
            raise _Refused(
                node.start_mark.line + 1, path,
                _("text holds the invisible character {code} ({name}) at offset {offset}; "
                  "remove it (control, bidi and zero-width characters can make text read "
                  "differently from what it is)").format(
                    code=f"U+{ord(char):04X}", name=unicodedata.name(char, "a control character"),
                    offset=bad.start()))
        return text

    @staticmethod
    def _bad_tag(node: yaml.Node, path: str) -> _Refused:
        return _Refused(
            node.start_mark.line + 1,
            path,
            _("YAML tag '{tag}' is not allowed; govcloud documents are plain YAML (remove the "
              "tag)").format(tag=node.tag),
        )


class _TooDeep(Exception):
    def __init__(self, node: yaml.Node) -> None:
        super().__init__("too deep")
        self.node = node


def _expanded_sizes(root: yaml.Node, max_depth: int) -> tuple[int, int]:
    """(nodes after alias expansion, distinct nodes) of one document, counted as ``_Builder``
    builds them, in time linear in the distinct nodes: each node's subtree size is computed once
    (an alias is the same node object as its anchor). A recursive alias ends at ``max_depth``."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > max_depth:
            raise _TooDeep(node)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE and isinstance(value_node, yaml.SequenceNode):
                    total += sum(size(item, depth + 1) for item in value_node.value)
                else:
                    total += size(value_node, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        sizes[id(node)] = total
        return total

    return size(root, 0), len(sizes)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_text(text: str, file: str, limits: LoadLimits | None = None) -> LoadResult:
    """Documents of one YAML text. Parse errors go to ``input_errors`` (exit 2)."""
    limits = limits or LoadLimits()
    result = LoadResult(files=[file])
    loader = _Loader(text)
    added = 0  # nodes alias expansion adds, over the whole file
    try:
        while loader.check_node():
            root = loader.get_node()
            if root is None:
                continue
            line = root.start_mark.line + 1
            try:
                expanded, distinct = _expanded_sizes(root, limits.max_depth)
            except _TooDeep as deep:
                result.errors.append(DocError(
                    file, deep.node.start_mark.line + 1, "",
                    _("nesting deeper than {depth} levels (or a recursive alias); flatten the "
                      "document").format(depth=limits.max_depth)))
                continue
            added += expanded - distinct
            if added > limits.max_alias_nodes:
                result.input_errors.append(DocError(
                    file, line, "",
                    _("aliases in this file expand to more than {count} extra nodes (an alias "
                      "bomb?); the rest of the file is not read: write the values out, or split "
                      "the file").format(count=limits.max_alias_nodes)))
                break
            doc = _document(root, file, limits, result)
            if doc is not None:
                result.documents.append(doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        result.input_errors.append(
            DocError(file, line, "", _("YAML syntax error: {problem}; fix the YAML at this "
                                       "line").format(problem=problem))
        )
    except yaml.YAMLError as exc:
        result.input_errors.append(DocError(file, None, "",
                                            _("YAML error: {error}").format(error=exc)))
    finally:
        loader.dispose()
    return result


def _document(
    root: yaml.Node, file: str, limits: LoadLimits, result: LoadResult
) -> Document | None:
    builder = _Builder(limits)
    line = root.start_mark.line + 1
    try:
        body = builder.build(root, "", 0)
    except _Refused as exc:
        result.errors.append(DocError(file, exc.line, exc.path, exc.message))
        return None
    except RecursionError:
        result.errors.append(DocError(file, line, "", _("document nests too deeply")))
        return None
    if body is None:
        return None
    if not isinstance(body, dict):
        result.errors.append(
            DocError(
                file, line, "",
                _("a document must be a mapping with apiVersion, kind, metadata, spec"),
            )
        )
        return None
    kind = body.get("kind")
    metadata = body.get("metadata")
    doc_id = metadata.get("id") if isinstance(metadata, dict) else None
    # Typed enum values (机密, 政务外网, 三级, ...) made canonical here, where every document is
    # born: validation, rules, plans, reports and approval digests all see one spelling.
    return canonical_document(Document(
        kind=kind if isinstance(kind, str) else "",
        id=doc_id if isinstance(doc_id, str) else "",
        body=body,
        file=file,
        line=line,
        lines=builder.lines,
    ))


def load_file(path: Path, limits: LoadLimits | None = None) -> LoadResult:
    limits = limits or LoadLimits()
    file = _display(path)
    try:
        raw = read_regular(path, max_bytes=limits.max_bytes)
    except FileTooLargeError:
        return LoadResult(input_errors=[DocError(
            file, None, "",
            _("file is over the {limit}-byte limit; split it or raise --max-file-size").format(
                limit=limits.max_bytes))])
    except NotRegularFileError as exc:
        return LoadResult(input_errors=[DocError(
            file, None, "",
            _("is {what}, not a regular file; nothing was read from it (govcloud reads only "
              "regular files): point at the YAML file itself").format(what=exc.strerror))])
    except OSError as exc:
        return LoadResult(input_errors=[DocError(file, None, "", _("cannot read: {reason}")
                                                 .format(reason=exc.strerror))])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return LoadResult(
            input_errors=[
                DocError(file, None, "", _("not UTF-8 (byte {offset}); save it as UTF-8").format(
                    offset=exc.start))
            ]
        )
    return load_text(text, file, limits)


def iter_yaml_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path | DocError]:
    """Files under the given paths, folders walked in sorted order; missing paths as errors."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.endswith(YAML_SUFFIXES) and not name.startswith("."):
                        yield Path(dirpath) / name
        elif path.exists():
            yield path
        else:
            yield DocError(str(raw), None, "", _("no such file or folder; check the path"))


def load_paths(
    paths: Iterable[str | os.PathLike[str]], limits: LoadLimits | None = None
) -> LoadResult:
    result = LoadResult()
    for item in iter_yaml_files(paths):
        if isinstance(item, DocError):
            result.input_errors.append(item)
        else:
            result.extend(load_file(item, limits))
    return result
