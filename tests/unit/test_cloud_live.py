"""The live reader turns what the services return (their JSON) into valid Cloud* documents,
one list call per type (the cloud is faked here with the JSON keystone, neutron, nova, cinder and
glance answer; the real thing is exercised by tests/integration/test_audit.py against devcloud)."""

from types import SimpleNamespace as NS

import pytest

from govcloud.cloud.live import AUDIT_LISTS, read_live
from govcloud.cloud.session import CallCounter
from govcloud.cloudkinds import CLOUD_KINDS
from govcloud.errors import CloudError
from govcloud.validate import schema_errors

TAGS = ["govcloud:request=REQ-1", "govcloud:department=prov-health", "govcloud:mlps=3",
        "govcloud:classification=secret", "other"]


def rule(**kw):
    base = {"id": "r1", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
            "remote_group_id": None, "remote_address_group_id": None, "description": "",
            "security_group_id": "sg1"}
    base.update(kw)
    return base


class FakeCloud:
    """``Cloud.list`` answered from {path: JSON list}, each call counted as the session's
    counter would; quotas through fake openstacksdk proxies."""

    def __init__(self, lists, quotas):
        self.name = "gov-ext"
        self.counter = CallCounter()
        self.lists = lists
        self.calls = []
        self.quotas = quotas
        self.conn = NS(**{service: NS(**{method: self._quota(method, answer)})
                          for service, (method, answer) in quotas.items()})

    def _quota(self, method, answer):
        def get(pid):
            self.counter.reads += 1
            self.calls.append((method, pid))
            return answer
        return get

    def get(self, service, path, key):
        """One quota set as JSON, recorded as the SDK method it stands for."""
        method, answer = self.quotas[service]
        return vars(self._quota(method, answer)(path.rsplit("/", 1)[1]))

    def list(self, service, path, key, *, params=None, microversion=None):
        self.counter.reads += 1
        self.calls.append((path, params))
        answer = self.lists[path]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def cloud():
    projects = [
        {"id": "p1" * 16, "name": "health-epi", "tags": TAGS, "domain_id": "default",
         "enabled": True, "description": "Epidemic", "is_domain": False},
        {"id": "p2" * 16, "name": "shadow it", "tags": [], "domain_id": "default",
         "enabled": True, "description": "", "is_domain": False},
        {"id": "ad" * 16, "name": "admin", "tags": None, "domain_id": "default",
         "enabled": True, "description": None, "is_domain": False},
    ]
    assignments = [
        {"user": {"id": "u1", "name": "ops-li"}, "role": {"id": "r", "name": "admin"},
         "scope": {"project": {"id": "ad" * 16, "name": "admin"}}},
        {"user": {"id": "u1", "name": "ops-li"}, "role": {"id": "a", "name": "auditor"},
         "scope": {"project": {"id": "p1" * 16, "name": "health-epi"}}},
        {"user": {"id": "u1", "name": "ops-li"}, "role": {"id": "r", "name": "admin"},
         "scope": {"system": {"all": True}}},
        {"group": {"id": "g"}, "role": {"id": "r", "name": "member"},
         "scope": {"domain": {"id": "default", "name": "Default"}}},
    ]
    lists = {
        "/projects": projects,
        "/domains": [{"id": "default", "name": "Default"}],
        "/users": [{"id": "u1", "name": "ops-li", "domain_id": "default", "enabled": True}],
        "/role_assignments": assignments,
        "/networks": [{"id": "n1", "name": "app-net", "project_id": "p1" * 16,
                       "status": "ACTIVE", "shared": False, "router:external": False,
                       "tags": []},
                      {"id": "n2", "name": "public", "project_id": "ad" * 16,
                       "status": "ACTIVE", "shared": False, "router:external": True,
                       "tags": []}],
        "/rbac-policies": [{"object_id": "n1", "target_tenant": "p2" * 16}],
        "/routers": [{"id": "rt1", "name": "r", "project_id": "p1" * 16, "status": "ACTIVE",
                      "tags": [], "external_gateway_info": {
                          "network_id": "n2", "external_fixed_ips": [
                              {"subnet_id": "s", "ip_address": "203.0.113.10"}]}}],
        "/security-groups": [{"id": "sg1", "name": "web", "project_id": "p1" * 16,
                              "description": "", "tags": ["govcloud:request=REQ-1"]}],
        "/security-group-rules": [rule(port_range_min=22, port_range_max=22,
                                       remote_ip_prefix="0.0.0.0/0"),
                                  rule(id="r2", protocol=None, ethertype="IPv6")],
        "/servers/detail": [
            {"id": "s1", "name": "app-1", "tenant_id": "p1" * 16, "status": "ACTIVE",
             "flavor": {"original_name": "c4m16"}, "image": {"id": "i1"},
             "security_groups": [{"name": "web"}],
             "metadata": {"govcloud:request": "REQ-1", "admin_pass": "s3cret"}},
            {"id": "s2", "name": "miner", "tenant_id": "p2" * 16, "status": "ACTIVE",
             "flavor": {"name": "c1m1", "id": "f"}, "image": {"id": "gone"},
             "security_groups": [], "metadata": {}}],
        "/volumes/detail": [
            {"id": "v1", "name": "data", "os-vol-tenant-attr:tenant_id": "p1" * 16,
             "status": "in-use", "size": 500, "encrypted": False, "volume_type": "__DEFAULT__",
             "bootable": "false", "attachments": [{"server_id": "s1"}],
             "metadata": {"token": "x"}}],
        "/images": [{"id": "i1", "name": "kylin-v10-sp3", "owner": "ad" * 16,
                     "status": "active", "visibility": "public", "disk_format": "raw",
                     "size": 1048576, "os_distro": None, "os_version": None,
                     "checksum": "b6d8", "os_hash_algo": "sha512", "os_hash_value": "9b71"}],
    }
    quotas = {
        "compute": ("get_quota_set", NS(cores=64, ram=262144, instances=20, key_pairs=10)),
        "block_storage": ("get_quota_set", NS(volumes=10, gigabytes=4096, snapshots=10)),
        "network": ("get_quota_default", NS(networks=100, subnets=100, routers=10, ports=500,
                                            floating_ips=50, security_groups=10,
                                            security_group_rules=100)),
    }
    # neutron lists the quotas of the projects that have their own, in one call
    lists["/quotas"] = [{"project_id": "p1" * 16, "network": 10, "subnet": 10, "router": 1,
                         "port": 50, "floatingip": 0, "security_group": 10,
                         "security_group_rule": 100}]
    return FakeCloud(lists, quotas)


