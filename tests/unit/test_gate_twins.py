"""Request-time twins and canonical values: validation refuses blank text and ambiguous remotes,
resolution carries canonical values and the image catalog, provisioning sends the canonical form.
Each rule is tried with the spelling that tries to slip past it."""

from __future__ import annotations

import pytest

from govcloud.provision.desired import request_resources
from govcloud.resolve import resolve
from tests.unit.helpers import BASE, REQUEST, load_texts, with_rules, yaml_docs

IMAGES = yaml_docs(
    ("Component", "windows-2019",
     "{category: os, vendor: Microsoft, product: Windows Server 2019, origin: foreign}"),
    ("Image", "win-2019", "{os: windows-2019, architecture: x86_64}"),
)


def _load(tmp_path, request=REQUEST):
    return load_texts(tmp_path, base=BASE + IMAGES, req=request)


def _errors(validated):
    return [(e.path, e.message) for e in validated.all_errors]


@pytest.mark.parametrize("blank", ['" "', '"\\u3000"', '"\\u200b "', '"\\t"', '""', '"\\u00a0"',
                                   '"\\u3164"', '"\\u2800\\u200e"'])
def test_blank_purpose_is_refused_at_validation(tmp_path, blank):
    validated = _load(tmp_path, REQUEST.replace("purpose: Epidemic reporting",
                                                f"purpose: {blank}"))
    # Invisible characters are refused by the loader before the blank check sees them.
    assert any(path == "/spec/purpose" and ("blank" in msg or "empty" in msg
                                            or "invisible character" in msg)
               for path, msg in _errors(validated)), _errors(validated)
    assert validated.catalog.get("ResourceRequest", "REQ-1") is None


def test_blank_system_name_and_rule_description_are_refused(tmp_path):
    request = REQUEST.replace("system: {name: epi,", 'system: {name: "  ",').replace(
        "remote: 0.0.0.0/0}", 'remote: 0.0.0.0/0, description: " "}')
    paths = {path for path, _ in _errors(_load(tmp_path, request))}
    assert {"/spec/system/name", "/spec/security_groups/0/rules/0/description"} <= paths


def test_text_with_a_visible_character_is_not_blank(tmp_path):
    validated = _load(tmp_path, REQUEST.replace("purpose: Epidemic reporting",
                                                'purpose: " 疫情 "'))
    assert _errors(validated) == []


@pytest.mark.parametrize("remote, words", [
    ("010.0.0.0/8", "leading zero"),
    ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
    ("0/0", "not a CIDR"),
])
def test_ambiguous_remote_is_an_error_naming_the_rule(tmp_path, remote, words):
    validated = _load(tmp_path, REQUEST.replace("remote: 0.0.0.0/0", f"remote: '{remote}'"))
    ((path, message),) = _errors(validated)
    assert path == "/spec/security_groups/0/rules/0/remote" and words in message


def test_port_without_protocol_is_an_error(tmp_path):
    validated = _load(tmp_path, REQUEST.replace("protocol: tcp, port: 443", "port: 443"))
    ((path, message),) = _errors(validated)
    assert path.endswith("/port") and "tcp or udp" in message


def test_ethertype_that_contradicts_the_remote_is_an_error(tmp_path):
    validated = _load(tmp_path, REQUEST.replace("remote: 0.0.0.0/0",
                                                "remote: '::/0', ethertype: IPv4"))
    ((path, message),) = _errors(validated)
    assert path.endswith("/ethertype") and "IPv6" in message


def _resolved(tmp_path, request):
    validated = _load(tmp_path, request)
    assert _errors(validated) == []
    doc = validated.catalog.get("ResourceRequest", "REQ-1")
    return resolve(doc, validated.catalog)["spec"], doc, validated.catalog


def test_resolved_rules_are_canonical_and_carry_the_union(tmp_path):
    request = with_rules("{direction: ingress, protocol: tcp, port: 22, remote: 0.0.0.0/00}",
                         "{direction: ingress, remote: 128.0.0.0/1}",
                         "{direction: ingress, ethertype: IPv6, protocol: tcp, port: 443}")
    spec, _, _ = _resolved(tmp_path, request)
    group = spec["security_groups"][0]
    first, second, third = group["rules"]
    assert first["remote"] == "0.0.0.0/0" and first["remote_any"] is True
    assert second["protocol"] == "any" and second["port_min"] == 1  # no protocol: every port
    assert second["remote_any"] is False and second["exposed"]
    assert third["remote"] == "::/0" and third["remote_any"] is True  # no remote: its family
    assert group["open_to_world"] is True
    assert group["allow_all"] is True  # every protocol from a public /1


