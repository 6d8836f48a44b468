"""Messages in two languages: the catalog is complete and compiled, policies and controls carry
both texts, placeholders agree, and the commands speak Chinese under LANG=zh_CN.UTF-8."""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest
import yaml
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from govcloud.cli.app import app
from govcloud.i18n import _, language_from_env, normalize, set_language
from govcloud.policy import load_policies
from govcloud.validate import load
from tests.unit.helpers import BASE, REQUEST, write

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "govcloud" / "locale" / "zh_CN" / "LC_MESSAGES" / "govcloud.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"LANG": "zh_CN.UTF-8"}
runner = CliRunner()


def _po():
    with PO.open("rb") as handle:
        return read_po(handle)


def code_messages() -> dict[str, str]:
    """Every message id the code marks (``_``, ``N_``, ``ngettext``), with where it is."""
    out = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / "govcloud", method_map=[("**.py", "python")], keywords=KEYWORDS):
        for msgid in (message if isinstance(message, tuple) else (message,)):
            if msgid:
                out[msgid] = f"govcloud/{filename}:{lineno}"
    return out


# ---------------------------------------------------------------- the catalog


def test_every_message_of_the_code_has_a_chinese_translation():
    catalog = _po()
    messages = code_messages()
    assert len(messages) > 150  # the extraction found the code's messages, not nothing
    missing = [f"{where}: {msgid!r}" for msgid, where in messages.items()
               if not (catalog.get(msgid) and catalog.get(msgid).string)]
    assert not missing, "untranslated (run `make i18n`, then translate):\n" + "\n".join(missing)
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries are not used by gettext: {fuzzy}"


def test_the_shipped_mo_is_the_compiled_po():
    with MO.open("rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    source = {m.id: m.string for m in _po() if m.id and m.string}
    assert compiled == source, "the .mo is stale: run `make i18n` (pybabel compile)"


def test_the_mo_ships_as_package_data():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"locale/*/LC_MESSAGES/*.mo"' in pyproject


def _fields(text: str) -> list[str]:
    brace = sorted(name for _lit, name, _spec, _conv in string.Formatter().parse(text)
                   if name is not None)
    percent = sorted(re.findall(r"%\((\w+)\)[sdr]", text))
    return brace + percent


def test_placeholders_agree_between_english_and_chinese():
    wrong = [(m.id, m.string) for m in _po()
             if m.id and m.string and set(_fields(m.id)) != set(_fields(m.string))]
    assert not wrong


def test_chinese_messages_are_chinese():
    # Values that stay as they are in both languages ("{kind} '{name}'") are the exception.
    same = {m.id for m in _po() if m.id and m.string == m.id}
    assert same <= {"{kind} '{name}'"}


# ---------------------------------------------------------------- content in both languages


def _code_spans(text: str) -> list[str]:
    return sorted(re.findall(r"`([^`]+)`", text))


def test_policies_folder_is_what_the_package_ships():
    shipped = ROOT / "govcloud" / "data" / "policies"
    if shipped.is_symlink():
        assert shipped.resolve() == (ROOT / "policies").resolve()
    else:  # a copy (e.g. an sdist): the same files
        for path in (ROOT / "policies").glob("*.yaml"):
            assert (shipped / path.name).read_bytes() == path.read_bytes(), path.name


def test_every_policy_has_chinese_title_message_and_remediation():
    policies = load_policies().policies
    assert len(policies) >= 40
    for p in policies:
        for english, chinese in ((p.title, p.title_zh), (p.message, p.message_zh),
                                 (p.remediation, p.remediation_zh)):
            assert chinese and CJK.search(chinese), f"{p.id}: no Chinese for {english!r}"
            # Commands and field values in `code` are copied by the reader: the same in both.
            assert _code_spans(english) == _code_spans(chinese), p.id


def test_every_policy_file_writes_chinese_in_spec_fields():
    for path in sorted((ROOT / "policies").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))["spec"]
        assert {"title_zh", "message_zh", "remediation_zh"} <= spec.keys(), path.name


