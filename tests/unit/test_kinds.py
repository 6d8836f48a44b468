"""The kinds' registry: every kind declared once (provision/kinds.py) with its operations
(cloud/kinds.py); a kind missing from either is an error at import, named."""

from __future__ import annotations

from pathlib import Path

import pytest

from govcloud.cloud import kinds as cloud_kinds
from govcloud.cloud import read
from govcloud.provision import kinds as declared
from govcloud.provision.desired import Resource, desired_state
from govcloud.provision.plan import diff
from govcloud.validate import load

ROOT = Path(__file__).resolve().parents[2]


def test_every_declared_kind_has_its_operations_and_nothing_else():
    assert list(cloud_kinds.OPERATIONS) == list(declared.KINDS)
    for name, ops in cloud_kinds.OPERATIONS.items():
        assert isinstance(ops, type(declared.KINDS[name])), name  # the same declaration
        assert type(ops).create is not cloud_kinds.CloudKind.create, name
        assert type(ops).delete is not cloud_kinds.CloudKind.delete, name


def test_a_kind_without_operations_is_an_error_at_import_that_names_it():
    classes = [type(ops) for name, ops in cloud_kinds.OPERATIONS.items() if name != "volume"]
    with pytest.raises(declared.UnknownKind, match=r"without operations here: \['volume'\]"):
        cloud_kinds._registry(classes)

    class Stray(cloud_kinds.CloudKind):
        name = "floating_ip"

    with pytest.raises(declared.UnknownKind, match=r"undeclared kinds: \['floating_ip'\]"):
        cloud_kinds._registry([*map(type, cloud_kinds.OPERATIONS.values()), Stray])


def test_a_need_that_is_not_declared_or_a_cycle_is_an_error_at_import():
    class Port(declared.Kind):
        name = "port"
        needs = ("project", "network")

    with pytest.raises(declared.UnknownKind, match=r"'port' needs \['network'\]"):
        declared._registry([declared.Project, Port])

    class A(declared.Kind):
        name = "a"
        needs = ("b",)

    class B(declared.Kind):
        name = "b"
        needs = ("a",)

    with pytest.raises(declared.UnknownKind, match="cycle"):
        declared._registry([declared.Project, A, B])


def test_a_resource_of_an_undeclared_kind_is_named_by_plan_and_apply():
    stray = Resource("floating_ip", "fip", "t0", "REQ-t0")
    with pytest.raises(declared.UnknownKind, match="'floating_ip' is not declared"):
        diff([stray], [])
    with pytest.raises(declared.UnknownKind, match="'floating_ip' has no operations"):
        cloud_kinds.operations("floating_ip")


def test_creation_order_follows_the_needs():
    order = declared.KINDS_ORDER
    assert order[0] == "project"
    for name, kind in declared.KINDS.items():
        assert all(order.index(n) < order.index(name) for n in kind.needs), name
        assert name not in declared.dependents(name)
        for need in kind.needs:
            assert name in declared.dependents(need)
    assert declared.dependents("subnet") >= {"router_interface", "server"}
    assert declared.dependents("project") == set(order) - {"project"}


def test_each_kind_names_the_reader_of_cloud_read():
    for name, ops in cloud_kinds.OPERATIONS.items():
        assert callable(ops.reader) and ops.reader.__module__ == read.__name__, (name, ops.reader)
        assert getattr(read, ops.reader.__name__) is ops.reader


def test_the_requests_yield_declared_kinds_with_declared_fields_only():
    paths = [ROOT / "inventory", *sorted((ROOT / "examples" / "requests").glob("good-*.yaml"))]
    resources = desired_state(load(paths, inventory=ROOT / "inventory").catalog)
    assert {r.kind for r in resources} == set(declared.KINDS)  # the examples use every kind
    for r in resources:
        extra = {name for name, _ in r.fields} - set(declared.kind(r.kind).fields)
        assert not extra, (r.kind, r.name, extra)


def test_what_forces_a_replace_is_declared_by_the_kind():
    assert declared.kind("subnet").replace_reasons([("cidr", "10.0.0.0/24", "10.1.0.0/24")])
    assert not declared.kind("router").replace_reasons([("external_gateway", True, False)])
    volume = declared.kind("volume")
    assert volume.replace_reasons([("size_gb", 20, 10)]) == ["a volume cannot shrink"]
    assert volume.replace_reasons([("size_gb", 10, 20)]) == []
