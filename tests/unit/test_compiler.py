"""The compiled predicate must agree with jsonschema on every schema and instance."""

import itertools

import pytest
from jsonschema import Draft202012Validator

from govcloud.policy.compiler import compile_schema

INSTANCES = [
    None, True, False, 0, 1, 2, 1.0, 2.5, -1, 22, 3389, 65535, "", "a", "gov-internal",
    "0.0.0.0/0", "domestic", [], [1], [1, 2], ["a", "b"], [{"origin": "foreign"}],
    {}, {"a": 1}, {"origin": "domestic"}, {"origin": "foreign", "category": "cpu"},
    {"port_min": 1, "port_max": 65535, "remote": "0.0.0.0/0", "direction": "ingress"},
    {"port_min": 443, "port_max": 443, "remote": "0.0.0.0/0", "direction": "ingress"},
    {"servers": [{"count": 1}]}, {"servers": [{"count": 2}]}, {"servers": [{}, {}]},
    {"mlps_level": 3, "platform": {"mlps_level": 2}},
]

SCHEMAS = [
    True, False, {}, {"type": "integer"}, {"type": ["string", "null"]}, {"type": "number"},
    {"type": "boolean"}, {"type": "object"}, {"type": "array"},
    {"enum": ["gov-internal", "gov-external"]}, {"enum": [1, True, None]}, {"const": 1},
    {"const": True}, {"const": {"a": 1}},
    {"properties": {"origin": {"const": "domestic"}}, "required": ["origin"]},
    {"additionalProperties": False, "properties": {"a": {}}},
    {"additionalProperties": {"type": "integer"}},
    {"items": {"type": "integer"}}, {"contains": {"const": "a"}},
    {"contains": {"type": "integer"}, "minContains": 2}, {"minItems": 2}, {"maxItems": 1},
    {"minLength": 1}, {"maxLength": 1}, {"pattern": "^gov-"},
    {"minimum": 2}, {"maximum": 22}, {"exclusiveMinimum": 1}, {"exclusiveMaximum": 2.5},
    {"not": {"type": "string"}}, {"allOf": [{"type": "integer"}, {"minimum": 2}]},
    {"anyOf": [{"type": "string"}, {"minimum": 3}]},
    {"oneOf": [{"type": "integer"}, {"minimum": 2}]},
    {"if": {"type": "integer"}, "then": {"minimum": 2}, "else": {"type": "string"}},
    {"then": {"type": "integer"}},
    {"not": {"properties": {"remote": {"const": "0.0.0.0/0"},
                            "port_min": {"maximum": 22}, "port_max": {"minimum": 22}},
             "required": ["remote", "port_min", "port_max"]}},
    {"properties": {"servers": {"anyOf": [{"minItems": 2},
                                          {"contains": {"properties": {"count": {"minimum": 2}},
                                                        "required": ["count"]}}]}}},
    {"properties": {"items": {"items": {"properties": {"origin": {"const": "domestic"}}}}}},
    {"allOf": [{"if": {"properties": {"mlps_level": {"const": 3}}},
                "then": {"properties": {"platform": {"properties": {"mlps_level": {
                    "minimum": 3}}}}}}]},
    {"$ref": "#/$defs/x", "$defs": {"x": {"type": "integer"}}},  # falls back to jsonschema
    {"uniqueItems": True},  # falls back
    {"title": "t", "description": "d", "format": "ipv4", "type": "string"},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: str(s)[:60])
def test_compiled_predicate_matches_jsonschema(schema):
    predicate = compile_schema(schema)
    reference = Draft202012Validator(schema)
    for instance in INSTANCES:
        assert predicate(instance) == reference.is_valid(instance), instance


def test_all_pairs_of_combined_schemas_agree():
    plain = [s for s in SCHEMAS if isinstance(s, dict) and "$ref" not in s]
    for left, right in itertools.combinations(plain[:20], 2):
        schema = {"allOf": [left, right]}
        predicate = compile_schema(schema)
        reference = Draft202012Validator(schema)
        for instance in INSTANCES:
            assert predicate(instance) == reference.is_valid(instance), (schema, instance)
