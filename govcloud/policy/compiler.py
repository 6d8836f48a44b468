"""Compile a JSON Schema into a plain Python predicate.

``jsonschema``'s validators walk the schema on every call; policies run on every document, so we
translate each schema once into nested closures that only answer *valid or not*. The translation
covers the keywords policies use; a schema with anything else (``$ref``, ``unevaluated*`` ...)
falls back to ``Draft202012Validator.is_valid`` so results never differ from jsonschema. The
detailed error of a failing document still comes from jsonschema (``best_match``), which is only
paid for on failures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema._utils import equal as _js_equal

Predicate = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "$comment",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$schema",
        "format",
        "then",
        "else",
        "minContains",
        "maxContains",
    }
)
_SUPPORTED = (
    frozenset(
        {
            "type",
            "enum",
            "const",
            "properties",
            "required",
            "additionalProperties",
            "items",
            "contains",
            "minItems",
            "maxItems",
            "minLength",
            "maxLength",
            "pattern",
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "not",
            "allOf",
            "anyOf",
            "oneOf",
            "if",
        }
    )
    | _ANNOTATIONS
)


class Unsupported(Exception):
    pass


def _true(_: Any) -> bool:
    return True


def _false(_: Any) -> bool:
    return False


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


_TYPE_TESTS: dict[str, Predicate] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": _is_number,
    "integer": lambda x: (
        (isinstance(x, int) and not isinstance(x, bool))
        or (isinstance(x, float) and x.is_integer())
    ),
}


def compile_schema(schema: Any) -> Predicate:
    """A predicate equivalent to ``Draft202012Validator(schema).is_valid``."""
    try:
        return _compile(schema)
    except Unsupported:
        return Draft202012Validator(schema).is_valid


def _compile(schema: Any) -> Predicate:
    if schema is True or schema == {}:
        return _true
    if schema is False:
        return _false
    if not isinstance(schema, dict):
        raise Unsupported(repr(schema))
    unknown = set(schema) - _SUPPORTED
    if unknown:
        raise Unsupported(", ".join(sorted(unknown)))
    checks: list[Predicate] = []
    if "type" in schema:
        checks.append(_type(schema["type"]))
    if "enum" in schema:
        checks.append(_enum(schema["enum"]))
    if "const" in schema:
        checks.append(_enum([schema["const"]]))
    checks.extend(_object_checks(schema))
    checks.extend(_array_checks(schema))
    checks.extend(_scalar_checks(schema))
    checks.extend(_combinators(schema))
    if not checks:
        return _true
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)

    def all_of(x: Any) -> bool:
        for check in frozen:
            if not check(x):
                return False
        return True

    return all_of


def _type(spec: str | list[str]) -> Predicate:
    names = [spec] if isinstance(spec, str) else list(spec)
    tests = tuple(_TYPE_TESTS[name] for name in names)
    if len(tests) == 1:
        return tests[0]
    return lambda x: any(t(x) for t in tests)


def _enum(values: list[Any]) -> Predicate:
    if all(isinstance(v, str) for v in values):
        allowed = frozenset(values)
        return lambda x: isinstance(x, str) and x in allowed
    frozen = tuple(values)
    return lambda x: any(_js_equal(x, v) for v in frozen)


def _object_checks(schema: dict[str, Any]) -> list[Predicate]:
    checks: list[Predicate] = []
    props = {k: _compile(v) for k, v in schema.get("properties", {}).items()}
    if props:
        items = tuple(props.items())

        def properties(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for key, sub in items:
                if key in x and not sub(x[key]):
                    return False
            return True

        checks.append(properties)
    required = tuple(schema.get("required", ()))
    if required:
        checks.append(lambda x: not isinstance(x, dict) or all(k in x for k in required))
    if "additionalProperties" in schema:
        extra = _compile(schema["additionalProperties"])
        known = frozenset(props)
        checks.append(
            lambda x: (
                not isinstance(x, dict) or all(extra(v) for k, v in x.items() if k not in known)
            )
        )
    return checks


def _array_checks(schema: dict[str, Any]) -> list[Predicate]:
    checks: list[Predicate] = []
    if "items" in schema:
        item = _compile(schema["items"])
        checks.append(lambda x: not isinstance(x, list) or all(item(i) for i in x))
    if "contains" in schema:
        contains = _compile(schema["contains"])
        low = schema.get("minContains", 1)
        high = schema.get("maxContains")

        def contains_check(x: Any) -> bool:
            if not isinstance(x, list):
                return True
            hits = sum(1 for i in x if contains(i))
            return hits >= low and (high is None or hits <= high)

        checks.append(contains_check)
    if "minItems" in schema:
        n = schema["minItems"]
        checks.append(lambda x: not isinstance(x, list) or len(x) >= n)
    if "maxItems" in schema:
        m = schema["maxItems"]
        checks.append(lambda x: not isinstance(x, list) or len(x) <= m)
    return checks


def _scalar_checks(schema: dict[str, Any]) -> list[Predicate]:
    checks: list[Predicate] = []
    if "minLength" in schema:
        n = schema["minLength"]
        checks.append(lambda x: not isinstance(x, str) or len(x) >= n)
    if "maxLength" in schema:
        m = schema["maxLength"]
        checks.append(lambda x: not isinstance(x, str) or len(x) <= m)
    if "pattern" in schema:
        search = re.compile(schema["pattern"]).search
        checks.append(lambda x: not isinstance(x, str) or search(x) is not None)
    bounds = (
        ("minimum", lambda x, b: x >= b),
        ("maximum", lambda x, b: x <= b),
        ("exclusiveMinimum", lambda x, b: x > b),
        ("exclusiveMaximum", lambda x, b: x < b),
    )
    for keyword, compare in bounds:
        if keyword in schema:
            bound = schema[keyword]
            checks.append(
                lambda x, b=bound, c=compare: not _is_number(x) or c(x, b)  # type: ignore[misc]
            )
    return checks


def _combinators(schema: dict[str, Any]) -> list[Predicate]:
    checks: list[Predicate] = []
    if "not" in schema:
        negated = _compile(schema["not"])
        checks.append(lambda x: not negated(x))
    if "allOf" in schema:
        parts = tuple(_compile(s) for s in schema["allOf"])
        checks.append(lambda x: all(p(x) for p in parts))
    if "anyOf" in schema:
        options = tuple(_compile(s) for s in schema["anyOf"])
        checks.append(lambda x: any(p(x) for p in options))
    if "oneOf" in schema:
        choices = tuple(_compile(s) for s in schema["oneOf"])
        checks.append(lambda x: sum(1 for p in choices if p(x)) == 1)
    if "if" in schema:
        condition = _compile(schema["if"])
        then = _compile(schema.get("then", True))
        otherwise = _compile(schema.get("else", True))
        checks.append(lambda x: then(x) if condition(x) else otherwise(x))
    return checks
