"""`govcloud audit` against devcloud: each live-cloud violation, made out of band with
openstacksdk in uniquely named projects (removed afterwards), shows up as its finding; the
compliant twin of each does not. The audit log of those runs verifies, and `log verify` exits 4
on each kind of tampering.

Everything is created once per module (servers take a few seconds on the fake driver) and the
audit runs once; the tests then read its JSON report.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govcloud.auditlog import generate_keypair
from govcloud.cli.app import app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "policies" / "fixtures" / "_base"
runner = CliRunner()


class Made:
    """What the fixture created, and the audit's report."""

    def __init__(self) -> None:
        self.undo: list = []  # cleanups, run in reverse
        self.ids: dict[str, str] = {}
        self.report: dict = {}
        self.exit_code = -1
        self.state = Path()
        self.public_key = Path()

    def findings(self, policy: str, target: str) -> list[dict]:
        return [f for f in self.report["findings"]
                if f["policy"] == policy and f["target"] == target]


def _wait_server(conn, server):
    return conn.wait_for_server(server, status="ACTIVE", failures=["ERROR"], wait=180)


@pytest.fixture(scope="module")
def cloud(devcloud, tmp_path_factory):
    import openstack

    admin = openstack.connect(cloud=devcloud.admin_cloud)
    sfx = uuid.uuid4().hex[:8]
    made = Made()
    try:
        _build(admin, devcloud, sfx, made, tmp_path_factory.mktemp("audit"))
        yield made
    finally:
        errors = []
        for undo in reversed(made.undo):
            try:
                undo()
            except Exception as err:  # noqa: BLE001 - clean up the rest, then report
                errors.append(f"{type(err).__name__}: {err}")
        if errors:
            pytest.fail("cleanup failed: " + "; ".join(errors[:3]), pytrace=False)


