"""The pure audit: cloud documents + requests + hardening results → one Report."""

import datetime as dt
import json
from pathlib import Path

from govcloud.audit.families import control_family
from govcloud.audit.run import NO_TENANT, merge, run_audit
from govcloud.cloud.live import CloudSnapshot
from govcloud.documents import Document
from govcloud.hardening import load_controls
from govcloud.policy import load_policies
from govcloud.providers import builtin_providers
from govcloud.validate import load

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "policies" / "fixtures"
POLICIES = load_policies(ROOT / "policies")
TODAY = dt.date(2026, 11, 25)
PROVIDERS = builtin_providers()
CLOUD_POLICIES = ("GC-NET-001", "GC-ENC-001", "GC-IMG-001", "GC-IMG-002", "GC-MGD-001",
                  "GC-MGD-002", "GC-CLS-002", "GC-ISO-001", "GC-QUOTA-001", "GC-SOD-001")


def live(*docs):
    """Documents as the live reader makes them: file cloud:<name>, line 0."""
    out = []
    for body in docs:
        out.append(Document(body["kind"], body["metadata"]["id"], body, "cloud:test", 0, {}))
    return CloudSnapshot("test", tuple(out), calls=12)


def doc(kind, doc_id, **spec):
    return {"apiVersion": "govcloud/v1", "kind": kind, "metadata": {"id": doc_id},
            "spec": {"cloud": "test", **spec}}


PROJECT = doc("CloudProject", "quota-fx", tenant="quota-fx", project_id="p1", name="quota-fx",
              request="REQ-QUOTA-FX", tenant_request="REQ-QUOTA-FX", mlps_level=3,
              classification="secret", quotas={"cores": 64, "instances": 4})
SG = doc("CloudSecurityGroup", "sg1", tenant="quota-fx", project_id="p1", mlps_level=3,
         name="web", group_id="sg1",
         rules=[{"rule_id": "r0", "direction": "ingress", "protocol": "tcp", "port_min": 443,
                 "port_max": 443, "remote": "0.0.0.0/0"},
                {"rule_id": "r1", "direction": "ingress", "protocol": "tcp", "port_min": 22,
                 "port_max": 22, "remote": "0.0.0.0/0"}])
REQUEST = """
apiVersion: govcloud/v1
kind: ResourceRequest
metadata: {id: REQ-QUOTA-FX}
spec:
  department: fx-prov-health
  platform: fx-internal-cloud
  tenant: quota-fx
  purpose: Audit test
  system: {name: q, function: approval, mlps_level: 3, classification: secret,
           network_zone: gov-internal}
  quotas: {cores: 16, instances: 4}
"""


def requests(tmp_path):
    (tmp_path / "req.yaml").write_text(REQUEST)
    return load([tmp_path / "req.yaml"], inventory=FIXTURES / "_base")


ROUTER = doc("CloudRouter", "rt1", tenant="quota-fx", project_id="p1", classification="secret",
             name="quota-fx-router", router_id="rt1", external_gateway=True)


def test_every_cloud_policy_fires_on_each_document_of_its_fail_fixture():
    """Stronger than the generic fixture test: every live-kind document in fail.yaml fires."""
    for policy_id in CLOUD_POLICIES:
        policy = POLICIES.get(policy_id)
        validated = load(inventory=[FIXTURES / "_base", FIXTURES / policy_id / "fail.yaml"])
        assert not validated.all_errors
        report = run_audit(validated, POLICIES.only([policy_id]), today=TODAY,
                           providers=PROVIDERS)
        fired = {f.target for f in report.findings if f.policy == policy_id}
        expected = {d.ref for d in validated.catalog.documents if d.kind in policy.applies_to}
        assert fired == expected, policy_id


def test_live_findings_name_the_resource_tenant_and_rule(tmp_path):
    snapshot = live(PROJECT, SG, ROUTER)
    report = run_audit(requests(tmp_path), POLICIES, today=TODAY, providers=PROVIDERS,
                       snapshot=snapshot)
    by_policy = {f.policy: f for f in report.findings}
    net = by_policy["GC-NET-001"]
    assert net.target == "CloudSecurityGroup/sg1" and net.path == "/spec/rules/1"
    assert net.file == "cloud:test" and net.line == 0
    assert net.evidence == ("security group 'web' of tenant 'quota-fx': rule r1: ingress tcp 22 "
                            "from 0.0.0.0/0")
    assert net.family == "computing"  # GB/T 22239-2019 8.1.4.4
    quota = by_policy["GC-QUOTA-001"]  # approved 16 cores in the request, 64 on the cloud
    assert "cores" in quota.evidence and "64" in quota.evidence and "16" in quota.evidence
    assert by_policy["GC-CLS-002"].severity == "critical"
    assert json.loads(json.dumps(report.to_json()))["version"] == 1


