"""`govcloud new request`: a commented request that validates and passes the scoped check for
every department and platform of the demo inventory, in both languages; the request form's
fields (filing number, contact, lease end) and the inputs that try to slip past their checks."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from govcloud.check import run_check
from govcloud.cli.app import app
from govcloud.documents import Catalog, Document
from govcloud.errors import InputError
from govcloud.loader import load_text
from govcloud.policy import load_policies
from govcloud.providers import builtin_providers
from govcloud.requests_template import (
    TEXTS,
    RequestForm,
    close_matches,
    functions,
    new_request,
    reader_language,
)
from govcloud.validate import load
from tests.unit.helpers import BASE, INVENTORY, write, yaml_doc

TODAY = dt.date(2026, 12, 1)
runner = CliRunner()


@pytest.fixture(scope="module")
def inventory():
    return load((), inventory=INVENTORY).catalog


@pytest.fixture(scope="module")
def policies():
    return load_policies(None)


def _scoped_check(paths, policies):
    validated = load(paths, inventory=INVENTORY)
    report = run_check(validated, policies, today=TODAY, providers=builtin_providers(),
                       scope="requests")
    return validated, report


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("platform", ["gov-internal-cloud", "gov-external-cloud",
                                      "public-service-cloud"])
def test_every_department_gets_a_valid_request_that_passes_the_check(
        tmp_path, inventory, policies, platform, lang):
    """One request per department of the demo inventory (62) on this platform: all validate
    and none has a finding at or above high (in fact none at all)."""
    departments = inventory.of_kind("Department")
    assert len(departments) > 50
    files = []
    for dept in departments:
        path = tmp_path / f"{dept.id}.yaml"
        path.write_text(new_request(inventory, RequestForm(dept.id, platform, lang=lang), TODAY),
                        encoding="utf-8")
        files.append(path)
    validated, report = _scoped_check(files, policies)
    assert validated.all_errors == ()
    assert len(validated.requests()) == len(departments)
    assert [(f.policy, f.target) for f in report.findings] == []
    assert not report.blocking("high")


def test_department_with_a_room_and_used_functions(inventory):
    """prov-hrss runs approval systems and an independent room: the request picks a function it
    does not run (no GC-CON-007) and lists the room in replaces (no GC-CON-008)."""
    text = new_request(inventory, RequestForm("prov-hrss", "gov-external-cloud"), TODAY)
    body = load_text(text, "x.yaml").documents[0].body
    used = {s.spec["function"] for s in inventory.of_kind("System")
            if s.spec["department"] == "prov-hrss"}
    assert "approval" in used
    assert body["spec"]["system"]["function"] not in used
    assert body["spec"]["replaces"] == ["prov-hrss-room"]


def test_values_follow_the_platform(inventory):
    internet = load_text(new_request(inventory, RequestForm("cnty-an-civil",
                                                            "public-service-cloud"), TODAY),
                         "x.yaml").documents[0].body["spec"]
    internal = load_text(new_request(inventory, RequestForm("cnty-an-civil",
                                                            "gov-internal-cloud"), TODAY),
                         "x.yaml").documents[0].body["spec"]
    assert internet["system"]["network_zone"] == "internet"
    assert internet["system"]["classification"] == "public"
    assert internal["system"]["network_zone"] == "gov-internal"
    assert internal["system"]["classification"] == "internal"
    # gov-internal: no rule open to the world; SSH never opened by the template
    rules = [r for g in internal["security_groups"] for r in g["rules"]]
    assert all(r["remote"] != "0.0.0.0/0" for r in rules)
    assert all(r.get("port") != 22 for g in internet["security_groups"] for r in g["rules"])
    assert internet["lease_until"] == "2027-12-01"
    assert all(v["encrypted"] for v in internet["volumes"])
    origins = {c.id: c.spec["origin"] for c in inventory.of_kind("Component")}
    assert all(origins[c] == "domestic" for s in internet["servers"]
               for c in s["components"].values())


def test_level_3_gets_two_servers_and_passes(tmp_path, inventory, policies):
    form = RequestForm("prov-health", "gov-external-cloud", mlps_level=3,
                       contact_name="张伟", contact_phone="13812345678",
                       contact_email="zhang.wei@health.lj.gov.cn",
                       filing_number="39000099001-24003")
    path = write(tmp_path, "r.yaml", new_request(inventory, form, TODAY))
    validated, report = _scoped_check([path], policies)
    assert validated.all_errors == ()
    spec = validated.requests()[0].spec
    assert spec["servers"][0]["count"] == 2
    assert spec["system"]["filing_number"] == "39000099001-24003"
    assert spec["contact"] == {"name": "张伟", "phone": "13812345678",
                               "email": "zhang.wei@health.lj.gov.cn"}
    assert report.findings == ()


def test_nothing_is_invented_for_the_contact_or_the_filing_number(inventory):
    text = new_request(inventory, RequestForm("cnty-an-civil", "gov-external-cloud"), TODAY)
    spec = load_text(text, "x.yaml").documents[0].body["spec"]
    assert "contact" not in spec and "filing_number" not in spec["system"]
    assert "# contact:" in text and "# filing_number:" in text


def test_comments_in_the_readers_language(inventory):
    zh = new_request(inventory, RequestForm("cnty-an-civil", "gov-external-cloud", lang="zh"),
                     TODAY)
    en = new_request(inventory, RequestForm("cnty-an-civil", "gov-external-cloud", lang="en"),
                     TODAY)
    assert "等保定级" in zh and "申请单位" in zh and "安平县民政局" in zh
    assert "requesting department" in en and "申请单位" not in en
    # the same request either way
    assert (load_text(zh, "a.yaml").documents[0].body["spec"]["system"]
            == load_text(en, "b.yaml").documents[0].body["spec"]["system"])


def test_values_given_cannot_break_out_of_their_field(inventory):
    """A contact name with a line break, a colon and a '#' stays one string in its field."""
    name = "张伟\nspec: {}  # 注释"
    text = new_request(inventory, RequestForm("prov-health", "gov-external-cloud",
                                              contact_name=name), TODAY)
    loaded = load_text(text, "x.yaml")
    assert not loaded.errors and len(loaded.documents) == 1
    assert loaded.documents[0].body["spec"]["contact"] == {"name": name}


def test_every_template_text_has_both_languages():
    for key, texts in TEXTS.items():
        assert set(texts) == {"en", "zh"}, key
        assert all(t.strip() for t in texts.values()), key


@pytest.mark.parametrize(("option", "environ", "expected"), [
    (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
    (None, {"LANG": "en_US.UTF-8"}, "en"),
    (None, {}, "en"),
    (None, {"LANG": "zh_CN.UTF-8", "LC_ALL": "C.UTF-8"}, "en"),  # LC_ALL wins, as in POSIX
    (None, {"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_TW.UTF-8"}, "zh"),
    ("en", {"LANG": "zh_CN.UTF-8"}, "en"),
])
def test_reader_language(option, environ, expected):
    assert reader_language(option, environ) == expected


def test_unknown_department_lists_close_matches(inventory):
    with pytest.raises(InputError) as err:
        new_request(inventory, RequestForm("prov-helth", "gov-external-cloud"), TODAY)
    assert "prov-health" in str(err.value)
    # by its Chinese name too
    assert "cnty-an-civil" in close_matches("安平县民政", inventory.of_kind("Department"),
                                            "name", "name_zh")


def test_cli_writes_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "req.yaml"
    args = ["new", "request", "--department", "cnty-an-civil", "--platform",
            "gov-external-cloud", "--output", str(out)]
    zh_locale = {"LANG": "zh_CN.UTF-8", "LC_ALL": None, "LC_MESSAGES": None}
    first = runner.invoke(app, args, env=zh_locale)
    assert first.exit_code == 0, first.output
    assert "申请单位" in out.read_text(encoding="utf-8")
    out.write_text("mine\n", encoding="utf-8")
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "exists" in again.output and "--force" in again.output
    assert out.read_text(encoding="utf-8") == "mine\n"
    forced = runner.invoke(app, [*args, "--force", "--lang", "en"], env=zh_locale)
    assert forced.exit_code == 0, forced.output
    assert "requesting department" in out.read_text(encoding="utf-8")
    checked = runner.invoke(app, ["check", str(out), "-o", "json", "--scope", "requests"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["findings"] == []


@pytest.mark.parametrize(("args", "words"), [
    (["--department", "prov-helth", "--platform", "gov-external-cloud"],
     ["--department 'prov-helth'", "prov-health"]),
    (["--department", "prov-health", "--platform", "gov-extrnal-cloud"],
     ["--platform 'gov-extrnal-cloud'", "gov-external-cloud"]),
    (["--department", "prov-health", "--platform", "gov-external-cloud", "--mlps-level", "4"],
     ["certified up to level 3"]),
    (["--department", "prov-health", "--platform", "gov-external-cloud", "--tenant", "a/b"],
     ["not a valid project name"]),
    (["--department", "prov-health", "--platform", "gov-external-cloud", "--function", "portl"],
     ["function vocabulary", "portal"]),
    (["--department", "prov-health", "--platform", "gov-external-cloud", "--contact-name", "x",
      "--contact-phone", "１３８１２３４５６７８"], ["--contact-phone"]),
    (["--department", "prov-health", "--platform", "gov-external-cloud",
      "--filing-number", "3900009900124003"], ["--filing-number"]),
    (["--department", "prov-health", "--platform", "gov-external-cloud", "--lang", "fr"],
     ["--lang 'fr'"]),
])
def test_cli_input_errors_exit_2(args, words):
    result = runner.invoke(app, ["new", "request", *args])
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- the form's fields


FORM_REQUEST = yaml_doc("ResourceRequest", "REQ-1", """
  department: prov-health
  platform: gov-external-cloud
  tenant: health-epi
