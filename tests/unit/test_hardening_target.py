"""Target helpers that need no root: names, modes, inventory parsing, results store."""

from __future__ import annotations

import pytest

from govcloud.errors import InputError
from govcloud.hardening import load_latest
from govcloud.hardening.runner import _inventory_hosts, save_results
from govcloud.hardening.target import list_targets, up


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path / "state"))


@pytest.mark.parametrize("name", ["", "T1", "1abc", "a" * 11, "a-b", "../x"])
def test_bad_target_names_are_refused_before_anything_happens(name):
    with pytest.raises(InputError, match="invalid"):
        up(name)
    assert list_targets() == []


def test_unknown_mode_is_refused():
    with pytest.raises(InputError, match="mode"):
        up("t1", mode="qemu")


def test_inventory_hosts_walks_groups_and_children(tmp_path):
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts: {a: {}}\n  children:\n    web:\n      hosts: {b: {}, c: {}}\n")
    assert _inventory_hosts(inv) == ["a", "b", "c"]
    (tmp_path / "bad.yml").write_text(": : :")
    assert _inventory_hosts(tmp_path / "bad.yml") == []


def test_results_are_saved_private_and_latest_is_readable(tmp_path):
    assert load_latest() is None
    path = save_results({"run_id": "r1", "mode": "audit"}, {})
    assert path.stat().st_mode & 0o777 == 0o600
    latest = load_latest()
    assert latest is not None and latest["run_id"] == "r1" and latest["version"] == 1
