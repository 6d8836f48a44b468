"""Consolidation over the hierarchy, the function vocabulary, the catalog's server models and the
classified-platform rules (issue 12, parts 7-9), on small catalogs and on the demo inventory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from govcloud.check import run_check
from govcloud.consolidation import rules
from govcloud.consolidation.index import index_of
from govcloud.policy import load_policies
from govcloud.providers import builtin_providers
from govcloud.resolve import resolve
from govcloud.validate import load
from govcloud.vocabulary import normalise, vocabulary_of
from tests.unit.helpers import load_texts, request_doc, system_doc, yaml_doc, yaml_docs

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "inventory"
POLICIES = load_policies(ROOT / "policies")
TODAY = dt.date(2026, 11, 25)


def department(did: str, name: str, level: str, region: str, more: str = ""
               ) -> tuple[str, str, str]:
    return ("Department", did, f'{{name: {name}, level: {level}, region: "{region}"{more}}}')


TREE = yaml_docs(
    ("Platform", "ext-cloud", "{cloud: ext, zone: gov-external, mlps_level: 3, location: CN}"),
    department("prov-gov", "P gov", "province", "390000", ", government: true"),
    department("prov-edu", "P edu", "province", "390000"),
    department("pref-gov", "C gov", "prefecture", "390100", ", parent: prov-gov, government: true"),
    department("pref-edu", "C edu", "prefecture", "390100", ", parent: prov-edu"),
    department("cnty-edu", "K edu", "county", "390121", ", parent: pref-edu"),
    department("cnty-civil", "K civil", "county", "390121"),
    ("Function", "portal",
     "{name: Government website, name_zh: 政府网站, synonyms: [website, 门户网站]}"),
    ("Function", "office-automation",
     "{name: Office automation, name_zh: 办公自动化, synonyms: [OA]}"),
    ("Function", "approval", "{name: Administrative approval}"),
)


def room(rid: str, dept: str) -> str:
    return yaml_doc("MachineRoom", rid,
                    f"{{department: {dept}, kind: independent, site: S, status: active}}")


system, request = system_doc, request_doc


def findings(validated, rule_id: str, options=None):
    (rule,) = [r for r in rules() if r.id == rule_id]
    return rule.evaluate(validated.catalog, options)


# ------------------------------------------------------------------ vocabulary


@pytest.mark.parametrize("spelling", ["office-automation", " Office_Automation ",
                                      "OFFICE AUTOMATION", "office—automation", "ＯＡ", "oa",
                                      "办公自动化"])
def test_every_spelling_of_a_function_means_the_same_function(tmp_path, spelling):
    validated = load_texts(tmp_path, base=TREE)
    assert vocabulary_of(validated.catalog).canonical(spelling) == "office-automation"


def test_normalise_folds_case_width_and_separators():
    assert normalise("  Data__Exchange -- Platform ") == "data-exchange-platform"
    assert normalise("ＤＡＴＡ　exchange") == "data-exchange"


def test_free_text_function_is_refused_at_validation(tmp_path):
    validated = load_texts(tmp_path, base=TREE, docs=request("REQ-1", "pref-edu", "smart-oa-v2")
                           + system("s1", "pref-edu", "approvals-system"))
    messages = [e.message for e in validated.errors]
    assert any("'smart-oa-v2' is not in the function vocabulary" in m for m in messages)
    assert any("'approvals-system' is not in the function vocabulary" in m for m in messages)
    assert validated.catalog.get("ResourceRequest", "REQ-1") is None
    error = next(e for e in validated.errors if "smart-oa-v2" in e.message)
    assert error.path == "/spec/system/function" and error.line > 1
    assert "inventory/functions.yaml" in error.message  # says who owns the vocabulary


def test_without_a_vocabulary_functions_are_compared_after_normalisation(tmp_path):
    base = TREE.split("---\napiVersion: govcloud/v1\nkind: Function")[0]
    validated = load_texts(tmp_path, base=base, docs=system("s1", "pref-edu", "Office_Automation")
                           + request("REQ-1", "pref-edu", "office automation"))
    assert not validated.all_errors
    assert findings(validated, "GC-CON-007")  # same function, spelled differently


def test_a_spelling_may_mean_one_function_only(tmp_path):
    clash = yaml_doc("Function", "approval-online", "{name: Online approval, synonyms: [OA]}")
    validated = load_texts(tmp_path, base=TREE, docs=clash)
    assert any("'OA' also names function(s) office-automation" in e.message
               for e in validated.errors)


def test_renamed_function_does_not_evade_the_duplicate_system_rules(tmp_path):
    docs = (system("oa-1", "pref-edu", "office-automation") + system("oa-2", "pref-edu", "OA")
            + request("REQ-1", "pref-edu", "办公自动化"))
    validated = load_texts(tmp_path, base=TREE, docs=docs)
    assert not validated.all_errors
    assert [f.target for f in findings(validated, "GC-CON-003")] == ["System/oa-2"]
    (dup,) = findings(validated, "GC-CON-007")
    assert "oa-1, oa-2" in dup.message


# ------------------------------------------------------------------ portals and the tree


def test_county_department_portal_flagged_with_where_to_publish(tmp_path):
    docs = (system("pref-gov-portal", "pref-gov", "portal") + system("pref-edu-web", "pref-edu",
            "website") + system("prov-edu-portal", "prov-edu", "门户网站"))
    validated = load_texts(tmp_path, base=TREE, docs=docs)
    hits = findings(validated, "GC-CON-004")
    assert [f.target for f in hits] == ["System/pref-edu-web"]  # governments and province: fine
    assert "pref-gov's portal pref-gov-portal" in hits[0].message


def test_new_county_portal_flagged_when_the_prefecture_runs_one(tmp_path):
    docs = system("pref-edu-portal", "pref-edu", "portal") + request("REQ-1", "cnty-edu", "Website")
    validated = load_texts(tmp_path, base=TREE, docs=docs)
    (hit,) = findings(validated, "GC-CON-009")
    assert "pref-edu-portal (pref-edu)" in hit.message and hit.path == "/spec/system/function"
    # Even where a province allows department sites at every level, the supervising
    # department's portal still flags the new one.
    every_level = {"department_portals_at": ["province", "prefecture", "county"]}
    (again,) = findings(validated, "GC-CON-009", every_level)
    assert "supervising department" in again.message
    # ... and a county department with no portal above it is then left alone.
    alone = load_texts(tmp_path / "alone", base=TREE, docs=request("REQ-2", "cnty-civil", "portal"))
    assert findings(alone, "GC-CON-009", every_level) == []
    assert findings(alone, "GC-CON-009")  # but not by default: county departments have none


def test_governments_may_request_their_portal(tmp_path):
    docs = system("prov-gov-portal", "prov-gov", "portal") + request("REQ-1", "pref-gov", "portal")
    validated = load_texts(tmp_path, base=TREE, docs=docs)
    assert findings(validated, "GC-CON-009") == []


def test_parent_must_be_a_higher_level_so_the_tree_has_no_cycle(tmp_path):
    bad = yaml_docs(
        ("Department", "cnty-x", '{name: X, level: county, region: "390121", parent: cnty-y}'),
        ("Department", "cnty-y", '{name: Y, level: county, region: "390121", parent: cnty-x}'),
    )
    validated = load_texts(tmp_path, base=TREE, docs=bad)
    assert sum("is a county department" in e.message for e in validated.errors) == 2
    assert index_of(validated.catalog).ancestors("cnty-edu") == ["pref-edu", "prov-edu"]


# ------------------------------------------------------------------ replaces


def test_replacing_another_departments_room_silences_nothing(tmp_path):
    docs = (room("edu-room", "pref-edu") + system("a1", "pref-edu", "approval", "edu-room")
            + system("a2", "pref-edu", "approval")
            + request("REQ-1", "cnty-civil", "approval", "[edu-room, a1]"))
    validated = load_texts(tmp_path, base=TREE, docs=docs)
    assert not validated.all_errors
    assert [f.path for f in findings(validated, "GC-CON-010")] == ["/spec/replaces/0",
                                                                   "/spec/replaces/1"]
    # pref-edu's duplicate approval systems are still reported, the room is not "replaced".
    assert [f.target for f in findings(validated, "GC-CON-003")] == ["System/a2"]
    assert index_of(validated.catalog).replaced_by == {}
    # pref-edu's own request replacing them silences both.
    own = load_texts(tmp_path / "own", base=TREE, docs=docs.replace("cnty-civil", "pref-edu"))
    assert findings(own, "GC-CON-010") == [] and findings(own, "GC-CON-003") == []
    assert findings(own, "GC-CON-008") == []


# ------------------------------------------------------------------ 统建


def test_function_built_once_by_the_province_is_flagged_below_it(tmp_path):
    once = yaml_doc("Function", "social-insurance",
                    "{name: Social insurance, synonyms: [社保], built_once_at: province}")
    docs = once + request("REQ-1", "cnty-civil", "社保") + request("REQ-2", "prov-edu",
                                                                  "social-insurance")
    validated = load_texts(tmp_path, base=TREE, docs=docs)
    hits = findings(validated, "GC-CON-011")
    assert [f.target for f in hits] == ["ResourceRequest/REQ-1"]
    assert "built once at province level" in hits[0].message


# ------------------------------------------------------------------ catalog: server models


def _component(cid: str, category: str, origin: str, extra: str = "") -> str:
    return yaml_doc("Component", cid,
                    f"{{category: {category}, vendor: V, product: P, origin: {origin}{extra}}}")


@pytest.mark.parametrize(("origin", "cpu", "error"), [
    ("domestic", "xeon", "a server is domestic only if its CPU is"),
    ("domestic", None, "records the CPU it carries"),
    ("domestic", "kylin", "'kylin' is a os, not a cpu"),
    ("foreign", "xeon", None),
    ("domestic", "kunpeng", None),
])
def test_server_models_record_their_cpu(tmp_path, origin, cpu, error):
    docs = (_component("xeon", "cpu", "foreign") + _component("kunpeng", "cpu", "domestic")
            + _component("kylin", "os", "domestic")
            + _component("box", "server", origin, f", cpu: {cpu}" if cpu else ""))
    validated = load_texts(tmp_path, base=TREE, docs=docs)
    messages = [e.message for e in validated.errors]
    if error is None:
        assert messages == []
    else:
        assert any(error in m for m in messages), messages
        assert validated.catalog.get("Component", "box") is None


def test_only_server_models_carry_a_cpu(tmp_path):
    docs = _component("xeon", "cpu", "foreign") + _component("disk", "storage", "domestic",
                                                             ", cpu: xeon")
    validated = load_texts(tmp_path, base=TREE, docs=docs)
    assert any("only server models carry a cpu" in e.message for e in validated.errors)


# ------------------------------------------------------------------ the demo inventory


@pytest.fixture(scope="module")
def demo():
    validated = load([INVENTORY], inventory=INVENTORY)
    assert not validated.all_errors, [str(e) for e in validated.all_errors]
    return validated, run_check(validated, POLICIES, today=TODAY, providers=builtin_providers())


def test_demo_catalog_knows_its_server_cpus_and_sunway(demo):
    validated, _ = demo
    catalog = validated.catalog
    nf5280 = catalog.get("Component", "inspur-nf5280m6")
    assert nf5280.spec["origin"] == "foreign" and nf5280.spec["cpu"] == "intel-xeon-gold-6330"
    assert catalog.get("Component", "sunway-sw3231").spec["origin"] == "domestic"
    storage = {d.spec["origin"] for d in catalog.of_kind("Component")
               if d.spec["category"] == "storage"}
    assert storage == {"domestic", "foreign"}


def test_running_systems_are_checked_like_requests(demo):
    _, report = demo
    on = {(f.policy, f.target) for f in report.findings}
    for policy in ("GC-DOM-001", "GC-DOM-002", "GC-DOM-003"):  # Intel + Windows + SQL Server
        assert (policy, "System/prov-hrss-approval-legacy") in on
    assert ("GC-DOM-005", "System/prov-hrss-social-insurance") in on  # EMC storage
    assert ("GC-DOM-006", "System/prov-hrss-social-insurance") in on  # IBM Power server
    assert not any(f.target == "System/prov-data-exchange" and f.policy.startswith("GC-DOM")
                   for f in report.findings)  # Sugon/Hygon + OceanStor: domestic


def test_demo_internal_platform_sharing_devcloud_is_critical_and_says_why(demo):
    validated, report = demo
    (hit,) = [f for f in report.findings if f.policy == "GC-CLS-004"]
    assert hit.target == "Platform/gov-internal-cloud" and hit.severity == "critical"
    assert "not physically isolated" in hit.message and not hit.waived
    platform = validated.catalog.get("Platform", "gov-internal-cloud")
    shared = resolve(platform, validated.catalog)["spec"]["shares_cloud_with"]
    assert shared == {"gov-external-cloud": "gov-external", "public-service-cloud": "internet"}
    assert "gov-external-cloud" in hit.path + hit.evidence  # names the platform it shares with
    assert "FLAGGED ON PURPOSE" in (INVENTORY / "platforms.yaml").read_text(encoding="utf-8")


def test_demo_portal_findings_follow_the_national_rule(demo):
    _, report = demo
    flagged = {f.target for f in report.findings if f.policy == "GC-CON-004"}
    assert "System/cnty-an-edu-portal" in flagged and "System/pref-lin-edu-portal" in flagged
    assert not {"System/cnty-an-gov-portal", "System/pref-lin-gov-portal",
                "System/prov-edu-portal"} & flagged


# ------------------------------------------------------------------ clauses


def test_classified_policies_cite_classified_protection_not_mlps():
    for policy in POLICIES.policies:
        if policy.id.startswith("GC-CLS-"):
            refs = " ".join(policy.references)
            assert "22239" not in refs, policy.id  # GB/T 22239 excludes 涉密 systems
            assert "BMB17" in refs or "BMB20" in refs, policy.id
            assert not policy.waivable, policy.id


def test_level_above_platform_remediation_never_sends_a_system_to_the_internal_network():
    policy = POLICIES.get("GC-MLPS-001")
    assert policy is not None
    text = policy.remediation
    assert "gov-internal-cloud" not in text
    assert "定级" in text and "certif" in text
    assert "does not move to the internal" in text


def test_accreditation_levels_are_ordered(tmp_path):
    base = """
