"""Gate integrity on devcloud: what apply refuses, what it removes, what it never makes.

Through the real CLI in a subprocess, checked with raw openstacksdk listings. Every tenant is
unique to the run and destroyed at the end.

- a 涉密 request on the external platform is refused whatever ``--fail-on`` or ``--policies``
  say, and nothing is written (the hard rules themselves come from the policy core);
- a classified tenant's router has no external gateway after apply, and one added by hand is
  removed in place;
- an out-of-band SSH-to-world rule in a managed group: drift exit 1, apply removes it, drift
  exit 0, destroy succeeds;
- an unmanaged network in a managed project: drift reports it, apply leaves it, ``apply
  --prune`` removes it after listing it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from tests.integration.test_provision import INVENTORY, run, writes

pytestmark = pytest.mark.integration
RUN = uuid.uuid4().hex[:6]


def _request(kind: str, *, classification: str, platform: str, octet: int) -> dict:
    internal = platform == "gov-internal-cloud"
    classified = classification != "internal"
    return {
        "apiVersion": "govcloud/v1", "kind": "ResourceRequest",
        "metadata": {"id": f"REQ-GATE-{kind.upper()}-{RUN.upper()}"},
        "spec": {
            "department": "prov-gov-office" if classified else "cnty-an-civil",
            "platform": platform, "tenant": f"gate-{kind}-{RUN}", "purpose": "gate test",
            "system": {"name": f"sys-gate-{kind}-{RUN}",
                       "function": "records-archive" if classified else "elderly-care",
                       "mlps_level": 3 if classified else 2, "classification": classification,
                       "network_zone": "gov-internal" if internal else "gov-external"},
            "quotas": {"cores": 4, "ram_mb": 8192, "instances": 2},
            "networks": [{"name": "app", "cidr": f"10.{octet}.1.0/24", "router": True}],
            "security_groups": [{"name": "web", "rules": [
                {"direction": "ingress", "protocol": "tcp", "port": 443,
                 "remote": "10.0.0.0/8"}]}],
        },
    }


def _write(tmp_path: Path, doc: dict) -> list[str]:
    path = tmp_path / f"{doc['spec']['tenant']}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return [INVENTORY, str(path)]


def _project(admin, doc):
    return admin.identity.find_project(doc["spec"]["tenant"], domain_id="default")


def _written(admin, doc) -> dict[str, int]:
    """Everything the request could have made anywhere in the cloud, by kind."""
    tag = f"govcloud:request={doc['metadata']['id']}"
    tenant = doc["spec"]["tenant"]
    net = admin.network
    return {
        "projects": sum(1 for p in admin.identity.projects() if p.name == tenant
                        or tag in (p.tags or [])),
        "networks": len(list(net.networks(tags=tag))),
        "routers": len(list(net.routers(tags=tag))),
        "security_groups": len(list(net.security_groups(tags=tag))),
        "rules": sum(1 for r in net.security_group_rules() if r.description == tag),
    }


@pytest.fixture
def cleanup(env):
    """Destroy whatever a test's requests made (also when the test failed half-way)."""
    made: list[list[str]] = []
    yield made.append
    for paths in made:
        run(env, "destroy", *paths, "--yes", timeout=900)


def test_classified_on_the_external_platform_is_refused_whatever_the_flags(
        env, admin, tmp_path, cleanup):
    doc = _request("ext", classification="secret", platform="gov-external-cloud", octet=81)
    paths = _write(tmp_path, doc)
    cleanup(paths)
    empty = tmp_path / "no-policies"
    empty.mkdir()
    before = _written(admin, doc)
    assert before == {"projects": 0, "networks": 0, "routers": 0, "security_groups": 0,
                      "rules": 0}
    for flags in (["--fail-on", "never"], ["--policies", str(empty)]):
        refused = run(env, "apply", *paths, "--yes", *flags)
        assert refused.returncode == 1, f"{flags}: exit {refused.returncode}\n{refused.stderr}"
        assert "GC-CLS-001" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        assert _written(admin, doc) == before, flags
        assert _project(admin, doc) is None


