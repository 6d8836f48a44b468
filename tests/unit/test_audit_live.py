"""The live reader turns openstacksdk objects into valid Cloud* documents, one list call per
type (the cloud is faked here with the attributes openstacksdk's resources have; the real thing
is exercised by tests/integration/test_audit.py against devcloud)."""

from types import SimpleNamespace as NS

import pytest

from govcloud.audit.live import cloud_error, normalize_rule, read_cloud, tag_values
from govcloud.errors import CloudError
from govcloud.validate import schema_errors

TAGS = ["govcloud:request=REQ-1", "govcloud:department=prov-health", "govcloud:mlps=3",
        "govcloud:classification=secret", "other"]


def rule(**kw):
    base = dict(id="r1", direction="ingress", ether_type="IPv4", protocol="tcp",
                port_range_min=None, port_range_max=None, remote_ip_prefix=None,
                remote_group_id=None, remote_address_group_id=None, description="",
                security_group_id="sg1")
    base.update(kw)
    return NS(**base)


class Lister:
    """One fake service: each list method counts its calls and returns fixed objects."""

    def __init__(self, calls, **lists):
        self._calls, self._lists = calls, lists

    def __getattr__(self, name):
        def method(*args, **kwargs):
            self._calls.append((name, kwargs))
            value = self._lists[name]
            return value(*args) if callable(value) else value
        return method


@pytest.fixture
def cloud():
    calls = []
    projects = [
        NS(id="p1" * 16, name="health-epi", tags=TAGS, domain_id="default", is_enabled=True,
           description="Epidemic", is_domain=False),
        NS(id="p2" * 16, name="shadow it", tags=[], domain_id="default", is_enabled=True,
           description="", is_domain=False),
        NS(id="ad" * 16, name="admin", tags=None, domain_id="default", is_enabled=True,
           description=None, is_domain=False),
    ]
    assignments = [
        NS(user={"id": "u1", "name": "ops-li"}, role={"id": "r", "name": "admin"},
           scope={"project": {"id": "ad" * 16, "name": "admin"}}),
        NS(user={"id": "u1", "name": "ops-li"}, role={"id": "a", "name": "auditor"},
           scope={"project": {"id": "p1" * 16, "name": "health-epi"}}),
        NS(user={"id": "u1", "name": "ops-li"}, role={"id": "r", "name": "admin"},
           scope={"system": {"all": True}}),
        NS(group={"id": "g"}, user=None, role={"id": "r", "name": "member"},
           scope={"domain": {"id": "default", "name": "Default"}}),
    ]
    identity = Lister(
        calls, projects=projects, domains=[NS(id="default", name="Default")],
        users=[NS(id="u1", name="ops-li", domain_id="default", is_enabled=True)],
        role_assignments=assignments)
    network = Lister(
        calls,
        networks=[NS(id="n1", name="app-net", project_id="p1" * 16, status="ACTIVE",
                     is_shared=False, is_router_external=False, tags=[]),
                  NS(id="n2", name="public", project_id="ad" * 16, status="ACTIVE",
                     is_shared=False, is_router_external=True, tags=[])],
        rbac_policies=[NS(object_id="n1", target_project_id="p2" * 16)],
        routers=[NS(id="rt1", name="r", project_id="p1" * 16, status="ACTIVE", tags=[],
                    external_gateway_info={"network_id": "n2", "external_fixed_ips": [
                        {"subnet_id": "s", "ip_address": "203.0.113.10"}]})],
        security_groups=[NS(id="sg1", name="web", project_id="p1" * 16, description="",
                            tags=["govcloud:request=REQ-1"])],
        security_group_rules=[rule(port_range_min=22, port_range_max=22,
                                   remote_ip_prefix="0.0.0.0/0"),
                              rule(id="r2", protocol=None, ether_type="IPv6")],
        quotas=[NS(project_id="p1" * 16, networks=10, subnets=10, routers=1, ports=50,
                   floating_ips=0, security_groups=10, security_group_rules=100)],
        get_quota_default=lambda pid: NS(networks=100, subnets=100, routers=10, ports=500,
                                         floating_ips=50, security_groups=10,
                                         security_group_rules=100))
    compute = Lister(
        calls,
        servers=[NS(id="s1", name="app-1", project_id="p1" * 16, status="ACTIVE",
                    flavor=NS(original_name="c4m16", name=None, id=None),
                    image={"id": "i1"}, security_groups=[{"name": "web"}],
                    metadata={"govcloud:request": "REQ-1", "admin_pass": "s3cret"}),
                 NS(id="s2", name="miner", project_id="p2" * 16, status="ACTIVE",
                    flavor=NS(original_name=None, name="c1m1", id="f"), image={"id": "gone"},
                    security_groups=[], metadata={})],
        get_quota_set=lambda pid: NS(cores=64, ram=262144, instances=20, key_pairs=10))
    block = Lister(
        calls,
        volumes=[NS(id="v1", name="data", project_id="p1" * 16, status="in-use", size=500,
                    is_encrypted=False, volume_type="__DEFAULT__", is_bootable=False,
                    attachments=[{"server_id": "s1"}], metadata={"token": "x"})],
        get_quota_set=lambda pid: NS(volumes=10, gigabytes=4096, snapshots=10))
    image = Lister(calls, images=[NS(id="i1", name="kylin-v10-sp3", owner_id="ad" * 16,
                                     status="active", visibility="public", disk_format="raw",
                                     size=1048576, os_distro=None, os_version=None,
                                     checksum="b6d8", hash_algo="sha512", hash_value="9b71")])
    conn = NS(identity=identity, network=network, compute=compute, block_storage=block,
              image=image)
    return conn, calls