apiVersion: govcloud/v1
kind: Department
metadata: {id: d}
spec: {name: D, level: province, region: "390000"}
"""
    platforms = "".join(f"""
---
apiVersion: govcloud/v1
kind: Platform
metadata: {{id: p-{acc or 'none'}}}
spec: {{cloud: c-{acc or 'none'}, zone: gov-internal, mlps_level: 4, location: CN{
        f', accredited_for: {acc}' if acc else ''}}}
""" for acc in ("secret", "confidential", "top-secret", None))
    requests = "".join(f"""
---
apiVersion: govcloud/v1
kind: ResourceRequest
metadata: {{id: r-{cls}-{acc or 'none'}}}
spec:
  department: d
  platform: p-{acc or 'none'}
  tenant: t-{cls}-{acc or 'none'}
  purpose: p
  system: {{name: n, function: f, mlps_level: 3, classification: {cls}, network_zone: gov-internal}}
""" for cls in ("internal", "secret", "confidential", "top-secret")
        for acc in ("secret", "confidential", "top-secret", None))
    validated = load_texts(tmp_path, base=base, docs=platforms + requests)
    assert not validated.all_errors
    report = run_check(validated, POLICIES.only(["GC-CLS-003"]), today=TODAY, providers=())
    failing = {f.target.split("/")[1] for f in report.findings}
    rank = {"secret": 1, "confidential": 2, "top-secret": 3, None: 0}
    expected = {f"r-{cls}-{acc or 'none'}" for cls in ("secret", "confidential", "top-secret")
                for acc in ("secret", "confidential", "top-secret", None) if rank[acc] < rank[cls]}
    assert failing == expected


def test_classified_findings_have_their_own_control_family():
    from govcloud.audit.families import ORDER, control_family

    policy = POLICIES.get("GC-CLS-003")
    assert policy is not None
    assert control_family(policy.references, policy.id) == "classified" and "classified" in ORDER
    assert control_family(["GB/T 22239-2019 8.1.9.3"], "GC-DOM-001") == "construction"


def test_references_of_authority_data_must_resolve(tmp_path):
    docs = """
---
apiVersion: govcloud/v1
kind: Function
metadata: {id: credit}
spec: {name: Credit, built_once_at: province, provided_by: [no-such-system]}
---
apiVersion: govcloud/v1
kind: System
metadata: {id: s-internal}
spec: {department: prov-gov, name: s, function: approval, hosted_in: "cloud:t", platform: nope,
       mlps_level: 2, classification: internal, network_zone: gov-external}
""" + _component("box", "server", "foreign", ", cpu: no-such-cpu")
    validated = load_texts(tmp_path, base=TREE, docs=docs)
    by_path = {(e.path, e.message.split(":")[0]) for e in validated.errors}
    assert ("/spec/provided_by/0", "Function/credit") in by_path
    assert ("/spec/platform", "System/s-internal") in by_path
    assert ("/spec/cpu", "Component/box") in by_path
    assert all("does not exist" in e.message for e in validated.errors)
