"""Where devcloud keeps things, and which loopback ports it listens on.

Everything lives under ``<state_dir>/devcloud`` so that deleting that folder (after ``down``)
removes devcloud completely; only the Debian packages live in system paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from govcloud.state import state_dir

HOST = "127.0.0.1"
REGION = "RegionOne"
# nova-compute and cinder-volume register under this host name, not the machine's.
SERVICE_HOST = "devcloud-host"

# TCP ports devcloud listens on (all on 127.0.0.1). MariaDB listens on a unix socket only.
PORTS: dict[str, int] = {
    "epmd": 4369,
    "rabbitmq": 5672,
    "rabbitmq-dist": 25672,
    "keystone": 5000,
    "placement": 8778,
    "nova-api": 8774,
    "neutron": 9696,
    "cinder-api": 8776,
    "glance": 9292,
}


class _Below:
    """A path of the layout: ``parts`` below another of its paths (``root`` unless ``under``)."""

    def __init__(self, *parts: str, under: str = "root") -> None:
        self.parts, self.under = parts, under

    def __get__(self, layout: object, owner: type | None = None) -> Path:
        return Path(getattr(layout, self.under), *self.parts)


@dataclass(frozen=True)
class Layout:
    """Paths of one devcloud. ``root`` is ``<state_dir>/devcloud`` unless given."""

    root: Path

    venv = _Below("venv")
    python = _Below("bin", "python", under="venv")
    cache = _Below("cache")
    etc = _Below("etc")
    data = _Below("data")
    logs = _Below("logs")
    # Pid files and sockets; sockets need a short path (108 bytes), so keep this shallow.
    run = _Below("run")
    # One empty file per finished one-time step (install, db sync, registration).
    stamps = _Below("stamps")
    secrets_file = _Below("secrets.json")
    db_socket = _Below("mysqld.sock", under="run")

    @classmethod
    def default(cls) -> Layout:
        return cls(state_dir() / "devcloud")

    def pid_file(self, service: str) -> Path:
        return self.run / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def make_dirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root.chmod(0o700)
        for sub in (self.etc, self.data, self.logs, self.run, self.stamps, self.cache):
            sub.mkdir(parents=True, exist_ok=True, mode=0o700)
