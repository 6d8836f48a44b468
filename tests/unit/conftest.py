"""Unit tests never touch the user's state folder (audit log, results): each gets its own."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    monkeypatch.delenv("GOVCLOUD_AUDIT_KEY", raising=False)