def by_kind(snapshot, kind):
    return {d.id: d for d in snapshot.documents if d.kind == kind}


def test_every_document_is_valid_and_carries_its_tenant(cloud):
    snap = read_live(cloud)
    # every live kind has its mapper (a new Cloud* kind needs one in cloud/mappers.py)
    assert {doc.kind for doc in snap.documents} == set(CLOUD_KINDS)
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
    assert miner["flavor"] == "c1m1"
    volume = by_kind(snap, "CloudVolume")["v1"].spec
    assert volume["encrypted"] is False and volume["attached_to"] == ["s1"]
    assert volume["metadata"] == {} and volume["bootable"] is False  # cinder says "false"
    image = by_kind(snap, "CloudImage")["i1"].spec
    assert image["tenant"] == "admin" and image["hash_algo"] == "sha512"


def test_projects_users_networks_routers(cloud):
    snap = read_live(cloud)
    projects = by_kind(snap, "CloudProject")
    # A name that is not a valid id (a space) falls back to the OpenStack id.
    assert set(projects) == {"health-epi", "p2" * 16, "admin"}
    epi = projects["health-epi"].spec
    assert epi["request"] == "REQ-1" and epi["department"] == "prov-health"
    assert epi["quotas"]["cores"] == 64 and epi["quotas"]["gigabytes"] == 4096
    assert epi["quotas"]["ram_mb"] == 262144 and epi["quotas"]["security_group_rules"] == 100
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
    snap = read_live(cloud)
    lists = [call for call in cloud.calls if call[0].startswith("/")]
    paths = [path for path, _ in lists]
    # the groups came without their rules: the one extra call for them
    # ... and neutron's quotas of every project in one call
    assert len(paths) == len(set(paths)) == len(AUDIT_LISTS) + 2 == 13 and "/quotas" in paths
    quotas = [call for call in cloud.calls if not call[0].startswith("/")]
    assert sorted(quotas) == [("get_quota_set", "p1" * 16),
                              ("get_quota_set", "p1" * 16)]  # one managed project: nova, cinder
    assert snap.calls == 15 == cloud.counter.total
    assert dict(lists)["/servers/detail"] == {"all_tenants": 1}
    assert dict(lists)["/role_assignments"] == {"effective": "true", "include_names": "true"}


def test_network_quotas_come_from_neutrons_list(cloud):
    epi = by_kind(read_live(cloud), "CloudProject")["health-epi"].spec
    assert epi["quotas"]["networks"] == 10 and epi["quotas"]["security_group_rules"] == 100
    assert epi["quotas"]["routers"] == 1 and epi["quotas"]["floating_ips"] == 0
    assert not [call for call in cloud.calls if call[0] == "get_quota_default"]


def test_a_project_neutron_does_not_list_has_the_default_network_quotas(cloud):
    cloud.lists["/quotas"] = []  # no quota of its own: neutron lists only those
    epi = by_kind(read_live(cloud), "CloudProject")["health-epi"].spec
    assert epi["quotas"]["networks"] == 100 and epi["quotas"]["cores"] == 64
    assert [call[0] for call in cloud.calls].count("get_quota_default") == 1


