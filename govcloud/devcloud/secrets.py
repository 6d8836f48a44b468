"""Per-install random passwords, stored 0600 in the devcloud folder and never printed.

Hex only: the values go into URLs (``mysql+pymysql://user:pw@...``) and oslo.config files, where
``$`` and ``%`` would be interpolated.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from govcloud.fsutil import write_atomic

# admin: keystone admin; user: the non-admin devcloud-user; service: the ``service`` user every
# OpenStack service authenticates as; db: MariaDB's ``devcloud`` account; rabbit: RabbitMQ's.
# keymgr: the fixed key of nova's and cinder's ConfKeyManager (encrypted volumes without
# barbican; devcloud only).
NAMES = ("admin", "user", "service", "db", "rabbit", "keymgr")


def load_or_create(path: Path) -> dict[str, str]:
    """Return the passwords, creating any that are missing (so an old file gains new names)."""
    current: dict[str, str] = {}
    if path.exists():
        current = json.loads(path.read_text(encoding="utf-8"))
    missing = [name for name in NAMES if not current.get(name)]
    if missing:
        for name in missing:
            current[name] = secrets.token_hex(32 if name == "keymgr" else 16)
        write_private(path, json.dumps(current, indent=1) + "\n")
    return current


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, from the first byte (no chmod race)."""
    write_atomic(path, text.encode("utf-8"), secret=True)
