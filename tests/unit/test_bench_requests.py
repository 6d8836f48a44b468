"""The benches' generated requests and the floor's call list (structure only, never speed)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import provision  # noqa: E402  (bench/provision.py)
import scale  # noqa: E402  (bench/scale.py)

from govcloud.cli.app import load_documents  # noqa: E402
from govcloud.provision.desired import desired_state  # noqa: E402


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], object]:
    folder = tmp_path_factory.mktemp("scale") / "requests"
    departments = provision.departments(ROOT / "inventory")
    requests = scale.requests_for("abc123", 30, 7, departments)
    provision.write_requests(folder, requests)
    return requests, load_documents([folder], 10 * 1024 * 1024, ROOT / "inventory")


def test_scale_requests_are_valid_distinct_tenants(generated: tuple[list[dict], object]) -> None:
    requests, validated = generated
    assert not validated.all_errors
    loaded = validated.requests()
    assert len(loaded) == 30
    assert len({r.spec["tenant"] for r in loaded}) == 30
    assert {r.id for r in loaded} == {f"SCALE-abc123-{i:04d}" for i in range(1, 31)}
    assert all(r.spec["tenant"].startswith("scale-abc123-t") for r in loaded)


def test_scale_requests_first_ones_carry_a_server_and_a_volume(
        generated: tuple[list[dict], object]) -> None:
    requests, validated = generated
    with_compute = [r["spec"]["tenant"] for r in requests if r["spec"].get("servers")]
    assert with_compute == [scale.tenant_name("abc123", i) for i in range(1, 8)]
    kinds = Counter(r.kind for r in desired_state(validated.catalog, validated.requests()))
    assert kinds["project"] == kinds["quota"] == kinds["user"] == kinds["router"] == 30
    assert kinds["network"] == kinds["subnet"] == kinds["security_group"] == 30
    assert kinds["sg_rule"] == 60
    assert kinds["server"] == kinds["volume"] == kinds["volume_attachment"] == 7


def test_floor_makes_one_create_per_resource_apply_creates(
        generated: tuple[list[dict], object]) -> None:
    """The floor's calls for a tenant are apply's creates for it: one call per resource of each
    kind (quotas: one per service), so floor_s measures the same writes."""
    requests, validated = generated
    request = requests[0]
    calls = provision.floor_calls(request, "bench-abc123-f001")
    verbs = Counter(call.split(" ")[0] for call in calls)
    doc = next(r for r in validated.requests() if r.id == request["metadata"]["id"])
    kinds = Counter(r.kind for r in desired_state(validated.catalog, [doc]))
    per_kind = {"project": "create_project", "user": "create_user",
                "network": "create_network", "subnet": "create_subnet",
                "router": "create_router", "router_interface": "add_interface_to_router",
                "security_group": "create_security_group",
                "sg_rule": "create_security_group_rule", "server": "create_server",
                "volume": "create_volume", "volume_attachment": "create_volume_attachment"}
    for kind, verb in per_kind.items():
        assert verbs[verb] == kinds[kind], (kind, verbs[verb], kinds[kind])
    assert verbs["update_quota_set(compute)"] == verbs["update_quota_set(volume)"] == 1
    # the user's role, and govcloud's own member role where servers and volumes are made
    assert verbs["assign_project_role_to_user"] == kinds["role_assignment"] + 1
    # every neutron object is tagged with its request after its create
    assert verbs["set_tags"] == kinds["network"] + kinds["subnet"] + kinds["router"] + kinds[
        "security_group"]
    assert "bench-abc123-f001-app-net" in " ".join(calls)


def test_provision_rounds_are_summed_up_as_medians_and_the_worst_speedup() -> None:
    rounds = [{"apply_s": 60.0, "floor_s": 58.0, "apply_floor_ratio": 1.03, "playbook_s": 320.0,
               "speedup": 5.33},
              {"apply_s": 70.0, "floor_s": 60.0, "apply_floor_ratio": 1.17, "playbook_s": 300.0,
               "speedup": 4.29},
              {"apply_s": 55.0, "floor_s": 61.0, "apply_floor_ratio": 0.9, "playbook_s": 330.0,
               "speedup": 6.0}]
    got = provision.medians(rounds)
    assert got["apply_s"] == 60.0 and got["floor_s"] == 60.0 and got["playbook_s"] == 320.0
    # the ratios are the median of each round's own, not a ratio of medians (320/60 = 5.33)
    assert got["speedup"] == 5.33 and got["apply_floor_ratio"] == 1.03
    assert got["speedup_min"] == 4.29 and got["runs"] == rounds
    # a round whose floor failed is left out of the floor's median, not counted as 0
    del rounds[2]["floor_s"], rounds[2]["apply_floor_ratio"]
    assert provision.medians(rounds)["floor_s"] == 59.0
    assert provision.medians([{"apply_s": 1.0}])["speedup"] is None
