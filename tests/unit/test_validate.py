import json

import pytest
from jsonschema import Draft202012Validator

from govcloud.schemas import KINDS, document_schema
from govcloud.validate import parse_port
from tests.unit.helpers import BASE, REQUEST, load_texts


def messages(validated):
    return [str(e) for e in validated.all_errors]


def test_good_documents_validate(tmp_path):
    v = load_texts(tmp_path, base=BASE, req=REQUEST)
    assert messages(v) == []
    assert v.catalog.get("ResourceRequest", "REQ-1") is not None


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_schema_is_valid_2020_12(kind):
    schema = document_schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")
    json.dumps(schema)


def test_typo_field_names_the_line_and_suggests(tmp_path):
    v = load_texts(tmp_path, base=BASE, req=REQUEST.replace("purpose:", "purpse:"))
    (error,) = v.errors
    assert error.path == "/spec/purpse"
    assert error.line == 8
    assert "unknown field 'purpse'" in error.message and "did you mean 'purpose'" in error.message


def test_wrong_type(tmp_path):
    v = load_texts(tmp_path, base=BASE, req=REQUEST.replace("cores: 8", "cores: eight"))
    (error,) = v.errors
    assert error.path == "/spec/quotas/cores"
    assert "must be an integer" in error.message


def test_unknown_component_is_named(tmp_path):
    v = load_texts(tmp_path, base=BASE, req=REQUEST.replace("os: kylin-v10", "os: kylin-v11"))
    (error,) = v.errors
    assert error.path == "/spec/servers/0/components/os"
    assert "Component 'kylin-v11' does not exist" in error.message
    assert "did you mean 'kylin-v10'" in error.message
    assert v.catalog.get("ResourceRequest", "REQ-1") is None  # invalid docs are not evaluated


def test_component_of_wrong_category(tmp_path):
    v = load_texts(tmp_path, base=BASE, req=REQUEST.replace("os: kylin-v10", "os: kunpeng-920"))
    assert "is a cpu, not a os" in messages(v)[0]


def test_unknown_kind_and_api_version(tmp_path):
    v = load_texts(
        tmp_path,
        a="apiVersion: govcloud/v1\nkind: Departmnt\nmetadata: {id: x}\nspec: {}\n",
        b="apiVersion: v2\nkind: Department\nmetadata: {id: y}\nspec: {}\n",
    )
    text = " ".join(messages(v))
    assert "unknown kind 'Departmnt'" in text and "did you mean 'Department'" in text
    assert "unknown apiVersion 'v2'" in text


# old | new | JSON path of the error | words of its message (one case a row)
WRONG_VALUES = """
cidr: 10.20.0.0/24 | cidr: 10.20.0.1/24 | /spec/networks/0/cidr | host bits
cidr: 10.20.0.0/24 | cidr: 10.20.0.0/33 | /spec/networks/0/cidr | not a CIDR
port: 443 | port: 70000 | /spec/security_groups/0/rules/0/port | 65535
port: 443 | port: 0 | /spec/security_groups/0/rules/0/port | at least 1
port: 443 | port: "9000-8000" | /spec/security_groups/0/rules/0/port | low > high
remote: 0.0.0.0/0 | remote: 300.0.0.0/8 | /spec/security_groups/0/rules/0/remote | not a CIDR
count: 2 | count: 0 | /spec/servers/0/count | at least 1
cores: 8 | cores: -2 | /spec/quotas/cores | -1 means unlimited
tenant: health-epi | tenant: ../etc | /spec/tenant | no '/'
attach_to: app-1 | attach_to: app-3 | /spec/volumes/0/attach_to | not a server
network: app-net | network: db-net | /spec/servers/0/network | not in this
security_groups: [web] | security_groups: [db] | /spec/servers/0/security_groups/0 | not in this
platform: gov-external-cloud | platform: nowhere | /spec/platform | does not exist
department: prov-health | department: prov-wealth | /spec/department | did you mean 'prov-health'
"""


@pytest.mark.parametrize(("old", "new", "path", "words"),
                         [tuple(row.split(" | ")) for row in WRONG_VALUES.strip().splitlines()])
def test_well_typed_but_wrong_values(tmp_path, old, new, path, words):
    assert old in REQUEST
    v = load_texts(tmp_path, base=BASE, req=REQUEST.replace(old, new))
    matching = [e for e in v.errors if e.path == path]
    assert matching, messages(v)
    assert words in matching[0].message
    assert matching[0].line is not None and matching[0].file.endswith("req.yaml")


def test_quota_minus_one_means_unlimited(tmp_path):
    v = load_texts(tmp_path, base=BASE, req=REQUEST.replace("cores: 8", "cores: -1"))
    assert messages(v) == []


def test_duplicate_ids_name_both_places(tmp_path):
    v = load_texts(tmp_path, base=BASE, req=REQUEST, again=REQUEST)
    (error,) = v.errors
    assert "duplicate ResourceRequest id 'REQ-1'" in error.message
    assert ".yaml:3" in error.message


def test_waiver_target_must_resolve(tmp_path):
    waiver = """
    apiVersion: govcloud/v1
    kind: Waiver
    metadata: {id: W-1}
    spec: {policy: GC-X-001, target: Platform/gov-externl-cloud, reason: r, approved_by: ciso,
           issued: 2026-06-01, expires: 2027-01-01}
    """
    v = load_texts(tmp_path, base=BASE, req=REQUEST, w=waiver)
    assert "Platform 'gov-externl-cloud' does not exist; did you mean" in messages(v)[0]
    # A request (or live resource) that is not among the documents read is no error: the
    # inventory's waiver for one request is read whenever other requests are checked.
    other = waiver.replace("Platform/gov-externl-cloud", "ResourceRequest/REQ-9")
    v = load_texts(tmp_path / "req9", base=BASE, req=REQUEST, w=other)
    assert messages(v) == []


def test_room_with_unknown_department(tmp_path):
    room = """
    apiVersion: govcloud/v1
    kind: MachineRoom
    metadata: {id: room-1}
    spec: {department: prov-nowhere, kind: independent, site: Hall 1, status: active}
    """
    v = load_texts(tmp_path, base=BASE, room=room)
    (error,) = v.errors
    assert error.line == 4 and error.path == "/spec/department"


def test_replaces_unknown_room(tmp_path):
    req = REQUEST.replace("  quotas:", "  replaces: [room-404]\n  quotas:")
    v = load_texts(tmp_path, base=BASE, req=req)
    (error,) = v.errors
    assert (
        error.path == "/spec/replaces/0" and "neither a MachineRoom nor a System" in error.message
    )


def test_parse_port():
    assert parse_port(22) == (22, 22)
    assert parse_port("8000-8080") == (8000, 8080)
    assert parse_port("0-10") is None
    assert parse_port(True) is None