def test_a_classified_tenants_router_never_has_an_external_gateway(env, admin, tmp_path,
                                                                   cleanup):
    doc = _request("cls", classification="secret", platform="gov-internal-cloud", octet=82)
    paths = _write(tmp_path, doc)
    cleanup(paths)
    run(env, "apply", *paths, "--yes", check=0)
    project = _project(admin, doc)
    (router,) = list(admin.network.routers(project_id=project.id))
    assert router.name == f"{doc['spec']['tenant']}-router"
    assert not router.external_gateway_info
    assert list(admin.network.ports(device_id=router.id, device_owner="network:router_interface"))
    # A gateway added by hand is drift, and apply removes it in place (same router).
    public = next(admin.network.networks(is_router_external=True))
    admin.network.update_router(router, external_gateway_info={"network_id": public.id})
    drift = json.loads(run(env, "drift", *paths, "-o", "json", check=1).stdout)["drift"]
    assert [(r["status"], r["kind"], r["changes"]) for r in drift] == [
        ("changed", "router", [{"field": "external_gateway", "actual": True,
                                "requested": False}])]
    healed = run(env, "apply", *paths, "--yes", check=0)
    assert writes(healed.stderr)[0] > 0
    again = admin.network.get_router(router.id)
    assert not again.external_gateway_info
    run(env, "drift", *paths, "-o", "json", check=0)
    run(env, "destroy", *paths, "--yes", check=0)
    assert _project(admin, doc) is None


@pytest.fixture(scope="module")
def managed(env, admin, tmp_path_factory):
    doc = _request("mgd", classification="internal", platform="gov-external-cloud", octet=83)
    paths = _write(tmp_path_factory.mktemp("mgd"), doc)
    run(env, "destroy", *paths, "--yes")
    run(env, "apply", *paths, "--yes", check=0)
    yield doc, paths, _project(admin, doc)
    run(env, "destroy", *paths, "--yes", timeout=900)


def test_an_unmanaged_network_is_left_by_apply_and_removed_by_prune_after_listing(
        env, admin, managed):
    doc, paths, project = managed
    stray = admin.network.create_network(name="hand-made", project_id=project.id)
    try:
        rows = json.loads(run(env, "drift", *paths, "-o", "json", check=1).stdout)["drift"]
        assert [(r["status"], r["kind"], r["name"]) for r in rows] == [
            ("unmanaged", "network", "hand-made")]
        left = run(env, "apply", *paths, "--yes", check=0)
        assert writes(left.stderr) == [0], left.stderr
        assert admin.network.find_network(stray.id) is not None
        plan = json.loads(run(env, "plan", *paths, "--prune", "-o", "json", check=0).stdout)
        (cloud,) = plan["clouds"]
        assert plan["prune"] is True
        assert [(a["op"], a["kind"], a["name"]) for a in cloud["actions"]] == [
            ("delete", "network", "hand-made")]
        assert "not created by govcloud" in cloud["actions"][0]["reason"]
        pruned = run(env, "apply", *paths, "--yes", "--prune", check=0)
        listed = pruned.stderr.find("will delete network hand-made")
        assert listed >= 0, pruned.stderr
        assert listed < pruned.stderr.find("apply complete"), pruned.stderr
        assert admin.network.find_network(stray.id) is None
        run(env, "drift", *paths, "-o", "json", check=0)
    finally:
        admin.network.delete_network(stray, ignore_missing=True)


def test_an_out_of_band_rule_in_a_managed_group_is_removed_then_destroy_succeeds(
        env, admin, managed):
    doc, paths, project = managed
    group = admin.network.find_security_group("web", project_id=project.id, ignore_missing=False)
    rule = admin.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", protocol="tcp", port_range_min=22,
        port_range_max=22, remote_ip_prefix="0.0.0.0/0", project_id=project.id)
    rows = json.loads(run(env, "drift", *paths, "-o", "json", check=1).stdout)["drift"]
    assert [(r["status"], r["kind"], r["name"]) for r in rows] == [
        ("unmanaged", "sg_rule", "web:ingress:tcp:22-22:0.0.0.0/0")]
    plan = json.loads(run(env, "plan", *paths, "-o", "json", check=0).stdout)
    assert [(a["op"], a["name"]) for a in plan["clouds"][0]["actions"]] == [
        ("delete", "web:ingress:tcp:22-22:0.0.0.0/0")]
    healed = run(env, "apply", *paths, "--yes", check=0)
    assert "will delete sg_rule web:ingress:tcp:22-22:0.0.0.0/0" in healed.stderr
    assert admin.network.find_security_group_rule(rule.id) is None
    kept = [r for r in admin.network.security_group_rules(security_group_id=group.id)
            if r.direction == "ingress"]
    assert [(r.port_range_min, r.remote_ip_prefix) for r in kept] == [(443, "10.0.0.0/8")]
    run(env, "drift", *paths, "-o", "json", check=0)
    # One more by hand, and destroy takes it with its group instead of refusing the tenant.
    admin.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", protocol="tcp", port_range_min=3389,
        port_range_max=3389, remote_ip_prefix="0.0.0.0/0", project_id=project.id)
    run(env, "destroy", *paths, "--yes", check=0)
    assert _project(admin, doc) is None
    assert not [g for g in admin.network.security_groups() if g.project_id == project.id]