def _build(admin, devcloud, sfx, made: Made, tmp: Path) -> None:
    idp = admin.identity
    request_id = f"REQ-AUDIT-{sfx}"
    tenant = f"audit-{sfx}"
    tags = [f"govcloud:request={request_id}", "govcloud:department=fx-prov-health",
            "govcloud:mlps=3", "govcloud:classification=secret"]
    project = idp.create_project(name=tenant, domain_id="default", tags=tags,
                                 description="govcloud audit integration test")
    made.undo.append(lambda: idp.delete_project(project))
    other = idp.create_project(name=f"audit-{sfx}-shadow", domain_id="default",
                               description="created by hand: no request tag")
    made.undo.append(lambda: idp.delete_project(other))
    made.ids.update(tenant=tenant, shadow=other.name)

    admin_user = idp.find_user("admin", domain_id="default")
    admin_role = idp.find_role("admin")
    idp.assign_project_role_to_user(project, admin_user, admin_role)
    conn = admin.connect_as_project({"id": project.id})

    # 三员: one account with admin in the tenant and auditor in another project.
    auditor = idp.find_role("auditor")
    if auditor is None:
        auditor = idp.create_role(name="auditor")
        made.undo.append(lambda: idp.delete_role(auditor))
    user = idp.create_user(name=f"audit-{sfx}-ops", domain_id="default",
                           password=uuid.uuid4().hex)
    made.undo.append(lambda: idp.delete_user(user))
    idp.assign_project_role_to_user(project, user, admin_role)
    idp.assign_project_role_to_user(other, user, auditor)
    clean_user = idp.create_user(name=f"audit-{sfx}-member", domain_id="default",
                                 password=uuid.uuid4().hex)
    made.undo.append(lambda: idp.delete_user(clean_user))
    idp.assign_project_role_to_user(project, clean_user, idp.find_role("member"))
    made.ids.update(user=user.name, clean_user=clean_user.name)

    # Quota above the approval (the request below approves 16 cores).
    admin.set_compute_quotas(project.id, cores=64)

    net = conn.network
    public = net.find_network("public")
    app_net = net.create_network(name=f"{tenant}-app-net")
    made.undo.append(lambda: net.delete_network(app_net))
    net.create_subnet(network_id=app_net.id, ip_version=4, cidr="10.77.0.0/24",
                      name=f"{tenant}-app-subnet")
    shared = net.create_network(name=f"{tenant}-shared-net", shared=True)
    made.undo.append(lambda: net.delete_network(shared))
    rbac_net = net.create_network(name=f"{tenant}-rbac-net")
    made.undo.append(lambda: net.delete_network(rbac_net))
    policy = admin.network.create_rbac_policy(object_type="network", object_id=rbac_net.id,
                                              action="access_as_shared",
                                              target_project_id=other.id)
    made.undo.append(lambda: admin.network.delete_rbac_policy(policy, ignore_missing=True))
    router = net.create_router(name=f"{tenant}-router",
                               external_gateway_info={"network_id": public.id})

    def drop_router():
        net.update_router(router, external_gateway_info={})
        net.delete_router(router)

    made.undo.append(drop_router)
    made.ids.update(app_net=app_net.id, shared=shared.id, rbac_net=rbac_net.id,
                    router=router.id)

    sg = net.create_security_group(name=f"{tenant}-web")
    made.undo.append(lambda: net.delete_security_group(sg))
    https = net.create_security_group_rule(security_group_id=sg.id, direction="ingress",
                                           ethertype="IPv4", protocol="tcp", port_range_min=443,
                                           port_range_max=443, remote_ip_prefix="0.0.0.0/0")
    ssh = net.create_security_group_rule(security_group_id=sg.id, direction="ingress",
                                         ethertype="IPv4", protocol="tcp", port_range_min=22,
                                         port_range_max=22, remote_ip_prefix="0.0.0.0/0")
    bastion = net.create_security_group_rule(security_group_id=sg.id, direction="ingress",
                                             ethertype="IPv4", protocol="tcp", port_range_min=22,
                                             port_range_max=22, remote_ip_prefix="10.0.0.0/24")
    made.ids.update(sg=sg.id, https=https.id, ssh=ssh.id, bastion=bastion.id)

    volume = conn.block_storage
    plain = volume.create_volume(name=f"{tenant}-data", size=1)
    made.undo.append(lambda: volume.delete_volume(plain, ignore_missing=True))
    sealed = volume.create_volume(name=f"{tenant}-sealed", size=1, volume_type="encrypted")
    made.undo.append(lambda: volume.delete_volume(sealed, ignore_missing=True))
    made.ids.update(plain=plain.id, sealed=sealed.id)

    compute, image = conn.compute, admin.image
    flavor = compute.find_flavor("c1m1")
    kylin = image.find_image("kylin-v10-sp3")
    debian = image.find_image("debian-12")
    doomed = image.create_image(name=f"{tenant}-doomed", data=b"\0" * 4096, disk_format="raw",
                                container_format="bare", visibility="public",
                                allow_duplicates=True, wait=True)
    made.undo.append(lambda: image.delete_image(doomed, ignore_missing=True))

    def server(name, img, metadata):
        s = compute.create_server(name=f"{tenant}-{name}", flavor_id=flavor.id,
                                  image_id=img.id, networks=[{"uuid": app_net.id}],
                                  metadata=metadata)
        made.undo.append(lambda: _delete_server(compute, s))
        return s

    managed = {"govcloud:request": request_id}
    good = server("app-1", kylin, managed)
    rogue = server("tool-1", debian, {"note": "made by hand"})
    orphan = server("old-1", doomed, managed)
    for s in (good, rogue, orphan):
        _wait_server(compute, s)
    image.delete_image(doomed)  # after boot: the server's image is gone
    for v in (plain, sealed):
        volume.wait_for_status(v, status="available", failures=["error"], wait=120)
    made.ids.update(good=good.id, rogue=rogue.id, orphan=orphan.id)

    request = tmp / "request.yaml"
    request.write_text(f"""apiVersion: govcloud/v1
kind: ResourceRequest
metadata: {{id: {request_id}}}
spec:
  department: fx-prov-health
  platform: fx-internal-cloud
  tenant: {tenant}
  purpose: Audit integration test
  system: {{name: audit, function: archive, mlps_level: 3, classification: secret,
           network_zone: gov-internal}}
  quotas: {{cores: 16, instances: 10}}
""")
    # The audit, with its own state folder (audit log) and a signing key.
    made.state = tmp / "state"
    private, made.public_key = generate_keypair(tmp / "keys")
    env = {"GOVCLOUD_STATE_DIR": str(made.state), "GOVCLOUD_AUDIT_KEY": str(private)}
    # A couple of ordinary runs first, so the log has several entries.
    for _ in range(2):
        assert runner.invoke(app, ["check", str(request), "--inventory", str(BASE),
                                   "-o", "json"], env=env).exit_code in (0, 1)
    # The fixtures' base is the inventory (authority data); the request is the only PATH.
    result = runner.invoke(app, ["audit", "--os-cloud", devcloud.admin_cloud, str(request),
                                 "--inventory", str(BASE), "-o", "json", "--no-hardening"],
                           env=env)
    made.exit_code = result.exit_code
    try:
        made.report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"audit did not print JSON (exit {result.exit_code}): {result.output}",
                    pytrace=False)