def by_kind(snapshot, kind):
    return {d.id: d for d in snapshot.documents if d.kind == kind}


def test_every_document_is_valid_and_carries_its_tenant(cloud):
    conn, calls = cloud
    snap = read_cloud(conn, "gov-ext")
    for doc in snap.documents:
        assert schema_errors(doc) == [], doc.ref
        assert doc.file == "cloud:gov-ext" and doc.line == 0
    server = by_kind(snap, "CloudServer")["s1"].spec
    assert server["tenant"] == "health-epi" and server["mlps_level"] == 3
    assert server["classification"] == "secret" and server["tenant_request"] == "REQ-1"
    assert server["request"] == "REQ-1" and server["flavor"] == "c4m16"
    assert server["image"] == {"id": "i1", "found": True, "name": "kylin-v10-sp3",
                               "checksum": "b6d8", "hash_algo": "sha512", "hash_value": "9b71"}
    assert server["metadata"] == {"govcloud:request": "REQ-1"}  # admin_pass is not copied
    miner = by_kind(snap, "CloudServer")["s2"].spec
    assert "request" not in miner and miner["image"] == {"id": "gone", "found": False}
    volume = by_kind(snap, "CloudVolume")["v1"].spec
    assert volume["encrypted"] is False and volume["attached_to"] == ["s1"]
    assert volume["metadata"] == {}


def test_projects_users_networks_routers(cloud):
    conn, _ = cloud
    snap = read_cloud(conn, "gov-ext")
    projects = by_kind(snap, "CloudProject")
    # A name that is not a valid id (a space) falls back to the OpenStack id.
    assert set(projects) == {"health-epi", "p2" * 16, "admin"}
    epi = projects["health-epi"].spec
    assert epi["request"] == "REQ-1" and epi["department"] == "prov-health"
    assert epi["quotas"]["cores"] == 64 and epi["quotas"]["gigabytes"] == 4096
    assert epi["quotas"]["security_group_rules"] == 100
    assert epi["users"] == [{"name": "ops-li", "user_id": "u1", "roles": ["auditor"]}]
    assert "quotas" not in projects["admin"].spec  # unmanaged: quotas are not read
    user = by_kind(snap, "CloudUser")["ops-li"].spec
    assert user["role_names"] == ["admin", "auditor"]
    assert {"role": "admin", "scope": "system"} in user["roles"]
    nets = by_kind(snap, "CloudNetwork")
    assert nets["n1"].spec["shared_with"] == ["shadow it"]  # by project name
    assert nets["n2"].spec["external"] is True
    router = by_kind(snap, "CloudRouter")["rt1"].spec
    assert router["external_gateway"] is True and router["external_network"] == "public"
    assert router["external_ips"] == ["203.0.113.10"] and router["classification"] == "secret"