def test_tenants_and_families_sections(tmp_path):
    snapshot = live(PROJECT, SG, ROUTER)
    report = run_audit(requests(tmp_path), POLICIES, today=TODAY, providers=PROVIDERS,
                       snapshot=snapshot)
    tenant = report.sections["tenants"]["quota-fx"]
    assert tenant["request"] == "REQ-QUOTA-FX" and tenant["mlps_level"] == 3
    assert tenant["classification"] == "secret" and tenant["project_id"] == "p1"
    assert tenant["resources"] == {"CloudProject": 1, "CloudRouter": 1,
                                   "CloudSecurityGroup": 1, "ResourceRequest": 1}
    assert {"CloudSecurityGroup/sg1", "CloudRouter/rt1", "CloudProject/quota-fx"} <= set(
        tenant["targets"])
    assert tenant["findings"]["critical"] == 2  # SSH open to the world, classified gateway
    families = report.sections["families"]
    assert sum(v["critical"] for v in families.values()) == report.summary()["critical"]
    assert report.sections["audit"]["cloud"] == "test"
    assert report.sections["audit"]["api_calls"] == 12


def test_control_family_from_the_first_clause():
    assert control_family(["GB/T 22239-2019 8.1.4.4"]) == "computing"
    assert control_family(["GB/T 22239-2019 8.2.6.1"]) == "construction"  # cloud extension
    assert control_family(["GB/T 22239-2019 8.1.9.3"]) == "construction"
    assert control_family(["GB/T 22239-2019 8.1.7.1"]) == "organisation"
    assert control_family(["中华人民共和国保守国家秘密法", "GB/T 22239-2019 8.2.2.1"]) == "network"
    assert control_family(["国办发〔2017〕47号"], "GC-CON-001") == "consolidation"
    assert control_family([]) == "other"


def test_documents_alone_without_cloud_and_inventory_tenants():
    validated = load([ROOT / "inventory", ROOT / "examples" / "requests"],
                     inventory=ROOT / "inventory")
    report = run_audit(validated, POLICIES, today=TODAY, providers=PROVIDERS)
    assert report.sections["audit"]["cloud"] is None
    assert not any(f.target.startswith("Cloud") for f in report.findings)
    tenants = report.sections["tenants"]
    assert NO_TENANT in tenants  # machine rooms, departments, waivers...
    # A request's findings belong to its tenant.
    request_targets = [t for t in tenants if t != NO_TENANT
                       for target in tenants[t]["targets"] if target.startswith("Resource")]
    assert request_targets


def test_a_cloud_document_also_given_as_file_is_an_error():
    validated = load(inventory=FIXTURES / "GC-MGD-002" / "fail.yaml")
    copy = validated.catalog.documents[0]
    snapshot = CloudSnapshot("test", (Document(copy.kind, copy.id, copy.body, "cloud:test", 0),),
                             1)
    merged = merge(validated, snapshot)
    assert len(merged.errors) == 1 and "also read from cloud:test" in merged.errors[0].message


def test_latest_hardening_results_become_findings_and_errors():
    controls = load_controls()
    cid = "MLPS3-IA-01"
    latest = {"version": 1, "run_id": "r1", "mode": "audit", "finished": "2026-11-25T08:00:00",
              "hosts": {
                  "web-1": {"reachable": True, "controls": {
                      cid: {"status": "non-compliant", "message": "minlen 8",
                            "tasks": [{"task": f"{cid} | pwquality", "status": "non-compliant",
                                       "detail": "settings minlen"}]},
                      "MLPS3-IA-02": {"status": "compliant", "message": "", "tasks": []}},
                            "failures": [], "stats": {}},
                  "db-1": {"reachable": False, "unreachable": "ssh timeout", "controls": {},
                           "failures": [], "stats": {}}}}
    report = run_audit(None, POLICIES, today=TODAY, providers=PROVIDERS, hardening=latest,
                       controls=controls)
    assert [(f.policy, f.target) for f in report.findings] == [(cid, "Host/web-1")]
    assert report.findings[0].family == "computing"
    assert any("Host/db-1" in e.path and "unreachable" in e.message for e in report.errors)
    assert report.sections["audit"]["hardening_run"]["run_id"] == "r1"
    assert "web-1" in report.sections["hosts"]