def test_every_hardening_control_has_chinese_title_and_remediation():
    data = yaml.safe_load((ROOT / "playbooks" / "catalog" / "controls.yml").read_text("utf-8"))
    for cid, spec in data["controls"].items():
        assert CJK.search(spec["title_zh"]) and CJK.search(spec["remediation_zh"]), cid


def test_a_policy_with_only_english_falls_back_to_english(tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "T-1.yaml").write_text(
        "apiVersion: govcloud/v1\nkind: Policy\nmetadata: {id: T-1}\nspec:\n"
        "  title: Every request names a purpose\n  severity: low\n"
        "  applies_to: [ResourceRequest]\n  require: {required: [nothing]}\n"
        "  message: No purpose\n", encoding="utf-8")
    policy = load_policies(folder).get("T-1")
    assert policy is not None and policy.title_zh == "" and policy.message_zh == ""


# ---------------------------------------------------------------- the machinery


def test_language_comes_from_the_environment_as_gettext_reads_it():
    assert language_from_env({}) == "en"
    assert language_from_env({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert language_from_env({"LANG": "en_US.UTF-8"}) == "en"
    assert language_from_env({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}) == "en"  # LC_ALL first
    assert language_from_env({"LANG": "C", "LC_MESSAGES": "zh_CN.GB18030"}) == "zh"
    assert language_from_env({"LANG": "C", "LANGUAGE": "zh_CN:en"}) == "zh"
    assert language_from_env({"LANG": "zh_CN.UTF-8", "LANGUAGE": "en"}) == "en"
    assert [normalize(v) for v in ("zh", "zh-CN", "zh_CN.UTF-8", "en", "C")] == [
        "zh", "zh", "zh", "en", "en"]
    with pytest.raises(ValueError):
        normalize("fr")


def test_set_language_switches_every_message():
    assert _("interrupted") == "interrupted"
    set_language("zh")
    assert _("interrupted") == "已中断"
    set_language("en")
    assert _("interrupted") == "interrupted"


def test_no_module_rebinds_the_gettext_function():
    """``kind, _, rest = x.partition("/")`` in a module that imports ``_`` turns every later
    ``_("...")`` of that function into a call of a string."""
    offenders = []
    for path in sorted((ROOT / "govcloud").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports = any(isinstance(n, ast.ImportFrom) and n.module == "govcloud.i18n"
                      and any(a.name == "_" for a in n.names) for n in ast.walk(tree))
        if not imports:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders


# ---------------------------------------------------------------- validation errors by keyword


def test_validation_errors_are_said_in_chinese_by_keyword_with_path_and_value(tmp_path):
    bad = REQUEST.replace("tenant: health-epi", "tenant: health-epi\n  colour: blue")
    bad = bad.replace("department: prov-health", "department: prov-health\n  lease_until: soon")
    path = write(tmp_path, "req.yaml", BASE + "\n---\n" + bad)
    set_language("zh")
    errors = {e.path: e.message for e in load([path]).all_errors}
    assert "未知字段 'colour'" in errors["/spec/colour"]
    assert "'soon' 不是日期；请写成 YYYY-MM-DD" in errors["/spec/lease_until"]
    assert not any("unknown field" in m or "not a date" in m for m in errors.values())


# ---------------------------------------------------------------- the commands under LANG=zh_CN


REQUESTS = ROOT / "examples" / "requests"
SEC001_EN = "A volume of an MLPS level 3+ system is not encrypted"


def test_validate_prints_chinese_errors_and_summary(tmp_path):
    bad = REQUEST.replace("tenant: health-epi", "tenant: health-epi\n  colour: blue")
    path = write(tmp_path, "req.yaml", bad)
    result = runner.invoke(app, ["validate", "--format", "table", str(path)], env=ZH)
    assert result.exit_code == 1, result.output
    assert "错误：" in result.output and "未知字段 'colour'" in result.output
    assert "个错误" in result.output
    assert "unknown field" not in result.output and "error(s)" not in result.output


def test_check_prints_chinese_findings_with_canonical_ids():
    result = runner.invoke(app, ["check", "--format", "json", "--scope", "requests",
                                 str(REQUESTS / "bad-unencrypted-volume-mlps3.yaml")], env=ZH)
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    finding = next(f for f in doc["findings"] if f["policy"] == "GC-SEC-001")
    assert finding["message"] == "等保三级及以上系统的云硬盘未加密"
    assert finding["title"] == "等保三级及以上系统的云硬盘必须加密"
    assert "encrypted: true" in finding["remediation"] and CJK.search(finding["remediation"])
    assert finding["severity"] == "high" and finding["path"].startswith("/spec/volumes/")
    assert SEC001_EN not in result.output
    assert "个文档" in result.output  # the summary on stderr


def test_lang_option_overrides_the_locale_both_ways():
    path = str(REQUESTS / "bad-unencrypted-volume-mlps3.yaml")
    english = runner.invoke(app, ["--lang", "en", "check", "-o", "json", "--scope", "requests",
                                  path], env=ZH)
    assert SEC001_EN in english.stdout and "云硬盘未加密" not in english.stdout
    chinese = runner.invoke(app, ["--lang", "zh", "check", "-o", "json", "--scope", "requests",
                                  path])
    assert "云硬盘未加密" in chinese.stdout and SEC001_EN not in chinese.stdout
    wrong = runner.invoke(app, ["--lang", "fr", "check", path])
    assert wrong.exit_code == 2


def test_check_sarif_and_junit_carry_chinese_text_and_canonical_ids():
    path = str(REQUESTS / "bad-unencrypted-volume-mlps3.yaml")
    sarif = runner.invoke(app, ["check", "-o", "sarif", "--scope", "requests", path], env=ZH)
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    hit = next(r for r in results if r["ruleId"] == "GC-SEC-001")
    assert "云硬盘未加密" in hit["message"]["text"] and hit["level"] == "error"
    junit = runner.invoke(app, ["check", "-o", "junit", "--scope", "requests", path], env=ZH)
    assert "云硬盘未加密" in junit.stdout and SEC001_EN not in junit.stdout


def test_consolidation_prints_chinese_findings():
    result = runner.invoke(app, ["consolidation", "--format", "json"], env=ZH)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    sources = [f for f in doc["findings"] if f["policy"] == "GC-CON-006"]
    assert sources and all("个权威来源" in f["message"] for f in sources)
    assert sources[0]["title"] == "一数多源"
    assert "authoritative sources" not in result.stdout
    assert "集约化：" in result.output


def test_harden_prints_chinese_findings(tmp_path, monkeypatch):
    from tests.unit.test_hardening_cli import fake_run

    monkeypatch.setattr("govcloud.hardening.run_baseline", fake_run(True, {}))
    inv = tmp_path / "hosts.yml"
    inv.write_text("all: {hosts: {web-1: {}}}\n")
    result = runner.invoke(app, ["harden", "--check", "-i", str(inv), "-o", "json"], env=ZH)
    assert result.exit_code == 1, result.output
    finding = json.loads(result.stdout)["findings"][0]
    assert finding["policy"] == "MLPS3-AC-02" and finding["title"] == "禁止 root 远程登录"
    assert finding["message"].startswith("不符合：")
    assert "PermitRootLogin no" in finding["remediation"] and "不带 --check" in finding[
        "remediation"]
    assert "non-compliant" not in finding["message"] and "加固：" in result.output


def test_audit_prints_chinese_findings(tmp_path, monkeypatch):
    import shutil

    monkeypatch.delenv("OS_CLOUD", raising=False)
    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "policies" / "fixtures" / "_base", inv / "_base")
    (inv / "net").mkdir()
    shutil.copy(ROOT / "policies" / "fixtures" / "GC-NET-001" / "fail.yaml", inv / "net")
    result = runner.invoke(app, ["audit", str(inv), "--inventory", str(inv), "-o", "json"],
                           env=ZH)
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    finding = next(f for f in doc["findings"] if f["policy"] == "GC-NET-001")
    assert finding["title"] == "安全组不得向互联网开放管理端口和数据库端口"
    assert finding["message"].startswith("入站规则向互联网开放了管理端口或数据库端口")
    assert "规则" in finding["evidence"] and "来源" in finding["evidence"]
    assert "opens a management or database port" not in result.stdout
    assert "审计：" in result.output