%(spec_extra)s  purpose: Epidemic reporting
  system:
    name: epi
    function: approval
    mlps_level: 3
    classification: internal
    network_zone: gov-external
%(system_extra)s""")


def _request(tmp_path, system_extra="", spec_extra=""):
    text = FORM_REQUEST % {"system_extra": system_extra, "spec_extra": spec_extra}
    write(tmp_path, "base.yaml", BASE)
    req = write(tmp_path, "req.yaml", text)
    return load([req], inventory=tmp_path / "base.yaml")


def _messages(validated):
    return [f"{e.path}: {e.message}" for e in validated.all_errors]


def test_form_fields_accepted(tmp_path):
    validated = _request(
        tmp_path, '    filing_number: "39010099999-26001"\n',
        '  contact: {name: 张伟, phone: "0391-88886666-123", email: z@x.gov.cn}\n'
        '  lease_until: "2027-06-30"\n')
    assert _messages(validated) == []
    # unquoted, YAML still reads a string (the hyphen keeps it from being a number)
    assert _messages(_request(tmp_path, "    filing_number: 39010099999-26001\n")) == []


@pytest.mark.parametrize(("system_extra", "spec_extra", "path", "words"), [
    # filing numbers that look right to a person
    ('    filing_number: "3901009999926001"\n', "", "/spec/system/filing_number",
     "等保备案证明编号"),
    ('    filing_number: "39010099999—26001"\n', "", "/spec/system/filing_number",  # em dash
     "等保备案证明编号"),
    ('    filing_number: "３９０１００９９９９９-２６００１"\n', "", "/spec/system/filing_number",
     "等保备案证明编号"),  # full-width digits
    ('    filing_number: "39010099999-26001 "\n', "", "/spec/system/filing_number",
     "等保备案证明编号"),
    ("    filing_number: |\n      39010099999-26001\n", "", "/spec/system/filing_number",
     "等保备案证明编号"),  # a final newline: patterns match the whole string (validate.py)
    # contact and lease
    ("", '  contact: {phone: "13812345678"}\n', "/spec/contact", "missing required field"),
    ("", '  contact: {name: 张伟, phone: "138-1234-5678"}\n', "/spec/contact/phone",
     "phone number"),
    ("", '  contact: {name: 张伟, phone: "1381234567"}\n', "/spec/contact/phone",
     "phone number"),
    ("", '  contact: {name: 张伟, phone: "13812345678\\n"}\n', "/spec/contact/phone",
     "phone number"),
    ("", '  lease_until: "2027-02-30"\n', "/spec/lease_until", "not a date that exists"),
    ("", "  lease_until: 2027-06-30 12:00\n", "/spec/lease_until", "not a date"),
    ("", '  lease_until: "30/06/2027"\n', "/spec/lease_until", "not a date"),
])
def test_form_fields_refused(tmp_path, system_extra, spec_extra, path, words):
    messages = _messages(_request(tmp_path, system_extra, spec_extra))
    assert any(m.startswith(path + ":") and words in m for m in messages), messages


def test_level_1_system_has_no_filing_number(tmp_path):
    validated = _request(tmp_path, '    filing_number: "39010099999-26001"\n')
    assert _messages(validated) == []
    text = (tmp_path / "req.yaml").read_text(encoding="utf-8").replace("mlps_level: 3",
                                                                        "mlps_level: 1")
    assert "mlps_level: 1" in text
    req = write(tmp_path, "req.yaml", text)
    messages = _messages(load([req], inventory=tmp_path / "base.yaml"))
    assert any("level-1 system is not filed" in m for m in messages), messages


def test_scoped_check_names_a_missing_path(tmp_path):
    """A department's hook or CI job given a path that is not there: exit 2 and the reason,
    not an empty report (--scope requests keeps input errors whatever their file)."""
    missing = tmp_path / "requests" / "gone.yaml"
    result = runner.invoke(app, ["check", str(missing), "-o", "json", "--scope", "requests"])
    assert result.exit_code == 2
    errors = json.loads(result.stdout)["errors"]
    assert [e["file"] for e in errors] == [str(missing)]
    assert "no such file" in errors[0]["message"]


def _doc(kind, id_, spec):
    body = {"apiVersion": "govcloud/v1", "kind": kind, "metadata": {"id": id_}, "spec": spec}
    return Document(kind, id_, body, "inventory.yaml", 1)


def test_function_vocabulary_from_function_documents(inventory):
    """With Function documents (a controlled vocabulary), the choice comes from them: never one
    built once by the province, never one the department runs under another spelling."""
    docs = [d for d in inventory.documents if d.kind not in ("System", "Function")]
    docs += [
        _doc("Function", "approval", {"name": "Approval", "synonyms": ["审批"]}),
        _doc("Function", "registry", {"name": "Registry"}),
        _doc("Function", "government-services",
             {"name": "One-stop services", "built_once_at": "province"}),
        _doc("System", "s1", {"department": "prov-health", "function": " 审批 "}),
    ]
    catalog = Catalog(docs)
    assert functions(catalog) == ["approval", "registry"]
    text = new_request(catalog, RequestForm("prov-health", "gov-external-cloud"), TODAY)
    assert load_text(text, "x.yaml").documents[0].body["spec"]["system"]["function"] == "registry"
