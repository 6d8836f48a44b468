"""The session-scoped ``devcloud`` fixture: a real OpenStack on 127.0.0.1 for integration tests.

It reuses a running devcloud (``up`` is then a readiness check of about a second) or brings one
up (cold: installs into the state folder first). If devcloud cannot start, every test that
needs it FAILS with the reason; it never skips. devcloud is left running after the session, as
``govcloud devcloud up`` leaves it: the next run (or a developer) reuses it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Devcloud:
    admin_cloud: str  # openstack.connect(cloud=admin_cloud): admin of project admin
    user_cloud: str  # a member of project devcloud-user, no admin role
    clouds_file: Path
    root: Path  # the devcloud folder (state, logs)
    up_seconds: float


@pytest.fixture(scope="session")
def devcloud() -> Devcloud:
    from govcloud.devcloud import ADMIN_CLOUD, USER_CLOUD, Layout, up

    layout = Layout.default()
    begin = time.monotonic()

    def progress(message: str) -> None:
        print(f"devcloud: {message}", file=sys.stderr)

    try:
        result = up(layout, progress=progress)
    except Exception as err:  # noqa: BLE001 - the reason is the test result
        pytest.fail(f"devcloud could not start: {err}", pytrace=False)
    return Devcloud(ADMIN_CLOUD, USER_CLOUD, Path(result.clouds_file), layout.root,
                    time.monotonic() - begin)


@pytest.fixture(scope="module")
def env(tmp_path_factory, devcloud):
    """The environment of the govcloud processes a provisioning test runs: its own state
    folder and credentials key, the devcloud admin as OS_CLOUD."""
    import os
    import secrets

    state = tmp_path_factory.mktemp("state")
    return {**os.environ, "GOVCLOUD_STATE_DIR": str(state), "OS_CLOUD": devcloud.admin_cloud,
            "GOVCLOUD_CREDENTIALS_KEY": secrets.token_hex(16), "NO_COLOR": "1",
            # MLPS 3 requests are not approved here (approvals: tests/unit/test_approvals.py)
            "GOVCLOUD_SKIP_APPROVALS_ON_DEVCLOUD": "1"}


@pytest.fixture(scope="module")
def admin(devcloud):
    """An openstacksdk admin connection for the tests' own checks. They retry a connection the
    API dropped (gunicorn closes idle keep-alive connections; a request racing that close is
    reset): they are reads."""
    import openstack

    conn = openstack.connect(cloud=devcloud.admin_cloud, connect_retries=3)
    yield conn
    conn.close()