def _delete_server(compute, server):
    compute.delete_server(server, ignore_missing=True)
    compute.wait_for_delete(server, wait=120)


def test_the_audit_reports_and_exits_1(cloud):
    assert cloud.exit_code == 1
    assert cloud.report["version"] == 1 and cloud.report["audit"]["cloud"] == "devcloud"
    assert not cloud.report["errors"], cloud.report["errors"]
    tenant = cloud.report["tenants"][cloud.ids["tenant"]]
    assert tenant["mlps_level"] == 3 and tenant["classification"] == "secret"
    assert tenant["request"].startswith("REQ-AUDIT-")


def test_management_port_open_to_the_world(cloud):
    found = cloud.findings("GC-NET-001", f"CloudSecurityGroup/{cloud.ids['sg']}")
    assert len(found) == 1, found  # SSH from anywhere; not HTTPS, not SSH from the bastion
    assert cloud.ids["ssh"] in found[0]["evidence"] and found[0]["severity"] == "critical"
    assert found[0]["file"] == "cloud:devcloud" and found[0]["line"] == 0
    assert found[0]["path"].startswith("/spec/rules/")


def test_unencrypted_volume_of_a_level_3_tenant(cloud):
    assert cloud.findings("GC-ENC-001", f"CloudVolume/{cloud.ids['plain']}")
    assert not cloud.findings("GC-ENC-001", f"CloudVolume/{cloud.ids['sealed']}")


def test_foreign_os_and_missing_image(cloud):
    rogue = f"CloudServer/{cloud.ids['rogue']}"
    orphan = f"CloudServer/{cloud.ids['orphan']}"
    good = f"CloudServer/{cloud.ids['good']}"
    assert cloud.findings("GC-IMG-001", rogue)  # debian-12
    assert cloud.findings("GC-IMG-002", orphan)  # image deleted: no checksum on record
    assert cloud.findings("GC-IMG-001", orphan)
    assert not cloud.findings("GC-IMG-001", good) and not cloud.findings("GC-IMG-002", good)


def test_unmanaged_server_and_project(cloud):
    assert cloud.findings("GC-MGD-001", f"CloudServer/{cloud.ids['rogue']}")
    assert not cloud.findings("GC-MGD-001", f"CloudServer/{cloud.ids['good']}")
    assert cloud.findings("GC-MGD-002", f"CloudProject/{cloud.ids['shadow']}")
    assert not cloud.findings("GC-MGD-002", f"CloudProject/{cloud.ids['tenant']}")


