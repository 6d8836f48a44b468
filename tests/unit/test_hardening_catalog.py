"""Meta-tests over the baseline content: every task has a known control, every control a task."""

from __future__ import annotations

import re

import pytest
import yaml

from govcloud.errors import InputError
from govcloud.hardening.controls import (
    CATALOG,
    FAMILIES,
    catalog_path,
    control_ids_of,
    default_playbooks_dir,
    load_controls,
)
from govcloud.model import SEVERITIES

PLAYBOOKS = default_playbooks_dir()


def role_tasks():
    for path in sorted((PLAYBOOKS / "roles").glob("*/tasks/*.yml")):
        for task in yaml.safe_load(path.read_text()) or []:
            yield path.parts[-3], task


def test_catalog_entries_are_complete():
    controls = load_controls()
    assert len(controls) >= 20
    for cid, c in controls.items():
        assert c.severity in SEVERITIES and c.family in FAMILIES
        assert c.clause.startswith("GB/T 22239-2019 8.1.4."), cid
        assert c.title and c.title_zh and c.remediation, cid


def test_every_baseline_task_names_known_controls_and_is_tagged_with_them():
    controls = load_controls()
    used = set()
    for role, task in role_tasks():
        if role == "common":
            continue  # facts and guards, no control of their own
        ids = control_ids_of(task["name"])
        assert ids, f"{role}: task without control id: {task['name']}"
        assert set(ids) <= set(controls), task["name"]
        assert set(ids) <= set(task.get("tags", [])), f"untagged control: {task['name']}"
        used.update(ids)
    assert used == set(controls), f"controls without tasks: {set(controls) - used}"


def test_every_variable_used_by_roles_has_a_documented_default():
    defaults = yaml.safe_load((PLAYBOOKS / "group_vars/all.yml").read_text())
    text = "\n".join(p.read_text() for p in (PLAYBOOKS / "roles").rglob("*.*"))
    used = set(re.findall(r"\bhardening_[a-z0-9_]+", text))
    # what a role derives carries the role's name (common_probe, identity_pam_unix_regexp ...):
    # every hardening_* name is a user-facing variable with a default
    assert used <= set(defaults), used - set(defaults)


def test_the_catalog_is_data_beside_the_playbooks_not_a_playbook(tmp_path):
    assert (PLAYBOOKS / CATALOG).is_file() and not (PLAYBOOKS / "controls.yml").exists()
    assert catalog_path(PLAYBOOKS) == PLAYBOOKS / CATALOG
    # a baseline folder of the older layout (controls.yml beside site.yml) is still read
    old = tmp_path / "old"
    old.mkdir()
    (old / "controls.yml").write_text((PLAYBOOKS / CATALOG).read_text())
    assert catalog_path(old) == old / "controls.yml"
    assert load_controls(old) == load_controls()
    # where both exist, the catalog folder wins
    (old / CATALOG).parent.mkdir()
    (old / CATALOG).write_text("version: 1\ncontrols: {}\n")
    assert load_controls(old) == {}
    # and a folder with neither names the expected place
    with pytest.raises(InputError, match=r"catalog/controls\.yml"):
        load_controls(tmp_path)


def test_fix_commands_do_nothing_in_check_mode():
    # A command/shell task that is not read-only must run "true" in check mode (an audit changes
    # nothing) and report changed, which the parser reads as "would fix".
    for _, task in role_tasks():
        for mod in ("ansible.builtin.command", "ansible.builtin.shell"):
            if mod in task and task.get("check_mode") is False and task.get("changed_when"):
                assert "ansible_check_mode" in str(task[mod]), task["name"]
