"""Unit tests never touch the user's state folder (audit log, results): each gets its own.

The inventory (authority data) is the repository's ``inventory/`` unless a test sets its own
(``--inventory`` or ``$GOVCLOUD_INVENTORY``), whatever the working directory.
"""

from pathlib import Path

import pytest

REPO_INVENTORY = Path(__file__).resolve().parents[2] / "inventory"


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    monkeypatch.delenv("GOVCLOUD_AUDIT_KEY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))  # own witness
    monkeypatch.delenv("GOVCLOUD_WITNESS", raising=False)
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(REPO_INVENTORY))


@pytest.fixture(autouse=True)
def _english_unless_asked(monkeypatch):
    """Messages in English whatever the developer's locale (tests pin English text); a test of
    the Chinese messages sets LANG or passes --lang zh itself."""
    from govcloud.i18n import ENV_VARS, set_language

    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    set_language("en")
    yield
    set_language("en")
