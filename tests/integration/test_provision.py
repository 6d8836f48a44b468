"""plan / apply / drift / destroy against devcloud, through the real CLI in a subprocess.

The example requests are applied under their own tenant names and destroyed at the end. The
crash tests use generated requests with unique tenants: govcloud is SIGKILLed at several points
of an apply, and neutron is killed mid-apply; after a re-run the cloud must equal a clean apply
(no duplicates, no orphans), checked by raw openstacksdk listings, not by govcloud's own reader.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(str(p) for p in (ROOT / "examples" / "requests").glob("good-*.yaml"))
INVENTORY = str(ROOT / "inventory")
GOVCLOUD = [sys.executable, "-m", "govcloud"]

pytestmark = pytest.mark.integration


def run(env, *args, timeout=600, check=None):
    proc = subprocess.run([*GOVCLOUD, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def writes(stderr: str) -> list[int]:
    return [int(n) for n in re.findall(r"\((\d+) write calls\)", stderr)]


def inventory_of(admin, tenant: str) -> dict[str, Counter]:
    """Raw listing of everything in one project, by kind -> Counter of names."""
    project = admin.identity.find_project(tenant, domain_id="default")
    if project is None:
        return {}
    pid = project.id
    net = admin.network
    out: dict[str, Counter] = {
        "network": Counter(n.name for n in net.networks(project_id=pid)),
        "subnet": Counter(s.name for s in net.subnets(project_id=pid)),
        "router": Counter(r.name for r in net.routers(project_id=pid)),
        "security_group": Counter(g.name for g in net.security_groups(project_id=pid)
                                  if g.name != "default"),
        "sg_rule": Counter(
            f"{r.direction}:{r.protocol}:{r.port_range_min}:{r.remote_ip_prefix}"
            for r in net.security_group_rules(project_id=pid) if r.description),
        "server": Counter(s.name for s in admin.compute.servers(all_projects=True,
                                                                project_id=pid)),
        "volume": Counter(v.name for v in admin.block_storage.volumes(all_projects=True,
                                                                      project_id=pid)),
        "user": Counter(u.name for u in admin.identity.users(default_project_id=pid)),
        "router_port": Counter(p.device_owner for p in net.ports(project_id=pid)
                               if p.device_owner == "network:router_interface"),
    }
    return {k: v for k, v in out.items() if v}


def server_in(admin, project, name):
    found = [s for s in admin.compute.servers(all_projects=True, project_id=project.id)
             if s.name == name]
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- the example requests


@pytest.fixture(scope="module")
def applied_examples(env, admin):
    paths = [INVENTORY, *EXAMPLES]
    run(env, "destroy", *paths, "--yes", check=0)  # leftovers of an interrupted earlier run
    first = run(env, "apply", *paths, "--yes", check=0)
    yield paths, first
    run(env, "destroy", *paths, "--yes")


def test_apply_examples_then_reapply_makes_no_write_call(env, applied_examples, admin):
    paths, first = applied_examples
    assert writes(first.stderr) and writes(first.stderr)[0] > 0, first.stderr
    tenants = [yaml.safe_load_all(open(p)).__next__() for p in EXAMPLES]
    for doc in (d for p in EXAMPLES for d in yaml.safe_load_all(open(p)) if d):
        spec = doc["spec"]
        project = admin.identity.find_project(spec["tenant"], domain_id="default")
        assert project is not None
        assert f"govcloud:request={doc['metadata']['id']}" in project.tags
        assert f"govcloud:mlps={spec['system']['mlps_level']}" in project.tags
        found = inventory_of(admin, spec["tenant"])
        servers = sum(s.get("count", 1) for s in spec.get("servers", []))
        assert sum(found.get("server", Counter()).values()) == servers
        for server in admin.compute.servers(all_projects=True, project_id=project.id):
            assert server.status == "ACTIVE"
            assert server.metadata["govcloud:request"] == doc["metadata"]["id"]
    assert tenants
    again = run(env, "apply", *paths, "--yes", check=0)
    assert writes(again.stderr) == [0], again.stderr
    plan = run(env, "plan", *paths, "-o", "json", check=0)
    data = json.loads(plan.stdout)
    assert [c["actions"] for c in data["clouds"]] == [[]]
    assert run(env, "drift", *paths, "-o", "json", check=0).returncode == 0


def test_encrypted_volume_and_attachment(applied_examples, admin):
    project = admin.identity.find_project("health-disease-report", domain_id="default")
    volumes = list(admin.block_storage.volumes(all_projects=True, project_id=project.id))
    assert [v.name for v in volumes] == ["db-data"]
    assert volumes[0].is_encrypted is True
    assert volumes[0].status == "in-use"
    server = server_in(admin, project, "db-1")
    assert [a["server_id"] for a in volumes[0].attachments] == [server.id]


def test_initial_passwords_only_in_the_encrypted_bundle(env, applied_examples):
    _, first = applied_examples
    bundles = sorted(Path(env["GOVCLOUD_STATE_DIR"], "credentials").glob("*.gcb"))
    assert bundles
    for bundle in bundles:
        assert bundle.stat().st_mode & 0o077 == 0
        shown = json.loads(run(env, "credentials", "show", str(bundle), "-o", "json",
                               check=0).stdout)
        for user in shown["users"]:
            password = user["password"]
            assert len(password) >= 20
            assert password not in first.stdout + first.stderr
            assert password.encode() not in bundle.read_bytes()
            for log in Path(env["GOVCLOUD_STATE_DIR"]).rglob("*"):
                if log.is_file() and log.suffix != ".gcb":
                    assert password.encode() not in log.read_bytes(), log
    wrong = {**env, "GOVCLOUD_CREDENTIALS_KEY": secrets.token_hex(16)}
    refused = run(wrong, "credentials", "show", str(bundles[0]))
    assert refused.returncode == 4 and "does not decrypt" in refused.stderr


def test_drift_finds_each_out_of_band_change_and_apply_heals_it(env, applied_examples, admin):
    paths, _ = applied_examples
    project = admin.identity.find_project("health-disease-report", domain_id="default")
    group = admin.network.find_security_group("app", project_id=project.id,
                                              ignore_missing=False)
    server = server_in(admin, project, "app-1")
    made = []
    try:
        made.append(admin.network.create_security_group_rule(
            security_group_id=group.id, direction="ingress", protocol="tcp",
            port_range_min=3389, port_range_max=3389, remote_ip_prefix="0.0.0.0/0",
            project_id=project.id))
        made.append(admin.network.create_network(name="hand-made", project_id=project.id))
        admin.compute.update_quota_set(project.id, cores=999)
        admin.compute.set_server_metadata(server, owner="someone-else")
        out = run(env, "drift", *paths, "-o", "json", check=1)
        rows = json.loads(out.stdout)["drift"]
        seen = {(r["status"], r["kind"], r["name"]) for r in rows}
        assert ("unmanaged", "sg_rule", "app:ingress:tcp:3389-3389:0.0.0.0/0") in seen
        assert ("changed", "quota", "health-disease-report") in seen
        assert ("changed", "server", "app-1") in seen
        assert ("unmanaged", "network", "hand-made") in seen
        quota = next(r for r in rows if r["kind"] == "quota")
        assert {"field": "cores", "actual": 999, "requested": 8} in quota["changes"]
        table = run(env, "drift", *paths, "-o", "table", check=1)
        assert "Drift:" in table.stdout
        healed = run(env, "apply", *paths, "--yes", check=0)
        assert writes(healed.stderr)[0] > 0
        assert admin.compute.get_quota_set(project.id).cores == 8
        assert "owner" not in admin.compute.get_server_metadata(server).metadata
    finally:
        admin.network.delete_security_group_rule(made[0], ignore_missing=True)
        if len(made) > 1:
            admin.network.delete_network(made[1], ignore_missing=True)
    run(env, "drift", *paths, "-o", "json", check=0)


def test_stale_plan_is_refused(env, applied_examples, admin, tmp_path):
    paths, _ = applied_examples
    plan_file = tmp_path / "saved.json"
    run(env, "plan", *paths, "--out", str(plan_file), "-o", "json", check=0)
    project = admin.identity.find_project("anping-elderly-care", domain_id="default")
    server = next(iter(admin.compute.servers(all_projects=True, project_id=project.id)))
    admin.compute.set_server_metadata(server, touched="yes")
    try:
        refused = run(env, "apply", str(plan_file), "--yes", check=2)
        assert "stale plan" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        admin.compute.delete_server_metadata(server, ["touched"])
    run(env, "apply", str(plan_file), "--yes", check=0)


# ---------------------------------------------------------------- crash and resume


DEPT = "cnty-an-civil"  # a county department with no machine room of its own left


def _request(tenant: str, rid: str, third_octet: int) -> dict:
    return {
        "apiVersion": "govcloud/v1", "kind": "ResourceRequest", "metadata": {"id": rid},
        "spec": {
            "department": DEPT, "platform": "gov-external-cloud", "tenant": tenant,
            "purpose": "crash test",
            "system": {"name": f"sys-{tenant}", "function": "elderly-care", "mlps_level": 2,
                       "classification": "internal", "network_zone": "gov-external"},
            "quotas": {"cores": 16, "ram_mb": 32768, "instances": 6, "volumes": 4,
                       "gigabytes": 40},
            "users": [{"name": f"{tenant}-ops", "roles": ["member"]},
                      {"name": f"{tenant}-dev", "roles": ["member", "reader"]}],
            "networks": [{"name": "app", "cidr": f"10.{third_octet}.1.0/24", "router": True},
                         {"name": "db", "cidr": f"10.{third_octet}.2.0/24"}],
            "security_groups": [
                {"name": "web", "rules": [
                    {"direction": "ingress", "protocol": "tcp", "port": 443,
                     "remote": "10.0.0.0/8"},
                    {"direction": "ingress", "protocol": "tcp", "port": "8000-8080",
                     "remote": "10.0.0.0/8"}]},
                {"name": "db", "rules": [
                    {"direction": "ingress", "protocol": "tcp", "port": 5236,
                     "remote": f"10.{third_octet}.1.0/24"}]}],
            "servers": [
                {"name": "app", "count": 2, "flavor": "c1m1", "image": "kylin-v10-sp3",
                 "network": "app", "security_groups": ["web"],
                 "components": {"cpu": "zhaoxin-kh40000", "os": "uos-20"}},
                {"name": "db", "count": 1, "flavor": "c1m1", "image": "kylin-v10-sp3",
                 "network": "db", "security_groups": ["db"],
                 "components": {"cpu": "zhaoxin-kh40000", "os": "uos-20", "database": "dm8"}}],
            "volumes": [{"name": "data", "size_gb": 1, "attach_to": "db-1"},
                        {"name": "logs", "size_gb": 1}],
        },
    }


def _expected(doc: dict) -> dict[str, Counter]:
    spec, tenant = doc["spec"], doc["spec"]["tenant"]
    return {
        "network": Counter(f"{tenant}-{n['name']}" for n in spec["networks"]),
        "subnet": Counter(f"{tenant}-{n['name']}-subnet" for n in spec["networks"]),
        "router": Counter([f"{tenant}-router"]),
        "security_group": Counter(g["name"] for g in spec["security_groups"]),
        "sg_rule": Counter({"ingress:tcp:443:10.0.0.0/8": 1, "ingress:tcp:8000:10.0.0.0/8": 1,
                            f"ingress:tcp:5236:{spec['networks'][0]['cidr']}": 1}),
        "server": Counter(["app-1", "app-2", "db-1"]),
        "volume": Counter(["data", "logs"]),
        "user": Counter(u["name"] for u in spec["users"]),
        "router_port": Counter({"network:router_interface": 1}),
    }


@pytest.fixture
def crash_request(tmp_path, env, admin):
    tag = uuid.uuid4().hex[:6]
    doc = _request(f"crash-{tag}", f"REQ-CRASH-{tag.upper()}", 100 + secrets.randbelow(100))
    path = tmp_path / "request.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    paths = [INVENTORY, str(path)]
    yield doc, paths
    run(env, "destroy", *paths, "--yes", timeout=900)
    assert admin.identity.find_project(doc["spec"]["tenant"], domain_id="default") is None


def _kill_after(env, paths, progress_lines: int) -> int:
    """Start apply, SIGKILL it once it reported ``progress_lines`` finished actions."""
    proc = subprocess.Popen([*GOVCLOUD, "apply", *paths, "--yes"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = 0
    assert proc.stderr is not None
    for line in proc.stderr:
        if re.match(r"\[\d+/\d+\] ", line):
            seen += 1
            if seen >= progress_lines:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=600)
    return proc.returncode


def _assert_clean(env, admin, doc, paths):
    assert inventory_of(admin, doc["spec"]["tenant"]) == _expected(doc)
    again = run(env, "apply", *paths, "--yes", check=0)
    assert writes(again.stderr) == [0], again.stderr
    run(env, "drift", *paths, "-o", "json", check=0)


def test_sigkill_at_several_points_then_rerun_converges(env, admin, crash_request):
    doc, paths = crash_request
    # Lines count within each run (a re-run has fewer actions left): right after the project,
    # then further on. Calls in flight at a kill may still be carried out by the cloud, so a
    # late re-run can find (almost) nothing left and finish before its point: at least three
    # kills must land.
    kills = 0
    for point in (1, 6, 4, 2):
        code = _kill_after(env, paths, point)
        if code == 0 and kills >= 3:
            break
        assert code == -signal.SIGKILL, f"apply ended by itself ({code}) before point {point}"
        kills += 1
        leftovers = inventory_of(admin, doc["spec"]["tenant"])
        for names in leftovers.values():  # never a duplicate, even mid-way
            assert max(names.values()) == 1, leftovers
    run(env, "apply", *paths, "--yes", check=0)
    _assert_clean(env, admin, doc, paths)


def test_api_service_killed_mid_apply_then_rerun_converges(env, admin, crash_request, devcloud):
    from govcloud.devcloud import Layout, up
    from govcloud.devcloud.procs import read

    doc, paths = crash_request
    layout = Layout(devcloud.root)
    proc = subprocess.Popen([*GOVCLOUD, "apply", *paths, "--yes"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    killed = False
    err = []
    for line in proc.stderr:
        err.append(line)
        if not killed and re.match(r"\[8/\d+\] ", line):  # networks are being made
            tracked = read(layout.pid_file("neutron"))
            assert tracked is not None
            os.killpg(tracked.pid, signal.SIGKILL)
            killed = True
    code = proc.wait(timeout=600)
    text = "".join(err)
    assert killed, text
    assert code == 3, text
    assert "Traceback" not in text
    assert re.search(r"govcloud: error: tenant crash-\w+: .+ failed", text), text
    up(layout)  # restart what died (neutron), as an operator would
    deadline = time.monotonic() + 60
    while True:  # neutron answers a little after its port opens
        try:
            list(admin.network.networks(limit=1))
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    rerun = run(env, "apply", *paths, "--yes", check=0)
    tenant = doc["spec"]["tenant"]
    if inventory_of(admin, tenant) != _expected(doc):
        # A known defect, not understood yet (see docs/provisioning.md, "After a crash"): now
        # and then the re-run makes a second router beside the one the crash left half-made
        # (untagged, without its gateway). The state must still converge: the next plan lists
        # the extra copy as a deletion, with its reason, and the next apply removes it.
        plan = run(env, "plan", *paths, check=0)
        assert "a second copy of a managed name" in plan.stdout + plan.stderr, (
            rerun.stderr, plan.stdout, inventory_of(admin, tenant))
        run(env, "apply", *paths, "--yes", check=0)
    _assert_clean(env, admin, doc, paths)


def test_destroy_leaves_nothing_and_refuses_foreign_resources(env, admin, crash_request):
    doc, paths = crash_request
    run(env, "apply", *paths, "--yes", check=0)
    tenant = doc["spec"]["tenant"]
    project = admin.identity.find_project(tenant, domain_id="default")
    stray = admin.network.create_network(name="not-ours", project_id=project.id)
    refused = run(env, "destroy", *paths, "--yes", check=3)
    assert "did not create" in refused.stderr and "not-ours" in refused.stderr
    assert inventory_of(admin, tenant)["server"] == Counter(["app-1", "app-2", "db-1"])
    admin.network.delete_network(stray)
    run(env, "destroy", *paths, "--yes", check=0)
    assert admin.identity.find_project(tenant, domain_id="default") is None
    assert not [u for u in admin.identity.users() if u.name.startswith(tenant)]
    assert not [n for n in admin.network.networks() if n.name.startswith(tenant)]
    assert not [s for s in admin.compute.servers(all_projects=True)
                if s.project_id == project.id]
    assert not [v for v in admin.block_storage.volumes(all_projects=True)
                if v.project_id == project.id]
    # Listed unfiltered: neutron creates a project's default group when asked for its groups.
    assert not [g for g in admin.network.security_groups() if g.project_id == project.id]
    assert not [p for p in admin.network.ports() if p.project_id == project.id]


def test_a_resource_left_untagged_by_a_crash_is_adopted_not_duplicated(env, admin,
                                                                        crash_request):
    doc, paths = crash_request
    run(env, "apply", *paths, "--yes", check=0)
    tenant = doc["spec"]["tenant"]
    project = admin.identity.find_project(tenant, domain_id="default")
    net = next(admin.network.networks(name=f"{tenant}-app", project_id=project.id))
    admin.network.set_tags(net, [])  # as if govcloud died between create and tag
    plan = json.loads(run(env, "plan", *paths, "-o", "json", check=0).stdout)
    actions = plan["clouds"][0]["actions"]
    assert [(a["op"], a["kind"], a["name"]) for a in actions] == [
        ("update", "network", f"{tenant}-app")]
    assert actions[0]["changes"] == [{"field": "govcloud:request", "from": None,
                                      "to": doc["metadata"]["id"]}]
    run(env, "apply", *paths, "--yes", check=0)
    assert admin.network.get_network(net.id).tags == [f"govcloud:request={doc['metadata']['id']}"]
    assert inventory_of(admin, tenant) == _expected(doc)
