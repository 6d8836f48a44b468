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


@dataclass(frozen=True)
class Layout:
    """Paths of one devcloud. ``root`` is ``<state_dir>/devcloud`` unless given."""

    root: Path

    @classmethod
    def default(cls) -> Layout:
        return cls(state_dir() / "devcloud")

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        """Pid files and sockets; sockets need a short path (108 bytes), so keep this shallow."""
        return self.root / "run"

    @property
    def stamps(self) -> Path:
        """One empty file per finished one-time step (install, db sync, registration)."""
        return self.root / "stamps"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"

    @property
    def db_socket(self) -> Path:
        return self.run / "mysqld.sock"

    def pid_file(self, service: str) -> Path:
        return self.run / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def make_dirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root.chmod(0o700)
        for sub in (self.etc, self.data, self.logs, self.run, self.stamps, self.cache):
            sub.mkdir(parents=True, exist_ok=True, mode=0o700)