def test_classified_tenant_router_with_external_gateway(cloud):
    found = cloud.findings("GC-CLS-002", f"CloudRouter/{cloud.ids['router']}")
    assert found and found[0]["severity"] == "critical"


def test_shared_tenant_networks(cloud):
    assert cloud.findings("GC-ISO-001", f"CloudNetwork/{cloud.ids['shared']}")
    assert cloud.findings("GC-ISO-001", f"CloudNetwork/{cloud.ids['rbac_net']}")
    assert not cloud.findings("GC-ISO-001", f"CloudNetwork/{cloud.ids['app_net']}")


def test_quota_above_the_approved_request(cloud):
    found = cloud.findings("GC-QUOTA-001", f"CloudProject/{cloud.ids['tenant']}")
    assert found and "cores" in found[0]["evidence"] and "64" in found[0]["evidence"]


def test_admin_and_auditor_on_one_account(cloud):
    assert cloud.findings("GC-SOD-001", f"CloudUser/{cloud.ids['user']}")
    assert not cloud.findings("GC-SOD-001", f"CloudUser/{cloud.ids['clean_user']}")


# --- the audit log of these runs ---------------------------------------------------------------


def _verify(log: Path, public: Path):
    return runner.invoke(app, ["log", "verify", str(log), "--key", str(public)])


@pytest.fixture
def log_copy(cloud, tmp_path):
    """A copy of the run's log (and signed head) to tamper with."""
    log = cloud.state / "audit.log"
    copy = tmp_path / "audit.log"
    copy.write_bytes(log.read_bytes())
    (tmp_path / "audit.log.head").write_bytes((cloud.state / "audit.log.head").read_bytes())
    return copy


def test_log_verifies_after_a_normal_run(cloud):
    log = cloud.state / "audit.log"
    entries = [json.loads(line) for line in log.read_bytes().splitlines()]
    assert [e["command"] for e in entries] == ["check", "check", "audit"]
    assert any(k == "cloud:devcloud" for k in entries[-1]["inputs"])
    result = _verify(log, cloud.public_key)
    assert result.exit_code == 0 and "signed head verified" in result.output


def test_log_one_byte_changed(cloud, log_copy):
    data = log_copy.read_bytes()
    at = data.index(b'"actor":"') + len(b'"actor":"')
    log_copy.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:])
    result = _verify(log_copy, cloud.public_key)
    assert result.exit_code == 4 and "line 2" in result.output, result.output


def test_log_line_deleted(cloud, log_copy):
    lines = log_copy.read_bytes().splitlines(keepends=True)
    log_copy.write_bytes(lines[0] + lines[2])
    result = _verify(log_copy, cloud.public_key)
    assert result.exit_code == 4 and "line 2" in result.output, result.output


def test_log_two_lines_swapped(cloud, log_copy):
    lines = log_copy.read_bytes().splitlines(keepends=True)
    log_copy.write_bytes(lines[1] + lines[0] + lines[2])
    result = _verify(log_copy, cloud.public_key)
    assert result.exit_code == 4 and "line 1" in result.output, result.output


def test_log_forged_signature(cloud, log_copy):
    head = log_copy.with_name("audit.log.head")
    data = json.loads(head.read_text())
    forger_private, _ = generate_keypair(log_copy.parent / "forger")
    from govcloud.auditlog.log import _sign, load_private_key

    data["sig"] = _sign(load_private_key(forger_private),
                        {k: v for k, v in data.items() if k != "sig"})
    head.write_text(json.dumps(data))
    result = _verify(log_copy, cloud.public_key)
    assert result.exit_code == 4
    assert "signed head has a signature that does not verify" in result.output
    assert "Traceback" not in result.output
    assert os.environ.get("GOVCLOUD_STATE_DIR") != str(cloud.state)  # env was not leaked
