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
