"""The 三员 keys demo through real commands and files (no cloud): scripts/demo/keys.sh."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_keys_demo_runs_and_keeps_private_keys_private(tmp_path):
    state, out = tmp_path / "state", tmp_path / "out"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GOVCLOUD_", "OS_"))}
    env.update(GOVCLOUD_STATE_DIR=str(state), OUT=str(out), NO_COLOR="1")
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "demo" / "keys.sh")], env=env,
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "holds role security" in proc.stderr  # the wrong-role approval was refused
    assert "does not verify" in proc.stderr  # the tampered roles file
    private = sorted((state / "demo" / "keys" / "private").rglob("*.key"))
    assert len(private) == 6  # root + security, ops, audit, evidence, department
    for key in private:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
        assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    for path in [*out.rglob("*"), *(state / "demo" / "keys" / "inventory").rglob("*")]:
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path
    manifest = (out / "evidence" / "manifest.json").read_text()
    assert '"algorithm": "sm2"' in manifest
    # the repository's own inventory was not touched
    assert not (ROOT / "inventory" / "roles.yaml.sig").exists()
