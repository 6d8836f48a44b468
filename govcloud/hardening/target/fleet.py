"""Several independent test targets at once, and one inventory group naming them all.

Each target is a fresh copy of the cached image (``machine.up``): its own root tree, SSH host
keys, management key, network namespace, address and machine name; nothing mutable is shared.
``fleet()`` tears every one of them down when the block ends, even on failure, and a target that
cannot boot raises (after tearing down the others): callers fail loudly, never skip.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import yaml

from govcloud.errors import InputError
from govcloud.fsutil import write_atomic
from govcloud.hardening.target.machine import Target, down, targets_dir, up


@contextmanager
def fleet(names: Sequence[str], mode: str = "nspawn") -> Iterator[list[Target]]:
    """Boot one target per name (one after the other), yield them, always tear all down."""
    if len(set(names)) != len(names):
        raise InputError(f"fleet: target names repeat: {', '.join(names)}",
                         hint="give each target its own name")
    taken = [n for n in names if (targets_dir() / n / "target.json").exists()]
    if taken:  # never tear down a target this block did not boot
        raise InputError(f"fleet: targets already exist: {', '.join(taken)}",
                         hint=f"govcloud target down {' '.join(taken)}")
    booted: list[Target] = []
    try:
        for name in names:
            booted.append(up(name, mode=mode))
        yield booted
    finally:
        for name in names:
            down(name)
            # a target whose boot failed has a copy but no record for down() to find
            shutil.rmtree(targets_dir() / name, ignore_errors=True)


def fleet_inventory(targets: Sequence[Target], path: Path, group: str = "fleet") -> Path:
    """One YAML inventory with every target as a host of ``group`` (what a user's fleet looks
    like: ``all: {children: {<group>: {hosts: ...}}}``), private like the targets' own."""
    hosts = {}
    for t in targets:
        hosts.update(yaml.safe_load(t.inventory.read_text())["all"]["hosts"])
    doc = {"all": {"children": {group: {"hosts": hosts}}}}
    write_atomic(path, yaml.safe_dump(doc, sort_keys=True).encode(), secret=True)
    return path
