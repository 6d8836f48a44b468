"""Provisioning without a cloud: credentials bundles, the gates before any API call, plan files,
and the cloud reader's mapping on faked SDK objects (the real cloud is in tests/integration)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace as NS

import pytest
from typer.testing import CliRunner

from govcloud.cli.app import app
from govcloud.cloud.read import QUOTA_TAG, quota_digest, read_cloud
from govcloud.errors import InputError, IntegrityError
from govcloud.provision import credentials
from govcloud.provision.desired import Resource, _fields

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "examples" / "requests" / "good-county-elderly-care-level2.yaml"
BAD = ROOT / "examples" / "requests" / "bad-ssh-rdp-open-to-world.yaml"
INVENTORY = str(ROOT / "inventory")
runner = CliRunner()


@pytest.fixture
def no_cloud(monkeypatch):
    """Any API call would fail: the cloud named does not exist in clouds.yaml."""
    monkeypatch.setenv("OS_CLOUD", "no-such-cloud")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml")


# ---------------------------------------------------------------- credentials bundles


def test_bundle_round_trip_is_encrypted_and_private(tmp_path):
    key = bytes.fromhex(credentials.generate_key())
    path = credentials.put_password(tmp_path, key, "prov-health", "t1", "zhang.wei", "s3cret-pw!")
    credentials.put_password(tmp_path, key, "prov-health", "t1", "li.na", "other-pw!")
    assert path.stat().st_mode & 0o777 == 0o600
    raw = path.read_bytes()
    assert b"s3cret-pw!" not in raw and b"zhang.wei" not in raw
    data = credentials.read_bundle(path, key)
    assert data["users"]["t1/zhang.wei"]["password"] == "s3cret-pw!"
    assert data["users"]["t1/li.na"]["password"] == "other-pw!"
    assert json.loads(raw)["cipher"] == "SM4-GCM"


def test_bundle_refuses_a_wrong_key_a_rename_and_a_changed_byte(tmp_path):
    key = bytes.fromhex(credentials.generate_key())
    path = credentials.put_password(tmp_path, key, "dept-a", "t", "u", "pw")
    with pytest.raises(IntegrityError):
        credentials.read_bundle(path, bytes.fromhex(credentials.generate_key()))
    renamed = tmp_path / "dept-b.gcb"
    shutil.copy(path, renamed)
    with pytest.raises(IntegrityError):  # the department name is authenticated
        credentials.read_bundle(renamed, key)
    outer = json.loads(path.read_text())
    body = bytearray(outer["ciphertext"].encode())
    body[5] = ord("A") if body[5] != ord("A") else ord("B")
    outer["ciphertext"] = body.decode()
    path.write_text(json.dumps(outer))
    with pytest.raises(IntegrityError):
        credentials.read_bundle(path, key)


def test_key_sources_and_their_errors(tmp_path, monkeypatch):
    monkeypatch.delenv(credentials.KEY_ENV, raising=False)
    with pytest.raises(InputError, match="credentials-key"):
        credentials.load_key(None)
    monkeypatch.setenv(credentials.KEY_ENV, "not-hex")
    with pytest.raises(InputError, match="32 hex digits"):
        credentials.load_key(None)
    good = credentials.generate_key()
    monkeypatch.setenv(credentials.KEY_ENV, good)
    assert credentials.load_key(None) == bytes.fromhex(good)
    key_file = tmp_path / "k"
    key_file.write_text(good + "\n")
    assert credentials.load_key(key_file) == bytes.fromhex(good)


def test_cli_keygen_and_show(tmp_path):
    key_file = tmp_path / "keys" / "cred.key"
    result = runner.invoke(app, ["credentials", "keygen", "--out", str(key_file)])
    assert result.exit_code == 0, result.output
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert runner.invoke(app, ["credentials", "keygen", "--out", str(key_file)]).exit_code == 2
    key = credentials.load_key(key_file)
    bundle = credentials.put_password(tmp_path / "b", key, "dept", "tenant-x", "wang", "pw-123")
    shown = runner.invoke(app, ["credentials", "show", str(bundle), "--credentials-key",
                                str(key_file), "-o", "json"])
    assert shown.exit_code == 0, shown.output
    users = json.loads(shown.stdout)["users"]
    assert [(u["tenant"], u["user"], u["password"]) for u in users] == [
        ("tenant-x", "wang", "pw-123")]
    other = tmp_path / "other.key"
    other.write_text(credentials.generate_key())
    wrong = runner.invoke(app, ["credentials", "show", str(bundle), "--credentials-key",
                                str(other)])
    assert wrong.exit_code == 4 and "does not decrypt" in wrong.output


# ---------------------------------------------------------------- gates before any API call


def test_a_request_failing_its_policies_is_refused_before_the_cloud(no_cloud):
    result = runner.invoke(app, ["plan", INVENTORY, str(BAD)])
    assert result.exit_code == 1, result.output
    assert "refused" in result.output and "Nothing was sent to the cloud" in result.output
    assert "GC-" in result.output  # names the findings


def test_invalid_documents_stop_before_the_cloud(tmp_path, no_cloud):
    broken = tmp_path / "req.yaml"
    broken.write_text(GOOD.read_text().replace("mlps_level: 2", "mlps_level: nine"))
    result = runner.invoke(app, ["apply", INVENTORY, str(broken), "--yes"])
    assert result.exit_code == 2, result.output
    assert "req.yaml:" in result.output and "mlps_level" in result.output
    assert "Traceback" not in result.output


def test_unknown_cloud_is_an_input_error(no_cloud):
    result = runner.invoke(app, ["plan", INVENTORY, str(GOOD)])
    assert result.exit_code == 2, result.output
    assert "no-such-cloud" in result.output and "clouds.yaml" in result.output


def test_a_json_file_that_is_not_a_plan_is_refused(tmp_path, no_cloud):
    other = tmp_path / "x.json"
    other.write_text('{"hello": 1}')
    result = runner.invoke(app, ["apply", str(other), "--yes"])
    assert result.exit_code == 2 and "not a govcloud plan file" in result.output


# Approvals at apply (MLPS >= 3 needs department, ops and security): tests/unit/test_approvals.py


# ---------------------------------------------------------------- the reader on fake SDK objects


class _FakeCloud:
    """``Cloud.list`` answered from plain JSON lists, quota sets (``Cloud.get``) counted."""

    def __init__(self, lists):
        self.lists = lists
        self.quota_reads = 0
        self.listed = []
        self.user_id = "me"
        self.name = "fake"
        self.conn = NS(compute=NS(get_quota_set=self._quota))

    def list(self, service, path, key, *, params=None, microversion=None):
        self.listed.append(path)
        return self.lists.get(key, [])

    def _quota(self, pid):
        self.quota_reads += 1
        return NS(cores=99, ram=2048, instances=3)

    def get(self, service, path, key):
        assert service == "compute" and path.startswith("/os-quota-sets/"), path
        return vars(self._quota(path.rsplit("/", 1)[1]))


def _fake_cloud(tags):
    project = {"id": "p1", "name": "t1", "tags": tags, "description": "d"}
    egress = {"id": "r0", "direction": "egress", "protocol": None, "remote_ip_prefix": None,
              "remote_group_id": None, "description": None, "port_range_min": None,
              "port_range_max": None}
    ours = {"id": "r1", "direction": "ingress", "protocol": "tcp",
            "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": None,
            "description": "govcloud:request=R1", "port_range_min": 443, "port_range_max": 443}
    theirs = {"id": "r2", "direction": "ingress", "protocol": "tcp",
              "remote_ip_prefix": "0.0.0.0/0", "remote_group_id": None, "description": "",
              "port_range_min": 3389, "port_range_max": 3389}
    group = {"id": "g1", "name": "web", "project_id": "p1", "tags": ["govcloud:request=R1"],
             "description": "", "security_group_rules": [egress, ours, theirs]}
    default = {"id": "g0", "name": "default", "project_id": "p1", "tags": [],
               "description": "", "security_group_rules": [dict(ours, id="r9")]}
    other = {"id": "g9", "name": "web", "project_id": "elsewhere", "tags": [],
             "description": "", "security_group_rules": [dict(theirs, id="r8")]}
    server = {"id": "s1", "name": "stray", "tenant_id": "p1", "status": "ERROR",
              "flavor": {"original_name": "c1m1"}, "image": {"id": "i1"}, "metadata": {}}
    volume_backed = {"id": "s2", "name": "boots-from-volume", "tenant_id": "p1",
                     "status": "ACTIVE", "flavor": {"original_name": "c1m1"}, "image": "",
                     "metadata": {}}
    cloud = _FakeCloud({"projects": [project], "security_groups": [group, default, other],
                        "servers": [server, volume_backed],
                        "images": [{"id": "i1", "name": "img"}]})
    return cloud, cloud


def _by_key(snap):
    return {r.key: r for r in snap.resources}


def _desired():
    return [Resource("project", "t1", "t1", "R1", _fields({"description": "d"})),
            Resource("quota", "t1", "t1", "R1", _fields({"cores": 8}), "t1")]


def test_reader_maps_rules_and_skips_what_neutron_makes_by_itself():
    cloud, _ = _fake_cloud(["govcloud:request=R1"])
    snap = read_cloud(cloud, _desired(), {"R1"})
    names = {(r.kind, r.name, r.request) for r in snap.resources}
    assert ("security_group", "web", "R1") in names
    assert ("sg_rule", "web:ingress:tcp:443-443:10.0.0.0/8", "R1") in names
    assert ("sg_rule", "web:ingress:tcp:3389-3389:0.0.0.0/0", "") in names  # out of band
    assert not [n for n in names if n[1] == "default" or "egress" in n[1]]
    assert ("server", "stray", "") in names
    assert snap.broken[("t1", "server", "stray")] == "the server is in ERROR state"
    resources = _by_key(snap)
    assert resources[("t1", "server", "stray")].field_map()["image"] == "img"
    assert resources[("t1", "server", "boots-from-volume")].field_map().get("image") is None
    assert snap.ids[("t1", "sg_rule", "web:ingress:tcp:443-443:10.0.0.0/8")] == "r1"
    assert "r8" not in snap.ids.values()  # another project's group of the same name
    # neutron's groups carry their rules: /security-group-rules is never listed
    assert "/security-group-rules" not in cloud.listed


def test_quotas_are_read_only_where_the_recorded_digest_differs():
    digest = quota_digest({"cores": 8})
    cloud, compute = _fake_cloud(["govcloud:request=R1", f"{QUOTA_TAG}={digest}"])
    snap = read_cloud(cloud, _desired(), {"R1"})
    assert compute.quota_reads == 0
    quota = next(r for r in snap.resources if r.kind == "quota")
    assert quota.field_map() == {"cores": 8}
    refreshed = read_cloud(cloud, _desired(), {"R1"}, refresh=True)
    assert compute.quota_reads == 1
    assert next(r for r in refreshed.resources if r.kind == "quota").field_map() == {
        "cores": 99}
    stale, compute2 = _fake_cloud(["govcloud:request=R1", f"{QUOTA_TAG}=0000"])
    read_cloud(stale, _desired(), {"R1"})
    assert compute2.quota_reads == 1


def test_a_project_owned_by_someone_else_is_a_conflict():
    cloud, _ = _fake_cloud([])  # exists, but no govcloud:request tag
    snap = read_cloud(cloud, _desired(), {"R1"})
    assert snap.conflicts and "belongs to nobody" in snap.conflicts[0]
    assert not snap.resources



def _failing(calls, errors):
    """A read that raises each of ``errors`` in turn, then answers."""
    def read():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return ["ok"]

    return read


def test_reads_are_retried_when_the_connection_drops_and_only_then():
    from keystoneauth1.exceptions import ConnectFailure

    from govcloud.cloud.session import retried
    from govcloud.errors import CloudError

    calls: list[int] = []
    reset = ConnectFailure("Connection reset by peer")
    assert retried("t", "servers", _failing(calls, [reset, reset]), pause=0) == ["ok"]
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(CloudError, match="tenant t: servers: list failed"):
        retried("t", "servers", _failing(calls, [ConnectFailure("Connection refused")] * 3),
                pause=0)
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(CloudError, match="403"):
        retried("t", "servers", _failing(calls, [ValueError("403 Forbidden")]), pause=0)
    assert len(calls) == 1


class _Response:
    def __init__(self, url, body, status=200):
        self.url, self._body, self.status_code = url, body, status
        self.headers, self.reason, self.text = {}, "OK", ""

    def json(self):
        return self._body


class _PagedProxy:
    """Answers GETs from a {url-or-path: body} map and records them."""

    def __init__(self, pages):
        self.pages, self.gets = pages, []

    def get(self, url, params=None, microversion=None):
        self.gets.append((url, params, microversion))
        return _Response(url if url.startswith("http") else "http://api:1/v2" + url,
                         self.pages[url])


def test_lists_follow_every_paging_style_and_stop_on_a_repeated_marker():
    from govcloud.cloud.session import CallCounter, Cloud

    nova = _PagedProxy({
        "/servers/detail": {"servers": [{"id": 1}], "servers_links": [
            {"rel": "next", "href": "http://api:1/v2/servers/detail?marker=1"}]},
        "http://api:1/v2/servers/detail?marker=1": {"servers": [{"id": 2}]}})
    keystone = _PagedProxy({
        "/projects": {"projects": [{"id": "a"}], "links": {"next": "http://k/v3/projects?p=2"}},
        "http://k/v3/projects?p=2": {"projects": [{"id": "b"}], "links": {"next": None}}})
    glance = _PagedProxy({
        "/images": {"images": [{"id": "i"}], "next": "/v2/images?marker=i"},
        "http://api:1/v2/images?marker=i": {"images": [{"id": "j"}],
                                            "next": "/v2/images?marker=i"}})
    cloud = Cloud("fake", NS(compute=nova, identity=keystone, image=glance), CallCounter())
    assert [s["id"] for s in cloud.list("compute", "/servers/detail", "servers",
                                        params={"all_tenants": 1}, microversion="2.47")] == [1, 2]
    assert nova.gets[0] == ("/servers/detail", {"all_tenants": 1}, "2.47")
    assert nova.gets[1][1] is None  # the next link carries the query
    assert [p["id"] for p in cloud.list("identity", "/projects", "projects")] == ["a", "b"]
    # glance's next is a path on the same host; a service repeating its marker is not followed
    assert [i["id"] for i in cloud.list("image", "/images", "images")] == ["i", "j"]
    assert len(glance.gets) == 2


# ---------------------------------------------------------------- the commands on a fake cloud

IMAGES = {"kylin-v10-sp3": {"id": "i", "name": "kylin-v10-sp3", "status": "active",
                            "checksum": "c"}}


@pytest.fixture
def fake_cloud(tmp_path, monkeypatch):
    """A cloud that holds exactly what the request asks for (the service's own fakes: no
    module global patched)."""
    from govcloud.provision.desired import desired_state
    from tests.unit.fake_provision import FakeProvision
    from tests.unit.helpers import BASE, REQUEST, load_texts

    validated = load_texts(tmp_path, inv__base=BASE, req=REQUEST)
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(tmp_path / "inv"))
    monkeypatch.setenv("OS_CLOUD", "devcloud")
    monkeypatch.setenv("GOVCLOUD_SKIP_APPROVALS_ON_DEVCLOUD", "1")  # MLPS 3: not about approvals
    fake = FakeProvision(list(desired_state(validated.catalog)), IMAGES, state=tmp_path / "st")
    return tmp_path / "req.yaml", fake


def _cli(fake, *args):
    return runner.invoke(app, list(args), obj=fake.service)


def test_apply_on_a_cloud_that_matches_makes_no_write(fake_cloud):
    path, fake = fake_cloud
    result = _cli(fake, "apply", str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert "cloud devcloud: no changes; the cloud matches the requests (0 write calls)" in (
        result.output)
    assert fake.executed == [] and fake.reads == [True]
    drift = _cli(fake, "drift", str(path), "-o", "table")
    assert drift.exit_code == 0 and "No drift: the cloud matches the requests." in drift.stdout
    assert _cli(fake, "drift", str(path), "-o", "xml").exit_code == 2


def test_a_saved_plan_is_refused_once_the_cloud_changed(fake_cloud, tmp_path):
    path, fake = fake_cloud
    saved = tmp_path / "plan.json"
    made = _cli(fake, "plan", str(path), "-o", "json", "--out", str(saved))
    assert made.exit_code == 0, made.output
    data = json.loads(saved.read_text())
    assert data["format"] == "govcloud-plan" and data["clouds"][0]["actions"] == []
    assert json.loads(made.stdout)["clouds"] == data["clouds"]
    fake.actual = [r for r in fake.actual if r.kind != "router"]  # deleted by hand meanwhile
    stale = _cli(fake, "apply", str(saved), "--yes")
    assert stale.exit_code == 2 and "cloud devcloud changed since the plan was made (stale " \
        "plan)" in stale.output
    assert fake.executed == []


def test_apply_refuses_while_another_holds_the_cloud(fake_cloud):
    path, fake = fake_cloud
    fake.actual = [r for r in fake.actual if r.kind != "router"]
    service = fake.service
    with service.cloud_lock("devcloud"):
        busy = runner.invoke(app, ["apply", str(path), "--yes"], obj=service)
    assert busy.exit_code == 2 and "another govcloud apply or destroy is running on cloud " \
        "devcloud" in busy.output
    assert fake.executed == []
    done = runner.invoke(app, ["apply", str(path), "--yes"], obj=service)
    assert done.exit_code == 0, done.output
    assert fake.executed == [[("create", "router", "health-epi-router")]]
    assert "apply complete: 1 created, 0 changed, 0 replaced, 0 deleted" in done.output


def test_an_extra_copy_is_drift_and_apply_deletes_it(fake_cloud):
    import dataclasses

    from govcloud.cloud.copies import copy_name
    from govcloud.cloud.read import Snapshot

    path, fake = fake_cloud
    router = next(r for r in fake.actual if r.kind == "router")
    copy = dataclasses.replace(router, name=copy_name(router.name, "r-old"))
    fake.snapshot = lambda: Snapshot(resources=[*fake.actual, copy], images=IMAGES,
                                     copies={copy.key: (router.key, "kept r-new (in use)")})
    drift = _cli(fake, "drift", str(path), "-o", "json")
    assert drift.exit_code == 1, drift.output
    assert [(r["status"], r["kind"], r["name"]) for r in json.loads(drift.stdout)["drift"]] == [
        ("duplicate", "router", "health-epi-router (copy r-old)")]
    plan = _cli(fake, "plan", str(path), "-o", "table")
    assert plan.exit_code == 0
    assert ('- router "health-epi-router (copy r-old)" (tenant health-epi, REQ-1)  # a second '
            "copy of a managed name in the tenant; kept r-new (in use)") in plan.stdout
    applied = _cli(fake, "apply", str(path), "--yes")
    assert applied.exit_code == 0, applied.output
    assert fake.executed == [[("delete", "router", "health-epi-router (copy r-old)")]]
    assert "will delete" not in applied.output  # a copy of ours: not listed as foreign
