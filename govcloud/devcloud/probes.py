"""Is a daemon ready? Loopback TCP and unix-socket connects, HTTP answers, MariaDB queries."""

from __future__ import annotations

import http.client
import socket
import subprocess
from pathlib import Path

from govcloud.devcloud.layout import HOST


def tcp_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def unix_open(path: Path) -> bool:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(0.5)
    try:
        sock.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def http_answers(port: int, path: str = "/") -> bool:
    """Any HTTP status (200, 300, 401...) means the WSGI app loaded and serves."""
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status < 500
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def port_free(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:port (we try to bind it, as the daemon would)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def sql(my_cnf: Path, statement: str, *, timeout: float = 20) -> list[list[str]]:
    """Run SQL as MariaDB's root over the unix socket (socket auth: no password involved).

    The statement goes through stdin, so nothing secret appears in a process list.
    """
    result = subprocess.run(
        ["mariadb", f"--defaults-file={my_cnf}", "-u", "root", "-N", "-B"],
        input=statement, capture_output=True, text=True, timeout=timeout, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or f"mariadb exit {result.returncode}")
    return [line.split("\t") for line in result.stdout.splitlines() if line]
