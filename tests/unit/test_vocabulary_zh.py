"""Chinese values where a person types them (issue 15, part 2): 机密, 政务外网, 三级 mean exactly
what confidential, gov-external, 3 mean, and every output shows the canonical value."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govcloud.cli.app import app
from govcloud.loader import load_text
from govcloud.provision import desired_state, diff
from govcloud.schemas import CLASSIFICATIONS, LEVELS, ZONES
from govcloud.validate import load
from govcloud.vocabulary import normalise
from govcloud.vocabulary_zh import (
    CLASSIFICATION_ZH,
    DIRECTION_ZH,
    FIELDS,
    LEVEL_ZH,
    MLPS_ZH,
    ZONE_ZH,
    canonical_document,
)
from tests.unit.helpers import INVENTORY, ROOT

EXAMPLES = sorted((ROOT / "examples" / "requests").glob("*.yaml"))

# English -> the Chinese a clerk writes (the first word of each, and a second spelling where
# there is one, so both are exercised across the examples).
TO_ZH = {
    "classification": {k: v[0] for k, v in CLASSIFICATION_ZH.items()},
    "network_zone": {"gov-internal": "电子政务内网", "gov-external": "政务外网",
                     "internet": "互联网"},
    "mlps_level": {str(n): words[i % len(words)] for i, (n, words) in
                   enumerate(((1, ("一级",)), (2, ("二级", "第二级")), (3, ("等保三级", "三级")),
                              (4, ("第四级",)), (5, ("五级",))))},
    "direction": {"ingress": "入方向", "egress": "出方向"},
}
_FIELD = re.compile(r"\b(classification|network_zone|mlps_level|direction): ([A-Za-z0-9-]+)")


def chinese_twin(text: str) -> str:
    """The same request with every enum value a person types written in Chinese."""
    return _FIELD.sub(lambda m: f"{m.group(1)}: {TO_ZH[m.group(1)].get(m.group(2), m.group(2))}",
                      text)


def _doc(spec_yaml: str, kind: str = "ResourceRequest"):
    text = f"apiVersion: govcloud/v1\nkind: {kind}\nmetadata: {{id: X-1}}\nspec:\n{spec_yaml}"
    loaded = load_text(text, "t.yaml")
    assert not loaded.errors, loaded.errors
    (doc,) = loaded.documents
    return doc


# ---------------------------------------------------------------- the tables


def test_every_enum_value_has_a_chinese_word():
    assert set(CLASSIFICATION_ZH) == set(CLASSIFICATIONS)
    assert set(ZONE_ZH) == set(ZONES)
    assert set(LEVEL_ZH) == set(LEVELS)
    assert set(MLPS_ZH) == {1, 2, 3, 4, 5}
    assert set(DIRECTION_ZH) == {"ingress", "egress"}


def test_no_spelling_means_two_values():
    for table in (CLASSIFICATION_ZH, ZONE_ZH, LEVEL_ZH, MLPS_ZH, DIRECTION_ZH):
        seen: dict[str, object] = {}
        for value, words in table.items():
            for word in (str(value), *words):
                key = normalise(word)
                assert seen.setdefault(key, value) == value, f"{word} means {seen[key]} and {value}"


@pytest.mark.parametrize("word,value", [(w, v) for v, ws in CLASSIFICATION_ZH.items() for w in ws])
def test_classification_words(word, value):
    doc = _doc(f"  system: {{classification: {word}}}\n")
    assert doc.spec["system"]["classification"] == value


@pytest.mark.parametrize("word,value", [(w, v) for v, ws in ZONE_ZH.items() for w in ws])
def test_zone_words(word, value):
    doc = _doc(f"  system: {{network_zone: {word}}}\n")
    assert doc.spec["system"]["network_zone"] == value


@pytest.mark.parametrize("word,level", [
    ("一级", 1), ("二级", 2), ("三级", 3), ("四级", 4), ("五级", 5), ("第三级", 3),
    ("等保三级", 3), ("等保第二级", 2), ("等级保护第三级", 3), ("3级", 3),
    ("３级", 3), ("第４级", 4), ("等保2级", 2),
])
def test_mlps_words(word, level):
    doc = _doc(f"  system: {{mlps_level: {word}}}\n")
    assert doc.spec["system"]["mlps_level"] == level


@pytest.mark.parametrize("written,value", [
    ("机密", "confidential"), ("' 机密 '", "confidential"),
    ("\"\u3000机密\u3000\"", "confidential"),
    ("Confidential", "confidential"), ("ｃｏｎｆｉｄｅｎｔｉａｌ", "confidential"),
    ("top secret", "top-secret"), ("TOP_SECRET", "top-secret"), ("绝密", "top-secret"),
])
def test_full_width_case_and_spaces_are_spelling(written, value):
    doc = _doc(f"  system: {{classification: {written}}}\n")
    assert doc.spec["system"]["classification"] == value


@pytest.mark.parametrize("written", [
    "机要", "保密", "政务外网", "工作秘密", "涉密", "'3'", "六级", "三", "confidentia1", "",
])
def test_unknown_or_other_fields_words_are_left_as_written(written):
    """Near misses and the words of another field (a zone as a classification) are not
    guessed: validation refuses them as written."""
    doc = _doc(f"  system: {{classification: {written or 'null'}}}\n")
    raw = load_text(f"v: {written or 'null'}\n", "raw.yaml").documents
    expected = raw[0].body["v"] if raw else None
    assert doc.spec["system"]["classification"] == expected


def test_a_bare_number_in_quotes_is_not_a_level_word():
    doc = _doc("  system: {mlps_level: '3'}\n")
    assert doc.spec["system"]["mlps_level"] == "3"


def test_a_zone_word_is_not_a_classification_and_the_reverse():
    doc = _doc("  system: {classification: 政务外网, network_zone: 机密}\n")
    assert doc.spec["system"] == {"classification": "政务外网", "network_zone": "机密"}


def test_only_the_declared_paths_are_rewritten():
    doc = _doc("  purpose: 机密\n  system: {name: 机密, function: 三级}\n"
               "  contact: {name: 互联网}\n")
    assert doc.spec["purpose"] == "机密"
    assert doc.spec["system"] == {"name": "机密", "function": "三级"}
    assert doc.spec["contact"] == {"name": "互联网"}
    meta = load_text("apiVersion: govcloud/v1\nkind: ResourceRequest\nmetadata:\n"
                     "  id: X\n  classification: 机密\n", "m.yaml").documents[0]
    assert meta.body["metadata"]["classification"] == "机密"


def test_other_kinds_rules_lists_and_line_map():
    doc = _doc("  security_groups:\n  - name: a\n    rules:\n"
               "    - {direction: 入方向, protocol: TCP}\n    - {direction: 出站, protocol: any}\n")
    rules = doc.spec["security_groups"][0]["rules"]
    assert [(r["direction"], r["protocol"]) for r in rules] == [("ingress", "tcp"),
                                                               ("egress", "any")]
    assert doc.line_of("/spec/security_groups/0/rules/1/direction") == 9
    dept = _doc("  name: x\n  level: 地市级\n  region: '330100'\n  networks: [政务外网, 互联网]\n",
                kind="Department")
    assert dept.spec["level"] == "prefecture" and dept.spec["networks"] == ["gov-external",
                                                                           "internet"]
    platform = _doc("  cloud: c\n  zone: 政务内网\n  mlps_level: 第四级\n  location: CN\n"
                    "  accredited_for: 机密\n", kind="Platform")
    assert (platform.spec["zone"], platform.spec["mlps_level"],
            platform.spec["accredited_for"]) == ("gov-internal", 4, "confidential")
    for kind in FIELDS:
        assert kind in {"ResourceRequest", "System", "Platform", "Department", "MachineRoom",
                        "Function"}


def test_a_canonical_document_is_returned_unchanged():
    doc = _doc("  system: {classification: secret, network_zone: gov-internal, mlps_level: 3}\n")
    assert canonical_document(doc) is doc


# ---------------------------------------------------------------- errors list both forms


def test_an_unknown_value_is_refused_with_both_forms(tmp_path):
    english = (ROOT / "examples/requests/good-county-elderly-care-level2.yaml").read_text("utf-8")
    bad = re.sub(r"classification: \S+", "classification: 机要", english)
    bad = re.sub(r"network_zone: \S+", "network_zone: 政务网", bad)
    bad = re.sub(r"mlps_level: \S+", "mlps_level: 六级", bad)
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    validated = load([tmp_path / "bad.yaml"], inventory=INVENTORY)
    messages = {e.path: (e.line, e.message) for e in validated.errors}
    line, text = messages["/spec/system/classification"]
    assert bad.splitlines()[line - 1].strip() == "classification: 机要"
    assert "use one of: public (公开), internal (内部), sensitive (敏感), secret (秘密), " \
           "confidential (机密), top-secret (绝密)" in text
    assert "gov-internal (政务内网), gov-external (政务外网), internet (互联网)" in \
        messages["/spec/system/network_zone"][1]
    assert "一级…五级" in messages["/spec/system/mlps_level"][1]


# ---------------------------------------------------------------- twins: the same meaning


def _cli_json(args: list[str], where: Path, monkeypatch) -> tuple[int, object]:
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(INVENTORY))
    monkeypatch.delenv("OS_CLOUD", raising=False)
    result = CliRunner().invoke(app, [*args, "-o", "json"])
    text = result.stdout.replace(str(where), "<dir>")
    return result.exit_code, json.loads(text)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_a_chinese_request_validates_checks_and_plans_like_its_english_twin(
        example, tmp_path, monkeypatch):
    english_text = example.read_text(encoding="utf-8")
    chinese_text = chinese_twin(english_text)
    assert chinese_text != english_text  # the twin really is written in Chinese
    outputs = {}
    for lang, text in (("en", english_text), ("zh", chinese_text)):
        where = tmp_path / lang
        where.mkdir()
        path = where / "request.yaml"
        path.write_text(text, encoding="utf-8")
        validated = load([path], inventory=INVENTORY)
        plan = diff(desired_state(validated.catalog, validated.requests()), []).to_json()
        outputs[lang] = (
            _cli_json(["validate", str(path)], where, monkeypatch),
            _cli_json(["check", str(path), "--fail-on", "never"], where, monkeypatch),
            json.dumps(plan, sort_keys=True, default=str),
        )
    assert outputs["zh"] == outputs["en"]
    (exit_code, report), _, _ = outputs["zh"]
    assert exit_code == 0 and not report["errors"]


def test_twins_differ_when_the_meaning_differs(tmp_path, monkeypatch):
    """The comparison above can fail: 机密 is not 秘密."""
    english = (ROOT / "examples/requests/good-classified-records-on-internal-cloud.yaml")
    text = english.read_text("utf-8").replace("classification: secret", "classification: 绝密")
    path = tmp_path / "request.yaml"
    path.write_text(text, encoding="utf-8")
    validated = load([path], inventory=INVENTORY)
    (request,) = validated.requests()
    assert request.spec["system"]["classification"] == "top-secret"


def test_an_approval_signs_the_meaning(tmp_path):
    """Approvals sign the canonical request: 机密 and confidential have one digest, so an
    approval given for one spelling holds for the other (and a change of meaning breaks it)."""
    from govcloud.approvals import load_requests, request_digest

    english = (ROOT / "examples/requests/good-classified-records-on-internal-cloud.yaml")
    text = english.read_text("utf-8")
    digests = []
    for name, body in (("en", text), ("zh", chinese_twin(text)),
                       ("other", text.replace("classification: secret", "classification: 机密"))):
        path = tmp_path / f"{name}.yaml"
        path.write_text(body, encoding="utf-8")
        (request,) = load_requests(path)
        digests.append(request_digest(request))
    assert digests[0] == digests[1] != digests[2]
