"""devcloud through openstacksdk, as govcloud's provisioning will use it.

Every test makes its own uniquely named project/resources and deletes them, so the suite runs
against a devcloud others use too. The parts of devcloud that need no running cloud (clouds.yaml
merge, passwords, configs, pid files, the service registry, preflight errors, the CLI) are
tested in tests/unit/test_devcloud_local.py.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import openstack
import pytest
import yaml

from govcloud.devcloud.layout import Layout

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