def test_the_calls_do_not_grow_with_unmanaged_tenants(cloud):
    before = read_live(cloud).calls
    cloud.lists["/projects"] = cloud.lists["/projects"] + [
        {"id": f"x{i:031d}", "name": f"other-{i}", "tags": [], "domain_id": "default",
         "enabled": True} for i in range(50)]
    again = read_live(cloud)
    assert again.calls == before == 15  # each read counts its own calls
    assert len(by_kind(again, "CloudProject")) == 53


def test_api_failures_are_one_line_cloud_errors_with_what_to_do(cloud):
    from openstack.exceptions import ForbiddenException

    cloud.lists["/projects"] = ForbiddenException(
        "Policy doesn't allow identity:list_projects to be performed.\nmore")
    with pytest.raises(CloudError) as err:
        read_live(cloud)
    text = str(err.value)
    assert "cloud 'gov-ext': listing projects (identity) failed: Policy" in text
    assert "use an admin cloud" in text and "\n" not in text
    assert err.value.exit_code == 3


def test_rules_embedded_in_groups_save_the_rules_call(cloud):
    embedded = rule(id="r9", ethertype="IPv6", protocol=None)
    cloud.lists["/security-groups"] = [
        {"id": "sg1", "name": "web", "project_id": "p1" * 16, "description": "", "tags": [],
         "security_group_rules": [embedded]}]
    snap = read_live(cloud)
    assert "/security-group-rules" not in [path for path, _ in cloud.calls]
    rules = by_kind(snap, "CloudSecurityGroup")["sg1"].spec["rules"]
    assert rules == [{"rule_id": "r9", "direction": "ingress", "ethertype": "IPv6",
                      "protocol": "any", "remote": "::/0", "port_min": 1, "port_max": 65535}]


def test_drift_and_apply_read_network_quotas_in_one_list_call_whatever_the_number(cloud):
    """``read_quotas_of`` is what the audit, drift and apply (refresh) read quotas with:
    nova and cinder once per project, neutron once for all of them (a project neutron does not
    list gets the defaults, fetched once), never neutron per project."""
    from govcloud.cloud.read import read_quotas_of
    from govcloud.cloudkinds import QUOTA_KEYS

    pids = ["p1" * 16] + [f"{i:032x}" for i in range(40)]
    got = read_quotas_of(cloud, {pid: (f"t{i}", QUOTA_KEYS) for i, pid in enumerate(pids)})
    methods = [call[0] for call in cloud.calls]
    assert methods.count("/quotas") == 1 and methods.count("get_quota_default") == 1
    assert methods.count("get_quota_set") == 2 * len(pids)
    assert len(cloud.calls) == 2 * len(pids) + 2
    assert got["p1" * 16]["networks"] == 10 and got["p1" * 16]["cores"] == 64  # its own
    assert got[pids[1]]["networks"] == 100 and got[pids[1]]["gigabytes"] == 4096  # defaults
    # only the keys asked for: no neutron call at all when none of them is neutron's
    cloud.calls.clear()
    assert read_quotas_of(cloud, {pids[0]: ("t0", ["cores"])}) == {pids[0]: {"cores": 64}}
    assert [call[0] for call in cloud.calls] == ["get_quota_set"]


def test_keystone_lists_are_asked_with_a_limit_so_they_page_past_a_thousand():
    """Keystone cuts an unpaged list at max_db_limit (1,000) without a next link or a
    `truncated` flag: asked without `limit`, a province's 1,001st project was silently missing
    (plan wanted to create it again, the audit never saw it). With a limit it pages."""
    from govcloud.cloud.session import KEYSTONE_PAGE, Cloud

    pages = {None: {"projects": [{"id": f"p{i}"} for i in range(1000)],
                    "links": {"next": "http://k/v3/projects?limit=1000&marker=p999"}},
             "http://k/v3/projects?limit=1000&marker=p999": {
                 "projects": [{"id": "p1000"}], "links": {"next": None}}}
    asked = []

    class Response:
        def __init__(self, url, body):
            self.url, self.body, self.status_code = url, body, 200

        def json(self):
            return self.body

    def get(url, params=None, microversion=None):
        asked.append((url, params))
        if params is not None and "limit" not in params:  # keystone: cut, and silent
            return Response(url, {"projects": pages[None]["projects"], "links": {}})
        key = None if url == "/projects" else url
        return Response(url if key else "http://k/v3/projects", pages[key])

    cloud = Cloud.__new__(Cloud)
    cloud.conn = NS(identity=NS(get=get))
    got = cloud.list("identity", "/projects", "projects", params={"domain_id": "default"})
    assert len(got) == 1001 and got[-1] == {"id": "p1000"}
    assert asked[0] == ("/projects", {"domain_id": "default", "limit": KEYSTONE_PAGE})
