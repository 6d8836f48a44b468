"""devcloud through openstacksdk, as govcloud's provisioning will use it.

Every test makes its own uniquely named project/resources and deletes them, so the suite runs
against a devcloud others use too. The tests at the end (not marked integration) check the
parts that need no running cloud: clouds.yaml merge, passwords, configs, pid files, the service
registry, preflight errors and the CLI; they are fast and run in `make unit` too.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import time
import uuid
from pathlib import Path

import openstack
import pytest
import yaml
from typer.testing import CliRunner

from govcloud.devcloud import clouds, config, preflight, procs, secrets
from govcloud.devcloud.layout import HOST, PORTS, Layout
from govcloud.devcloud.services import BY_NAME, SERVICES
from govcloud.errors import ExecutionError, InputError

integration = pytest.mark.integration


def _gone(find, ident) -> bool:
    try:
        find(ident, ignore_missing=False)
    except openstack.exceptions.NotFoundException:
        return True
    return False


def _name(kind: str) -> str:
    return f"itest-{kind}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def admin(devcloud):
    conn = openstack.connect(cloud=devcloud.admin_cloud)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def tenant(devcloud, admin):
    """A fresh project with a member user, and a connection as that user (not admin)."""
    idp = admin.identity
    project = idp.create_project(name=_name("project"), domain_id="default")
    password = uuid.uuid4().hex
    user = idp.create_user(name=_name("user"), password=password, domain_id="default",
                           default_project_id=project.id)
    member = idp.find_role("member", ignore_missing=False)
    idp.assign_project_role_to_user(project, user, member)
    conn = openstack.connect(
        auth={"auth_url": admin.auth["auth_url"], "username": user.name, "password": password,
              "project_name": project.name, "user_domain_name": "Default",
              "project_domain_name": "Default"},
        region_name="RegionOne", identity_api_version="3",
    )
    yield {"project": project, "user": user, "role": member, "conn": conn}
    conn.close()
    idp.delete_user(user)
    idp.delete_project(project)
    assert _gone(idp.find_project, project.id)


@integration
def test_up_again_is_a_noop_and_status_lists_every_service(devcloud):
    from govcloud.devcloud import status, up

    result = up(Layout(devcloud.root))
    assert result.started == ()
    st = status(Layout(devcloud.root))
    assert st.all_running, [s.name for s in st.services if not s.running]
    assert st.rss_bytes > 0
    for svc in st.services:
        assert Path(svc.log).exists(), svc.name


@integration
def test_every_listener_is_on_loopback(devcloud):
    from govcloud.devcloud import status
    from govcloud.devcloud.procs import group_members

    inodes: set[str] = set()
    for svc in status(Layout(devcloud.root)).services:
        for pid in group_members(svc.pid) if svc.pid else []:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    listeners = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                listeners.append(fields[1].split(":")[0])
    assert listeners, "devcloud listens on nothing?"
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    assert set(listeners) <= loopback, listeners


@integration
def test_clouds_yaml_has_both_entries(devcloud):
    entries = yaml.safe_load(devcloud.clouds_file.read_text())["clouds"]
    assert entries[devcloud.admin_cloud]["auth"]["username"] == "admin"
    assert entries[devcloud.user_cloud]["auth"]["username"] == "devcloud-user"
    assert devcloud.clouds_file.stat().st_mode & 0o077 == 0
    user = openstack.connect(cloud=devcloud.user_cloud)
    # devcloud-user is not an admin: listing users is refused, reading flavors is not.
    with pytest.raises(openstack.exceptions.ForbiddenException):
        list(user.identity.users())
    assert user.compute.find_flavor("c4m16", ignore_missing=False).vcpus == 4


@integration
def test_project_user_and_role_assignment(admin, tenant):
    assignments = list(admin.identity.role_assignments(
        user_id=tenant["user"].id, scope_project_id=tenant["project"].id))
    assert [a.role["id"] for a in assignments] == [tenant["role"].id]
    assert tenant["conn"].current_project_id == tenant["project"].id


@integration
def test_compute_network_and_volume_quotas(admin, tenant):
    pid = tenant["project"].id
    admin.set_compute_quotas(pid, cores=20, ram=65536, instances=7)
    admin.network.update_quota(pid, networks=5, subnets=6, ports=40, routers=2,
                               security_groups=8, security_group_rules=90, floating_ips=3)
    admin.set_volume_quotas(pid, volumes=9, gigabytes=123, snapshots=4)
    compute = admin.get_compute_quotas(pid)
    assert (compute.cores, compute.ram, compute.instances) == (20, 65536, 7)
    net = admin.network.get_quota(pid)
    assert (net.networks, net.subnets, net.ports, net.routers, net.security_groups,
            net.security_group_rules, net.floating_ips) == (5, 6, 40, 2, 8, 90, 3)
    vol = admin.get_volume_quotas(pid)
    assert (vol.volumes, vol.gigabytes, vol.snapshots) == (9, 123, 4)


@pytest.fixture(scope="module")
def tenant_net(admin, tenant):
    """network + subnet + router (external gateway on ``public``) + security group, as the user."""
    net_api = tenant["conn"].network
    public = admin.network.find_network("public", ignore_missing=False)
    network = net_api.create_network(name=_name("net"))
    subnet = net_api.create_subnet(network_id=network.id, ip_version=4, cidr="10.42.0.0/24",
                                   name=_name("subnet"))
    router = net_api.create_router(name=_name("router"),
                                   external_gateway_info={"network_id": public.id})
    net_api.add_interface_to_router(router, subnet=subnet.id)
    group = net_api.create_security_group(name=_name("sg"))
    rules = [
        net_api.create_security_group_rule(
            security_group_id=group.id, direction="ingress", protocol="tcp",
            port_range_min=port, port_range_max=port, remote_ip_prefix="10.0.0.0/8",
            ethertype="IPv4")
        for port in (22, 443)
    ]
    yield {"public": public, "network": network, "subnet": subnet, "router": router,
           "group": group, "rules": rules}
    net_api.remove_interface_from_router(router, subnet=subnet.id)
    net_api.delete_router(router)
    net_api.delete_security_group(group)
    net_api.delete_network(network)
    assert _gone(net_api.find_network, network.id)
    assert _gone(net_api.find_router, router.id)


@integration
def test_network_subnet_router_and_security_group(tenant, tenant_net):
    net_api = tenant["conn"].network
    router = net_api.get_router(tenant_net["router"].id)
    assert router.external_gateway_info["network_id"] == tenant_net["public"].id
    ports = list(net_api.ports(device_id=router.id, network_id=tenant_net["network"].id))
    assert [p.fixed_ips[0]["subnet_id"] for p in ports] == [tenant_net["subnet"].id]
    rules = list(net_api.security_group_rules(security_group_id=tenant_net["group"].id,
                                              protocol="tcp"))
    assert sorted(r.port_range_min for r in rules) == [22, 443]


@integration
def test_server_active_and_volume_attach_detach(tenant, tenant_net):
    conn = tenant["conn"]
    image = conn.image.find_image("kylin-v10-sp3", ignore_missing=False)
    flavor = conn.compute.find_flavor("c4m16", ignore_missing=False)
    server = conn.compute.create_server(
        name=_name("vm"), image_id=image.id, flavor_id=flavor.id,
        networks=[{"uuid": tenant_net["network"].id}],
        security_groups=[{"name": tenant_net["group"].name}])
    volume = None
    try:
        server = conn.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"],
                                              wait=120)
        addresses = server.addresses[tenant_net["network"].name]
        assert addresses[0]["addr"].startswith("10.42.0.")

        volume = conn.block_storage.create_volume(size=1, name=_name("vol"))
        conn.block_storage.wait_for_status(volume, "available", failures=["error"], wait=60)
        conn.compute.create_volume_attachment(server, volume=volume)
        volume = conn.block_storage.wait_for_status(volume, "in-use", failures=["error"],
                                                    wait=60)
        assert volume.attachments[0]["server_id"] == server.id
        conn.compute.delete_volume_attachment(server, volume.id)
        volume = conn.block_storage.wait_for_status(volume, "available", failures=["error"],
                                                    wait=60)
        assert volume.attachments == []
    finally:
        conn.compute.delete_server(server, ignore_missing=True)
        conn.compute.wait_for_delete(server, wait=60)
        if volume is not None:
            conn.block_storage.delete_volume(volume, ignore_missing=True)
            conn.block_storage.wait_for_delete(volume, wait=60)
    assert _gone(conn.compute.find_server, server.id)
    assert list(conn.block_storage.volumes()) == []


# ---- parts that need no running devcloud -----------------------------------------------------

PASSWORDS = {name: f"{name}-0123456789abcdef" for name in secrets.NAMES}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# clouds.yaml ---------------------------------------------------------------------------------

def test_merge_keeps_other_clouds_and_keys():
    existing = {"clouds": {"prod": {"auth": {"auth_url": "https://x"}}}, "cache": {"max": 1}}
    merged = clouds.merge(existing, clouds.entries(PASSWORDS))
    assert merged["cache"] == {"max": 1}
    assert set(merged["clouds"]) == {"prod", "devcloud", "devcloud-user"}
    assert merged["clouds"]["prod"] == existing["clouds"]["prod"]
    assert existing["clouds"].keys() == {"prod"}  # input not mutated
    assert merged["clouds"]["devcloud-user"]["auth"]["username"] == "devcloud-user"
    assert merged["clouds"]["devcloud"]["auth"]["auth_url"] == "http://127.0.0.1:5000/v3"


def test_install_writes_0600_keeps_a_backup_and_is_idempotent(tmp_path, monkeypatch):
    path = tmp_path / "openstack" / "clouds.yaml"
    path.parent.mkdir()
    path.write_text("# my clouds\nclouds:\n  prod:\n    region_name: X\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    assert clouds.install(PASSWORDS) == path
    doc = yaml.safe_load(path.read_text())
    assert doc["clouds"]["prod"] == {"region_name": "X"}
    assert doc["clouds"]["devcloud"]["auth"]["password"] == PASSWORDS["admin"]
    assert _mode(path) == 0o600
    backup = path.with_name("clouds.yaml.before-devcloud")
    assert backup.read_text().startswith("# my clouds")
    before = path.stat().st_mtime_ns
    clouds.install(PASSWORDS)
    assert path.stat().st_mtime_ns == before
    clouds.uninstall()
    assert set(yaml.safe_load(path.read_text())["clouds"]) == {"prod"}


def test_install_creates_a_missing_file(tmp_path, monkeypatch):
    path = tmp_path / "new" / "clouds.yaml"
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    clouds.install(PASSWORDS)
    assert set(yaml.safe_load(path.read_text())["clouds"]) == {"devcloud", "devcloud-user"}
    assert not path.with_name("clouds.yaml.before-devcloud").exists()


@pytest.mark.parametrize("text", ["clouds: [1, 2", "- a list", "clouds: [a]"])
def test_install_refuses_a_file_it_cannot_merge(tmp_path, text):
    path = tmp_path / "clouds.yaml"
    path.write_text(text)
    with pytest.raises(InputError):
        clouds.install(PASSWORDS, path)
    assert path.read_text() == text


# passwords ----------------------------------------------------------------------------------

def test_passwords_are_random_private_and_stable(tmp_path):
    path = tmp_path / "secrets.json"
    first = secrets.load_or_create(path)
    assert set(first) == set(secrets.NAMES)
    # 128-bit hex passwords; the key manager's fixed key is 256 bits.
    assert all(len(v) == (64 if k == "keymgr" else 32) and int(v, 16) >= 0
               for k, v in first.items())
    assert len(set(first.values())) == len(first)
    assert _mode(path) == 0o600
    assert secrets.load_or_create(path) == first
    path.write_text(json.dumps({"admin": first["admin"]}))
    refilled = secrets.load_or_create(path)
    assert refilled["admin"] == first["admin"] and set(refilled) == set(secrets.NAMES)


# configs ------------------------------------------------------------------------------------

def test_configs_render_fully_privately_and_on_loopback(tmp_path):
    layout = Layout(tmp_path / "devcloud")
    layout.make_dirs()
    config.render_all(layout, PASSWORDS)
    rendered = {rel: (layout.etc / rel) for rel in config.FILES.values()}
    for rel, path in rendered.items():
        text = path.read_text()
        assert "${" not in text, rel
        assert "0.0.0.0" not in text, rel
        assert _mode(path) == 0o600, rel
    nova = rendered["nova/nova.conf"].read_text()
    assert "compute_driver = fake.FakeDriverWithoutFakeNodes" in nova
    assert "send_service_user_token = true" in nova
    assert f"unix_socket={layout.db_socket}" in nova
    assert "mechanism_drivers = devcloud_noop" in rendered["neutron/plugins/ml2/ml2_conf.ini"]\
        .read_text()
    assert "skip-networking" in rendered["mariadb/my.cnf"].read_text()
    assert f"listeners.tcp.1 = 127.0.0.1:{PORTS['rabbitmq']}" in \
        rendered["rabbitmq/rabbitmq.conf"].read_text()
    assert len(str(layout.db_socket)) < 108  # AF_UNIX path limit


# pid files ----------------------------------------------------------------------------------

def test_start_track_and_stop_a_process_group(tmp_path):
    pid_file, log = tmp_path / "sleeper.pid", tmp_path / "sleeper.log"
    # a shell with a child: stopping the group must take both
    tracked = procs.start(["sh", "-c", "sleep 30 & sleep 30; wait"], env=dict(os.environ),
                          log=log, pid_file=pid_file, cwd=tmp_path)
    assert procs.alive(pid_file) == tracked
    deadline = time.monotonic() + 5
    while len(procs.group_members(tracked.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    members = procs.group_members(tracked.pid)
    assert len(members) >= 2 and procs.rss_bytes(members) > 0
    assert procs.stop_all([pid_file], grace=5) == []
    assert procs.group_members(tracked.pid) == []
    assert not pid_file.exists()
    assert procs.START_MARKER in log.read_text()


def test_a_reused_pid_is_not_ours(tmp_path):
    pid_file = tmp_path / "x.pid"
    pid_file.write_text(f"{os.getpid()} 1\n")  # our pid, but another start time
    assert procs.alive(pid_file) is None
    assert procs.stop_all([pid_file], grace=0.1) == []  # and so it is never signalled
    pid_file.write_text("garbage")
    assert procs.alive(pid_file) is None


# registry and preflight ---------------------------------------------------------------------

def test_registry_order_and_ports():
    assert len(BY_NAME) == len(SERVICES)
    assert {s.port for s in SERVICES if s.port} <= set(PORTS.values())
    stage = {s.name: s.stage for s in SERVICES}
    assert stage["mariadb"] < stage["keystone"] < stage["nova-scheduler"] < stage["nova-compute"]
    assert stage["nova-conductor"] < stage["nova-compute"]
    layout = Layout(Path("/nonexistent/devcloud"))
    for service in SERVICES:
        argv = service.argv(layout)
        assert argv and all(isinstance(a, str) for a in argv)
        assert not any("0.0.0.0" in a for a in argv), service.name
    keystone = BY_NAME["keystone"].argv(layout)
    assert keystone[keystone.index("--bind") + 1] == f"{HOST}:{PORTS['keystone']}"


def test_busy_port_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ExecutionError, match=f"port {port} .* used by another program"):
            preflight.check_port("keystone", port)


def test_missing_debian_packages_name_the_script(monkeypatch):
    monkeypatch.setattr(preflight.shutil, "which", lambda _cmd: None)
    monkeypatch.setattr(preflight, "rabbitmq_server", lambda: None)
    monkeypatch.setattr(preflight.Path, "exists", lambda _self: False)
    with pytest.raises(ExecutionError) as err:
        preflight.check_commands()
    assert "rabbitmq-server" in str(err.value) and "system-deps.sh" in str(err.value)


def test_too_little_disk_is_a_clear_error(tmp_path, monkeypatch):
    class Tiny:
        f_bavail, f_frsize = 10, 4096

    monkeypatch.setattr(preflight.os, "statvfs", lambda _p: Tiny)
    with pytest.raises(ExecutionError, match="MiB free"):
        preflight.check_disk(tmp_path / "devcloud", cold=True)


# CLI ----------------------------------------------------------------------------------------

def test_cli_status_of_a_devcloud_never_installed(tmp_path, monkeypatch):
    from govcloud.cli.devcloud_cmd import app

    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0 and "not installed" in result.output
    result = runner.invoke(app, ["status", "--json"])
    assert json.loads(result.output)["exists"] is False
    result = runner.invoke(app, ["down"])  # nothing to stop: still fine
    assert result.exit_code == 0


def test_cli_up_error_is_one_line_without_traceback(tmp_path, monkeypatch):
    from govcloud.cli.devcloud_cmd import app
    from govcloud.devcloud import lifecycle

    def refuse():
        raise ExecutionError("devcloud needs rabbitmq-server", hint="run `bash x.sh`")

    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(lifecycle.preflight, "check_commands", refuse)
    result = CliRunner().invoke(app, ["up"])
    assert result.exit_code == 3
    assert "devcloud needs rabbitmq-server: run `bash x.sh`" in result.output
    assert "Traceback" not in result.output


def test_system_deps_script_is_valid_bash():
    script = Path(__file__).resolve().parents[2] / "scripts" / "system-deps.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0


def test_a_daemon_dying_at_start_is_a_one_line_error_naming_its_log(tmp_path):
    from govcloud.devcloud import lifecycle
    from govcloud.devcloud.services import Service

    layout = Layout(tmp_path / "devcloud")
    layout.make_dirs()
    bogus = Service("bogus", 9, lambda _l: ["sh", "-c", "echo starting; echo boom: no db >&2"],
                    lambda _l: False)
    assert lifecycle._start(layout, [bogus], lambda _m: None) == ["bogus"]
    with pytest.raises(ExecutionError) as err:
        lifecycle._wait(layout, [bogus], lambda _m: None)
    message = str(err.value)
    assert "bogus exited during start-up (boom: no db)" in message
    assert str(layout.log_file("bogus")) in message and "\n" not in message
    assert lifecycle.down(layout) == []
    assert not lifecycle.is_up(layout)
