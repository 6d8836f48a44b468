"""Checks that turn a would-be obscure failure into a clear error naming what to do."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from govcloud.devcloud import probes
from govcloud.devcloud.services import rabbitmq_server
from govcloud.errors import ExecutionError

# What the cold install writes: venv ~650 MiB, uv cache, MariaDB datadir ~250 MiB.
COLD_BYTES = 2 * 1024**3
WARM_BYTES = 300 * 1024**2

SYSTEM_DEPS = "scripts/system-deps.sh"


def check_platform() -> None:
    if not sys.platform.startswith("linux"):
        raise ExecutionError("devcloud runs on Linux only (it manages daemons through /proc)")


def check_commands() -> None:
    """MariaDB, RabbitMQ and epmd come from Debian packages, which need root to install."""
    missing = [cmd for cmd in ("mariadbd", "mariadb", "mariadb-install-db", "epmd")
               if shutil.which(cmd) is None and not Path("/usr/sbin", cmd).exists()]
    if rabbitmq_server() is None:
        missing.append("rabbitmq-server")
    if not missing:
        return
    how = f"run `sudo bash {SYSTEM_DEPS}`" if os.geteuid() != 0 else f"run `bash {SYSTEM_DEPS}`"
    raise ExecutionError(
        f"devcloud needs {', '.join(missing)} (Debian packages mariadb-server, rabbitmq-server)",
        hint=f"{how} (apt-get install needs root)",
    )


def check_disk(root: Path, cold: bool) -> None:
    need = COLD_BYTES if cold else WARM_BYTES
    probe = root
    while not probe.exists():
        probe = probe.parent
    stat = os.statvfs(probe)
    free = stat.f_bavail * stat.f_frsize
    if free < need:
        raise ExecutionError(
            f"devcloud needs {need // 1024**2} MiB free under {root}, only {free // 1024**2} MiB "
            "are", hint="free some disk, or set GOVCLOUD_STATE_DIR to a folder on a larger disk")


def check_port(service: str, port: int) -> None:
    if not probes.port_free(port):
        raise ExecutionError(
            f"devcloud: port {port} on 127.0.0.1 (for {service}) is used by another program",
            hint=f"stop it (`ss -ltnp 'sport = :{port}'` shows which) and run `up` again",
        )
