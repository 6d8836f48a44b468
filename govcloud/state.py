"""govcloud's own state folder (audit log, hardening results, devcloud), as the spec defines it."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """``$GOVCLOUD_STATE_DIR``, else ``$XDG_STATE_HOME/govcloud``, else ``~/.local/state/...``."""
    explicit = os.environ.get("GOVCLOUD_STATE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    if xdg:
        return Path(xdg) / "govcloud"
    return Path.home() / ".local" / "state" / "govcloud"


def ensure_state_subdir(name: str) -> Path:
    """Create (mode 0700) and return a subfolder of the state folder."""
    path = state_dir() / name
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