def test_one_list_call_per_type_and_quotas_per_managed_project(cloud):
    conn, calls = cloud
    snap = read_cloud(conn, "gov-ext")
    names = [name for name, _ in calls]
    lists = [n for n in names if not n.startswith("get_")]
    # one list per type, and neutron's quotas of all projects in one call
    assert len(lists) == len(set(lists)) == 13 and "quotas" in lists
    assert sorted(n for n in names if n.startswith("get_")) == [
        "get_quota_set", "get_quota_set"]  # one managed project: compute and volume
    assert snap.calls == 15
    assert dict(calls)["servers"] == {"all_projects": True}
    assert dict(calls)["role_assignments"] == {"effective": True, "include_names": True}


def test_a_project_neutron_does_not_list_has_the_default_network_quotas(cloud):
    conn, calls = cloud
    conn.network._lists["quotas"] = []  # no quota of its own: neutron lists only those
    snap = read_cloud(conn, "gov-ext")
    epi = by_kind(snap, "CloudProject")["health-epi"].spec
    assert epi["quotas"]["networks"] == 100 and epi["quotas"]["cores"] == 64
    assert [n for n, _ in calls].count("get_quota_default") == 1


def test_rules_are_normalised_like_request_rules():
    assert normalize_rule(rule(port_range_min=22, port_range_max=22,
                               remote_ip_prefix="0.0.0.0/0")) == {
        "rule_id": "r1", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
        "remote": "0.0.0.0/0", "port_min": 22, "port_max": 22}
    anything = normalize_rule(rule(protocol=None, ether_type="IPv6"))
    assert anything["remote"] == "::/0" and anything["protocol"] == "any"
    assert (anything["port_min"], anything["port_max"]) == (1, 65535)
    assert normalize_rule(rule(protocol="6"))["protocol"] == "tcp"
    icmp = normalize_rule(rule(protocol="icmp", remote_group_id="sg9"))
    assert icmp["remote"] == "group:sg9" and "port_min" not in icmp


def test_tag_values_and_bad_tags():
    assert tag_values(["govcloud:mlps=3", "x=y", "govcloud:bad"]) == {"mlps": "3"}


def test_api_failures_are_one_line_cloud_errors(cloud):
    conn, _ = cloud

    class Forbidden(Exception):
        status_code = 403

    def boom(**_):
        raise Forbidden("Policy doesn't allow identity:list_projects to be performed.\nmore")

    conn.identity.projects = boom
    with pytest.raises(CloudError) as err:
        read_cloud(conn, "gov-ext")
    text = str(err.value)
    assert "cloud 'gov-ext': listing projects (identity) failed" in text
    assert "use an admin cloud" in text and "\n" not in text
    assert err.value.exit_code == 3
    assert "refused" in str(cloud_error("c", "x", type("E", (Exception,),
                                                        {"status_code": 401})("no")))


def test_rules_embedded_in_groups_save_the_rules_call(cloud):
    conn, calls = cloud
    embedded = {"id": "r9", "direction": "ingress", "ethertype": "IPv6", "protocol": None,
                "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
                "remote_group_id": None, "description": "", "security_group_id": "sg1"}
    conn.network._lists["security_groups"] = [
        NS(id="sg1", name="web", project_id="p1" * 16, description="", tags=[],
           security_group_rules=[embedded])]
    snap = read_cloud(conn, "gov-ext")
    assert "security_group_rules" not in [name for name, _ in calls]
    rules = by_kind(snap, "CloudSecurityGroup")["sg1"].spec["rules"]
    assert rules == [{"rule_id": "r9", "direction": "ingress", "ethertype": "IPv6",
                      "protocol": "any", "remote": "::/0", "port_min": 1, "port_max": 65535}]