def test_resolved_server_knows_its_image_from_the_catalog(tmp_path):
    request = REQUEST.replace("image: kylin-v10-sp3", "image: win-2019")
    server = _resolved(tmp_path, request)[0]["servers"][0]
    assert server["image_found"] is True and server["os_matches_image"] is False
    assert server["image_os"]["origin"] == "foreign"
    unknown = _resolved(tmp_path, REQUEST.replace("image: kylin-v10-sp3", "image: mine"))
    assert unknown[0]["servers"][0]["image_found"] is False
    same = _resolved(tmp_path, REQUEST)[0]["servers"][0]
    assert same["image_found"] and same["os_matches_image"]


def test_resolved_roles_are_lower_case_and_sent_lower_case(tmp_path):
    request = REQUEST.replace("  networks:", "  users: [{name: li.na, roles: [Admin]}]\n"
                              "  networks:")
    spec, doc, catalog = _resolved(tmp_path, request)
    assert spec["users"][0]["roles"] == ["admin"]
    names = {r.name for r in request_resources(doc, catalog) if r.kind == "role_assignment"}
    assert names == {"li.na:admin"}


def test_the_cloud_gets_the_canonical_remote(tmp_path):
    request = with_rules(
        "{direction: ingress, protocol: tcp, port: 443, remote: 0.0.0.0/00}",
        "{direction: ingress, protocol: tcp, port: 8443, remote: '0:0:0:0:0:0:0:0/0'}",
        "{direction: ingress, protocol: tcp, port: 9443, ethertype: IPv6}")
    _, doc, catalog = _resolved(tmp_path, request)
    remotes = sorted(r.field_map()["remote"] for r in request_resources(doc, catalog)
                     if r.kind == "sg_rule")
    assert remotes == ["0.0.0.0/0", "::/0", "::/0"]


def test_image_must_name_an_os_component(tmp_path):
    bad = IMAGES.replace("spec: {os: windows-2019, architecture: x86_64}",
                         "spec: {os: kunpeng-920, architecture: x86_64}")
    assert bad != IMAGES
    validated = load_texts(tmp_path, base=BASE + bad, req=REQUEST)
    assert any(path == "/spec/os" and "not an os" in message
               for path, message in _errors(validated))


def test_a_server_in_two_groups_admits_the_union_of_both(tmp_path):
    web = "    - name: web\n      rules: [{direction: ingress, protocol: tcp, port: "
    request = REQUEST.replace(
        web + "443, remote: 0.0.0.0/0}]",
        web + "22, remote: 0.0.0.0/1}]\n"
        "    - name: ops\n      rules: [{direction: ingress, protocol: tcp, port: 22,"
        " remote: 128.0.0.0/1}]",
    ).replace("security_groups: [web]", "security_groups: [web, ops]")
    spec, _, _ = _resolved(tmp_path, request)
    web, ops = spec["security_groups"]
    assert any(seg["scope"] == "world" for seg in web["rules"][0]["exposed"])
    assert any(seg["scope"] == "world" for seg in ops["rules"][0]["exposed"])
    assert web["open_to_world"] and ops["open_to_world"]
    alone = _resolved(tmp_path, request.replace("security_groups: [web, ops]",
                                                "security_groups: [web]"))[0]
    assert alone["security_groups"][0]["rules"][0]["exposed"][0]["scope"] == "public"


def test_system_wide_components_count_for_each_server(tmp_path):
    request = REQUEST.replace("network_zone: gov-external}", "network_zone: gov-external,\n"
                              "           components: {cpu: kunpeng-920, os: kylin-v10}}")
    request = request.replace(", components: {cpu: kunpeng-920, os: kylin-v10}}", "}")
    server = _resolved(tmp_path, request)[0]["servers"][0]
    assert server["components_declared"] is True and server["os_matches_image"] is True


def test_a_cloud_rule_is_named_by_its_canonical_remote_so_plan_matches_it(tmp_path):
    from govcloud.cloud.read import Snapshot, _read_rule
    from govcloud.provision.desired import rule_name

    snap = Snapshot()
    _read_rule(snap, "health-epi", "web", {
        "id": "r1", "direction": "ingress", "protocol": "tcp", "port_range_min": 443,
        "port_range_max": 443, "remote_ip_prefix": "0:0:0:0:0:0:0:0/0", "ethertype": "IPv6",
        "description": "govcloud:request=REQ-1"})
    _read_rule(snap, "health-epi", "web", {
        "id": "r2", "direction": "ingress", "protocol": "tcp", "port_range_min": 22,
        "port_range_max": 22, "remote_ip_prefix": None, "ethertype": "IPv6"})
    names = [r.name for r in snap.resources]
    wanted = {"direction": "ingress", "protocol": "tcp", "port": 443, "remote": "::0/0"}
    assert names[0] == rule_name("web", wanted) == "web:ingress:tcp:443-443:::/0"
    assert names[1].endswith(":::/0")  # no prefix on an IPv6 rule: the IPv6 world
