"""One-time steps of a devcloud: MariaDB datadir, databases, schema syncs, keystone bootstrap.

Each step leaves a stamp when it finished, so ``up`` after a crash resumes where it stopped.
"""

from __future__ import annotations

import getpass
import os
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from govcloud.devcloud import probes
from govcloud.devcloud.layout import PORTS, REGION, Layout
from govcloud.devcloud.services import base_env
from govcloud.errors import ExecutionError

DATABASES = ("keystone", "placement", "nova_api", "nova", "nova_cell0", "neutron", "cinder",
             "glance")


def stamped(layout: Layout, name: str, step: Callable[[], None]) -> None:
    stamp = layout.stamps / name
    if stamp.exists():
        return
    step()
    stamp.touch()


def run_logged(layout: Layout, log_name: str, argv: Sequence[str], *, env: dict[str, str] | None
               = None, stdin: str | None = None, timeout: float = 300) -> None:
    log = layout.log_file(log_name)
    with open(log, "ab") as out:
        out.write(f"\n==== {' '.join(argv[:3])}\n".encode())
        out.flush()
        try:
            result = subprocess.run(
                list(argv), env=env or base_env(layout), cwd=layout.root, stdout=out,
                stderr=subprocess.STDOUT, input=stdin.encode() if stdin else None,
                timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ExecutionError(f"devcloud: `{Path(argv[0]).name}` took over {timeout:.0f} s",
                                 hint=f"see {log}") from exc
    if result.returncode != 0:
        raise ExecutionError(
            f"devcloud: `{Path(argv[0]).name} {' '.join(argv[1:3])}` failed "
            f"(exit {result.returncode})", hint=f"see {log}")


def init_mariadb(layout: Layout) -> None:
    def step() -> None:
        datadir = layout.data / "mariadb"
        datadir.mkdir(parents=True, exist_ok=True, mode=0o700)
        run_logged(layout, "mariadb-install", [
            "mariadb-install-db", f"--defaults-file={layout.etc / 'mariadb' / 'my.cnf'}",
            f"--datadir={datadir}", "--auth-root-authentication-method=socket",
            f"--auth-root-socket-user={getpass.getuser()}", "--skip-test-db",
        ])

    stamped(layout, "mariadb-datadir", step)


def create_databases(layout: Layout, db_password: str) -> None:
    """Databases and the ``devcloud`` account; SQL goes over stdin, not argv."""

    def step() -> None:
        statements = [f"CREATE DATABASE IF NOT EXISTS {name};" for name in DATABASES]
        statements += [
            f"CREATE USER IF NOT EXISTS 'devcloud'@'localhost' IDENTIFIED BY '{db_password}';",
            f"ALTER USER 'devcloud'@'localhost' IDENTIFIED BY '{db_password}';",
            "GRANT ALL PRIVILEGES ON *.* TO 'devcloud'@'localhost';",
            "FLUSH PRIVILEGES;",
        ]
        try:
            probes.sql(layout.etc / "mariadb" / "my.cnf", "\n".join(statements))
        except (RuntimeError, OSError) as exc:
            raise ExecutionError(f"devcloud: creating databases failed: {exc}",
                                 hint=f"see {layout.logs / 'mariadb.err'}") from exc

    stamped(layout, "databases", step)


def _bin(layout: Layout, name: str) -> str:
    return str(layout.venv / "bin" / name)


def _keystone(layout: Layout, admin_password: str) -> None:
    log = "db-sync-keystone"
    conf = ["--config-file", str(layout.etc / "keystone" / "keystone.conf")]
    user = getpass.getuser()
    for sub in ("fernet-keys", "credential-keys"):
        (layout.data / "keystone" / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    km = _bin(layout, "keystone-manage")
    run_logged(layout, log, [km, *conf, "db_sync"])
    ids = ["--keystone-user", user, "--keystone-group", user]
    run_logged(layout, log, [km, *conf, "fernet_setup", *ids])
    run_logged(layout, log, [km, *conf, "credential_setup", *ids])
    url = f"http://127.0.0.1:{PORTS['keystone']}/v3"
    # The password travels in the environment keystone-manage documents, not in argv.
    env = {**base_env(layout), "OS_BOOTSTRAP_PASSWORD": admin_password}
    run_logged(layout, log, [
        km, *conf, "bootstrap", "--bootstrap-admin-url", url, "--bootstrap-internal-url", url,
        "--bootstrap-public-url", url, "--bootstrap-region-id", REGION,
    ], env=env)


def _nova(layout: Layout) -> None:
    log = "db-sync-nova"
    conf = ["--config-file", str(layout.etc / "nova" / "nova.conf")]
    nm = _bin(layout, "nova-manage")
    run_logged(layout, log, [nm, *conf, "api_db", "sync"])
    # Without --database_connection the cell URLs derive from nova.conf: no password in argv.
    run_logged(layout, log, [nm, *conf, "cell_v2", "map_cell0"])
    cells = layout.stamps / "nova-cell1"
    if not cells.exists():
        run_logged(layout, log, [nm, *conf, "cell_v2", "create_cell", "--name", "cell1"])
        cells.touch()
    run_logged(layout, log, [nm, *conf, "db", "sync"])


def _neutron(layout: Layout) -> None:
    etc = layout.etc / "neutron"
    run_logged(layout, "db-sync-neutron", [
        _bin(layout, "neutron-db-manage"), "--config-file", str(etc / "neutron.conf"),
        "--config-file", str(etc / "plugins" / "ml2" / "ml2_conf.ini"), "upgrade", "heads"])


def schema_syncs(layout: Layout, admin_password: str) -> dict[str, Callable[[], None]]:
    """Name -> step. Each touches only its own databases, so they may run side by side."""
    etc = layout.etc
    return {
        "keystone": lambda: _keystone(layout, admin_password),
        "placement": lambda: run_logged(layout, "db-sync-placement", [
            _bin(layout, "placement-manage"), "--config-file",
            str(etc / "placement" / "placement.conf"), "db", "sync"]),
        "nova": lambda: _nova(layout),
        "neutron": lambda: _neutron(layout),
        "cinder": lambda: run_logged(layout, "db-sync-cinder", [
            _bin(layout, "cinder-manage"), "--config-file", str(etc / "cinder" / "cinder.conf"),
            "db", "sync"]),
        "glance": lambda: run_logged(layout, "db-sync-glance", [
            _bin(layout, "glance-manage"), "--config-file", str(etc / "glance" / "glance-api.conf"),
            "db_sync"]),
    }


def start_syncs(layout: Layout, admin_password: str, pool: ThreadPoolExecutor) -> dict:
    """Submit the schema syncs not yet stamped; keystone first (it gates everything else)."""
    for sub in ("nova/locks", "neutron/locks", "cinder/locks", "glance/locks", "glance/images",
                "glance/staging", "glance/tasks"):
        (layout.data / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    futures = {}
    for name, step in schema_syncs(layout, admin_password).items():
        futures[name] = pool.submit(stamped, layout, f"schema-{name}", step)
    return futures


def register(layout: Layout, phase: str, spec_json: str) -> None:
    run_logged(layout, f"register-{phase}",
               [str(layout.python), "-m", "govcloud_devcloud_ext.register", phase],
               stdin=spec_json, timeout=300)


def disk_free(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize
