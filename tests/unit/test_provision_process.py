"""plan through the real console entry point (`python -m govcloud`, a subprocess): the gates that
refuse before any API call, and an unknown cloud, need no cloud at all (moved here from
tests/integration/test_provision.py, which runs against devcloud)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(str(p) for p in (ROOT / "examples" / "requests").glob("good-*.yaml"))
INVENTORY = str(ROOT / "inventory")
GOVCLOUD = [sys.executable, "-m", "govcloud"]


@pytest.fixture
def env(tmp_path):
    """No cloud can be reached: the one named is in no clouds.yaml."""
    return {**os.environ, "GOVCLOUD_STATE_DIR": str(tmp_path / "state"), "NO_COLOR": "1",
            "OS_CLOUD": "no-such-cloud",
            "OS_CLIENT_CONFIG_FILE": str(tmp_path / "no" / "clouds.yaml")}


def run(env, *args, check):
    proc = subprocess.run([*GOVCLOUD, *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == check, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_a_failing_request_is_refused_before_any_api_call(env):
    bad = str(ROOT / "examples" / "requests" / "bad-ssh-rdp-open-to-world.yaml")
    proc = run(env, "plan", INVENTORY, bad, check=1)
    assert "refused" in proc.stderr and "Nothing was sent" in proc.stderr


def test_unknown_cloud_is_a_clear_error(env):
    proc = run(env, "plan", INVENTORY, EXAMPLES[0], check=2)
    assert "clouds.yaml" in proc.stderr and "Traceback" not in proc.stderr
