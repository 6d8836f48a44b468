"""govcloud's own state folder (audit log, hardening results, devcloud), as the spec defines it."""

from __future__ import annotations

import os
from pathlib import Path


def env_path(variable: str, default: Path) -> Path:
    """``$variable`` when it is set and not empty, else ``default`` (the one way govcloud reads
    a folder or file named by the environment: state, cache, clouds.yaml)."""
    value = os.environ.get(variable)
    return Path(value) if value else default


def state_dir() -> Path:
    """``$GOVCLOUD_STATE_DIR``, else ``$XDG_STATE_HOME/govcloud``, else ``~/.local/state/...``."""
    xdg = env_path("XDG_STATE_HOME", Path.home() / ".local" / "state")
    return env_path("GOVCLOUD_STATE_DIR", xdg / "govcloud")


def ensure_state_subdir(name: str) -> Path:
    """Create (mode 0700) and return a subfolder of the state folder."""
    path = state_dir() / name
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
