"""Compile a JSON Schema into Python source, once, for policies that run on every document.

``jsonschema``'s validators walk the schema on every call. A policy runs on every document, so we
translate each schema once into a plain Python function (as fastjsonschema does, for the keywords
policies use) in two flavours:

- ``compile_schema(schema)`` → ``predicate(instance) -> bool``;
- ``compile_explainer(schema)`` → ``explain(instance) -> Failure | None``: where and why the first
  failing keyword failed, so a finding names its JSON path without re-running jsonschema.

A schema with any other keyword (``$ref``, ``unevaluated*``, ``uniqueItems`` ...) falls back to
``Draft202012Validator`` so results never differ from jsonschema; ``tests/unit/test_compiler.py``
holds the two to the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema._utils import equal as _js_equal
from jsonschema.exceptions import best_match

Predicate = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {"title", "description", "$comment", "default", "examples", "deprecated", "readOnly",
     "writeOnly", "$schema", "format", "then", "else", "minContains", "maxContains"}
)
_SUPPORTED = frozenset(
    {"type", "enum", "const", "properties", "required", "additionalProperties", "items",
     "contains", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum",
     "maximum", "exclusiveMinimum", "exclusiveMaximum", "not", "allOf", "anyOf", "oneOf", "if"}
) | _ANNOTATIONS

_TYPE_EXPR = {
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "boolean": "isinstance({v}, bool)",
    "null": "{v} is None",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
    "integer": "((isinstance({v}, int) and not isinstance({v}, bool)) or "
    "(isinstance({v}, float) and {v}.is_integer()))",
}
_COMPARE = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


@dataclass(frozen=True, slots=True)
class Failure:
    """The first keyword that failed: where (path parts), which keyword and value, the instance."""

    path: tuple[Any, ...]
    keyword: str
    expected: Any
    instance: Any


class Unsupported(Exception):
    pass


def supported(schema: Any) -> bool:
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict) or set(schema) - _SUPPORTED:
        return False
    children: list[Any] = list(schema.get("properties", {}).values())
    for key in ("additionalProperties", "items", "contains", "not", "if", "then", "else"):
        if key in schema:
            children.append(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        children.extend(schema.get(key, ()))
    return all(supported(child) for child in children)


class _Generator:
    def __init__(self, explain: bool) -> None:
        self.explain = explain
        self.constants: dict[str, Any] = {"_equal": _js_equal, "Failure": Failure}
        self.helpers: list[str] = []
        self.counter = 0

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def const(self, value: Any) -> str:
        name = self.name("C")
        self.constants[name] = value
        return name

    def predicate(self, schema: Any) -> str:
        """A helper function (check flavour) for sub-schemas whose result is combined."""
        name = self.name("_p")
        saved, self.explain = self.explain, False
        body = self.body(schema, "x", (), 1)
        self.explain = saved
        self.helpers.append(f"def {name}(x):\n" + "".join(body) + "    return True\n")
        return name

    def fail(self, indent: int, path: tuple[str, ...], keyword: str, expected: Any, var: str
             ) -> str:
        pad = "    " * indent
        if not self.explain:
            return f"{pad}return False\n"
        parts = "(" + "".join(p + ", " for p in path) + ")"
        return f"{pad}return Failure({parts}, {keyword!r}, {self.const(expected)}, {var})\n"

    def body(self, schema: Any, v: str, path: tuple[str, ...], indent: int) -> list[str]:
        pad = "    " * indent
        if schema is True:
            return []
        if schema is False:
            return [self.fail(indent, path, "false", False, v)]
        out: list[str] = []
        if "type" in schema:
            names = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
            test = " or ".join(_TYPE_EXPR[n].format(v=v) for n in names)
            out += [f"{pad}if not ({test}):\n", self.fail(indent + 1, path, "type",
                                                          schema["type"], v)]
        for keyword in ("enum", "const"):
            if keyword in schema:
                values = schema["enum"] if keyword == "enum" else [schema["const"]]
                if all(isinstance(x, str) for x in values):
                    test = f"isinstance({v}, str) and {v} in {self.const(frozenset(values))}"
                else:
                    test = f"any(_equal({v}, c) for c in {self.const(tuple(values))})"
                out += [f"{pad}if not ({test}):\n",
                        self.fail(indent + 1, path, keyword, schema[keyword], v)]
        out += self._object(schema, v, path, indent)
        out += self._array(schema, v, path, indent)
        out += self._scalar(schema, v, path, indent)
        out += self._combinators(schema, v, path, indent)
        return out

    def _object(self, schema: dict[str, Any], v: str, path: tuple[str, ...], indent: int
                ) -> list[str]:
        pad = "    " * indent
        out: list[str] = []
        props = schema.get("properties", {})
        required = schema.get("required", [])
        if not (props or required or "additionalProperties" in schema):
            return out
        inner: list[str] = []
        ipad = pad + "    "
        for key in required:
            inner += [f"{ipad}if {key!r} not in {v}:\n",
                      self.fail(indent + 2, path, "required", key, v)]
        for key, sub in props.items():
            sub_var = self.name("v")
            sub_body = self.body(sub, sub_var, (*path, repr(key)), indent + 2)
            if sub_body:
                inner += [f"{ipad}if {key!r} in {v}:\n",
                          f"{ipad}    {sub_var} = {v}[{key!r}]\n", *sub_body]
        if "additionalProperties" in schema:
            known = self.const(frozenset(props))
            key_var, val_var = self.name("k"), self.name("v")
            sub_body = self.body(schema["additionalProperties"], val_var, (*path, key_var),
                                 indent + 3)
            if sub_body:
                inner += [f"{ipad}for {key_var}, {val_var} in {v}.items():\n",
                          f"{ipad}    if {key_var} not in {known}:\n", *sub_body]
        if inner:
            out += [f"{pad}if isinstance({v}, dict):\n", *inner]
        return out

    def _array(self, schema: dict[str, Any], v: str, path: tuple[str, ...], indent: int
               ) -> list[str]:
        pad = "    " * indent
        inner: list[str] = []
        ipad = pad + "    "
        if "minItems" in schema:
            inner += [f"{ipad}if len({v}) < {int(schema['minItems'])}:\n",
                      self.fail(indent + 2, path, "minItems", schema["minItems"], v)]
        if "maxItems" in schema:
            inner += [f"{ipad}if len({v}) > {int(schema['maxItems'])}:\n",
                      self.fail(indent + 2, path, "maxItems", schema["maxItems"], v)]
        if "items" in schema:
            index, item = self.name("i"), self.name("v")
            sub_body = self.body(schema["items"], item, (*path, index), indent + 2)
            if sub_body:
                inner += [f"{ipad}for {index}, {item} in enumerate({v}):\n", *sub_body]
        if "contains" in schema:
            check = self.predicate(schema["contains"])
            low = int(schema.get("minContains", 1))
            high = schema.get("maxContains")
            hits = self.name("n")
            test = f"{hits} < {low}" + (f" or {hits} > {int(high)}" if high is not None else "")
            inner += [f"{ipad}{hits} = sum(1 for _i in {v} if {check}(_i))\n",
                      f"{ipad}if {test}:\n",
                      self.fail(indent + 2, path, "contains", schema["contains"], v)]
        if not inner:
            return []
        return [f"{pad}if isinstance({v}, list):\n", *inner]

    def _scalar(self, schema: dict[str, Any], v: str, path: tuple[str, ...], indent: int
                ) -> list[str]:
        pad = "    " * indent
        out: list[str] = []
        for keyword, op in (("minLength", "<"), ("maxLength", ">")):
            if keyword in schema:
                out += [f"{pad}if isinstance({v}, str) and len({v}) {op} {int(schema[keyword])}:\n",
                        self.fail(indent + 1, path, keyword, schema[keyword], v)]
        if "pattern" in schema:
            search = self.const(re.compile(schema["pattern"]).search)
            out += [f"{pad}if isinstance({v}, str) and {search}({v}) is None:\n",
                    self.fail(indent + 1, path, "pattern", schema["pattern"], v)]
        for keyword, op in _COMPARE.items():
            if keyword in schema:
                bound = self.const(schema[keyword])
                number = _TYPE_EXPR["number"].format(v=v)
                out += [f"{pad}if {number} and not ({v} {op} {bound}):\n",
                        self.fail(indent + 1, path, keyword, schema[keyword], v)]
        return out

    def _combinators(self, schema: dict[str, Any], v: str, path: tuple[str, ...], indent: int
                     ) -> list[str]:
        pad = "    " * indent
        out: list[str] = []
        if "not" in schema:
            check = self.predicate(schema["not"])
            out += [f"{pad}if {check}({v}):\n",
                    self.fail(indent + 1, path, "not", schema["not"], v)]
        for sub in schema.get("allOf", ()):
            out += self.body(sub, v, path, indent)
        if "anyOf" in schema:
            checks = [self.predicate(s) for s in schema["anyOf"]]
            out += [f"{pad}if not ({' or '.join(f'{c}({v})' for c in checks)}):\n",
                    self.fail(indent + 1, path, "anyOf", schema["anyOf"], v)]
        if "oneOf" in schema:
            checks = [self.predicate(s) for s in schema["oneOf"]]
            total = " + ".join(f"bool({c}({v}))" for c in checks)
            out += [f"{pad}if ({total}) != 1:\n",
                    self.fail(indent + 1, path, "oneOf", schema["oneOf"], v)]
        if "if" in schema:
            condition = self.predicate(schema["if"])
            then = self.body(schema.get("then", True), v, path, indent + 1)
            otherwise = self.body(schema.get("else", True), v, path, indent + 1)
            out += [f"{pad}if {condition}({v}):\n", *(then or [f"{pad}    pass\n"]),
                    f"{pad}else:\n", *(otherwise or [f"{pad}    pass\n"])]
        return out


def _build(schema: Any, explain: bool) -> Callable[[Any], Any]:
    gen = _Generator(explain)
    body = gen.body(schema, "x", (), 1)
    tail = "    return None\n" if explain else "    return True\n"
    source = "\n".join(gen.helpers) + "\ndef _entry(x):\n" + "".join(body) + tail
    namespace = dict(gen.constants)
    exec(compile(source, "<govcloud-policy>", "exec"), namespace)  # noqa: S102 - our own code
    return namespace["_entry"]  # type: ignore[no-any-return]


def compile_schema(schema: Any) -> Predicate:
    """A predicate equivalent to ``Draft202012Validator(schema).is_valid``."""
    if not supported(schema):
        return Draft202012Validator(schema).is_valid
    return _build(schema, explain=False)


def compile_explainer(schema: Any) -> Callable[[Any], Failure | None]:
    """``explain(instance)``: the first failure, or None when the instance is valid."""
    if not supported(schema):
        validator = Draft202012Validator(schema)

        def via_jsonschema(instance: Any) -> Failure | None:
            error = best_match(validator.iter_errors(instance))
            if error is None:
                return None
            return Failure(tuple(error.absolute_path), str(error.validator),
                           error.validator_value, error.instance)

        return via_jsonschema
    return _build(schema, explain=True)
