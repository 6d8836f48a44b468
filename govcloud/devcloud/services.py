"""The registry of devcloud's daemons: how each starts, when it is ready, in which stage.

Stages start in order; the daemons of one stage start together and the next stage waits until
all of them are ready. Adding a service means adding one entry here, not another if-chain.
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from govcloud.devcloud import probes, procs
from govcloud.devcloud.layout import HOST, PORTS, Layout

Ready = Callable[[Layout], bool]


@dataclass(frozen=True)
class Service:
    name: str
    stage: int
    argv: Callable[[Layout], list[str]]
    ready: Ready
    env: Callable[[Layout], dict[str, str]] = field(default=lambda _layout: {})
    port: int | None = None
    # Seconds to wait for readiness before giving up with the log's tail.
    timeout: float = 120.0


def rabbitmq_server() -> str | None:
    """Debian's wrapper su's to the rabbitmq user and logs to /var/log; run the real script."""
    found = sorted(glob.glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server"))
    return found[-1] if found else None


def _gunicorn(port: int, app: str, threads: int = 4, workers: int = 1
              ) -> Callable[[Layout], list[str]]:
    """A gthread gunicorn for one API. ``workers`` > 1 where one process's GIL is the limit:
    neutron and nova-api build every listed object in Python (upstream's default is one API
    worker per CPU; devcloud gives those two 2 and the others 1, to keep its memory small).

    No keep-alive: gthread's main loop closes a connection idle for ``--keep-alive`` seconds
    (default 2) even when a request has just arrived on it, and that request is reset
    (``murder_keepalived``). Clients that poll every few seconds reuse connections at about that
    age: under load, apply saw a POST reset every few hundred writes. One connection per request
    costs nothing on loopback.

    No limit on the request line: gunicorn's default (4094 bytes) is half of what clients split
    their URLs at (8 KiB), so nova's server list, which asks neutron for the ports of every
    server on the page by ``device_id``, failed with 500 once a page held about 85 servers."""

    def argv(layout: Layout) -> list[str]:
        return [
            str(layout.venv / "bin" / "gunicorn"), "--bind", f"{HOST}:{port}",
            "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
            "--timeout", "120", "--graceful-timeout", "3", "--keep-alive", "0",
            "--limit-request-line", "0", "--no-control-socket",
            "--name", f"devcloud-{app}", "govcloud_devcloud_ext.wsgi:application",
        ]

    return argv


def _console(script: str, conf: str) -> Callable[[Layout], list[str]]:
    def argv(layout: Layout) -> list[str]:
        return [str(layout.venv / "bin" / script), "--config-file", str(layout.etc / conf)]

    return argv


def _http(port: int, path: str = "/") -> Ready:
    return lambda _layout: probes.http_answers(port, path)


def _log_says(name: str, text: str) -> Ready:
    """The daemon logged ``text`` since its latest start (its own word that it serves).

    Heartbeat rows in the services table would also do, but nova writes the first one only
    5 s after start and then every 10 s: waiting for it made ``up`` ~10 s slower.
    """

    def ready(layout: Layout) -> bool:
        return text in procs.output_since_start(layout.pid_file(name), layout.log_file(name))

    return ready


def _compute_ready(layout: Layout) -> bool:
    """nova-compute updated its compute node (so placement has its inventory) since its latest
    start, and the scheduler has mapped its host into cell1."""
    pid_file = layout.pid_file("nova-compute")
    if not pid_file.exists():
        return False
    since = int(pid_file.stat().st_mtime) - 2
    try:
        rows = probes.sql(
            layout.etc / "mariadb" / "my.cnf",
            # nova stores naive UTC: compare in UTC whatever the machine's zone
            "SET time_zone='+00:00'; SELECT "
            "(SELECT COUNT(*) FROM nova.compute_nodes WHERE deleted=0 "
            f" AND COALESCE(updated_at, created_at) >= FROM_UNIXTIME({since})) * "
            "(SELECT COUNT(*) FROM nova_api.host_mappings) * "
            "(SELECT COUNT(*) FROM placement.resource_providers);",
        )
    except (RuntimeError, OSError):
        return False
    return bool(rows) and int(rows[0][0]) > 0


def _rabbit_env(layout: Layout) -> dict[str, str]:
    base = layout.data / "rabbitmq"
    return {
        # HOME: the Erlang cookie lands here, not in root's home.
        "HOME": str(base),
        "RABBITMQ_NODENAME": "devcloud@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_NODE_PORT": str(PORTS["rabbitmq"]),
        "RABBITMQ_DIST_PORT": str(PORTS["rabbitmq-dist"]),
        "ERL_EPMD_ADDRESS": HOST,
        "ERL_EPMD_PORT": str(PORTS["epmd"]),
        # Loopback-only distribution; no scheduler busy-waiting (it burns a core at boot on a
        # 2-core machine that is importing a dozen Python services at the same time).
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
            "-kernel inet_dist_use_interface {127,0,0,1} "
            "+sbwt none +sbwtdcpu none +sbwtdio none "
            # never daemonize an epmd of its own: it would outlive `down` (ours is tracked)
            "-start_epmd false"
        ),
        "RABBITMQ_CONFIG_FILE": str(layout.etc / "rabbitmq" / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(layout.etc / "rabbitmq" / "enabled_plugins"),
        "RABBITMQ_CONF_ENV_FILE": str(layout.etc / "rabbitmq" / "rabbitmq-env.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(layout.etc / "rabbitmq" / "advanced.config"),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(layout.logs / "rabbitmq"),
        "RABBITMQ_PID_FILE": str(layout.run / "rabbitmq.rpid"),
        "RABBITMQ_LOGS": "-",
    }


def _wsgi_env(app: str, **extra: str) -> Callable[[Layout], dict[str, str]]:
    def env(layout: Layout) -> dict[str, str]:
        resolved = {k: v.format(etc=layout.etc) for k, v in extra.items()}
        return {"DEVCLOUD_WSGI": app, **resolved}

    return env


SERVICES: tuple[Service, ...] = (
    Service(
        "epmd", 0,
        lambda _l: [shutil.which("epmd") or "epmd", "-address", HOST, "-port", str(PORTS["epmd"])],
        lambda _l: probes.tcp_open(PORTS["epmd"]), port=PORTS["epmd"], timeout=15,
    ),
    Service(
        "mariadb", 0,
        lambda layout: [shutil.which("mariadbd") or "/usr/sbin/mariadbd",
                        f"--defaults-file={layout.etc / 'mariadb' / 'my.cnf'}"],
        lambda layout: probes.unix_open(layout.db_socket), timeout=60,
    ),
    Service(
        "rabbitmq", 1, lambda _l: [rabbitmq_server() or "rabbitmq-server"],
        lambda _l: probes.tcp_open(PORTS["rabbitmq"]), env=_rabbit_env, port=PORTS["rabbitmq"],
    ),
    Service(
        "keystone", 1, _gunicorn(PORTS["keystone"], "keystone", threads=8),
        _http(PORTS["keystone"], "/v3"), port=PORTS["keystone"],
        env=_wsgi_env("keystone", OS_KEYSTONE_CONFIG_FILES="{etc}/keystone/keystone.conf"),
    ),
    Service(
        "placement", 2, _gunicorn(PORTS["placement"], "placement"), _http(PORTS["placement"]),
        port=PORTS["placement"],
        env=_wsgi_env("placement", OS_PLACEMENT_CONFIG_DIR="{etc}/placement"),
    ),
    Service(
        "nova-api", 2, _gunicorn(PORTS["nova-api"], "nova", workers=2), _http(PORTS["nova-api"]),
        port=PORTS["nova-api"], env=_wsgi_env("nova", OS_NOVA_CONFIG_DIR="{etc}/nova"),
    ),
    Service(
        "neutron", 2, _gunicorn(PORTS["neutron"], "neutron", workers=2), _http(PORTS["neutron"]),
        port=PORTS["neutron"], env=_wsgi_env("neutron", OS_NEUTRON_CONFIG_DIR="{etc}/neutron"),
    ),
    Service(
        "glance", 2, _gunicorn(PORTS["glance"], "glance"), _http(PORTS["glance"]),
        port=PORTS["glance"], env=_wsgi_env("glance", OS_GLANCE_CONFIG_DIR="{etc}/glance"),
    ),
    Service(
        "cinder-api", 2, _gunicorn(PORTS["cinder-api"], "cinder"), _http(PORTS["cinder-api"]),
        port=PORTS["cinder-api"],
        env=_wsgi_env("cinder", DEVCLOUD_WSGI_ARGS="--config-file {etc}/cinder/cinder.conf"),
    ),
    # These two ask keystone at start-up, as the ``service`` user: they need the identity
    # registration (a conductor started before it exits with 401).
    Service("nova-conductor", 3, _console("nova-conductor", "nova/nova.conf"),
            _log_says("nova-conductor", "Starting conductor node")),
    Service("nova-scheduler", 3, _console("nova-scheduler", "nova/nova.conf"),
            _log_says("nova-scheduler", "Starting scheduler node")),
    Service("cinder-scheduler", 2, _console("cinder-scheduler", "cinder/cinder.conf"),
            _log_says("cinder-scheduler", "Starting cinder-scheduler node")),
    Service("cinder-volume", 2, _console("cinder-volume", "cinder/cinder.conf"),
            _log_says("cinder-volume", "Driver post RPC initialization completed")),
    # Started last: before the conductor answers it times out and loses ~10 s (recipe).
    Service("nova-compute", 4, _console("nova-compute", "nova/nova.conf"), _compute_ready),
)

BY_NAME = {service.name: service for service in SERVICES}


def base_env(layout: Layout) -> dict[str, str]:
    """The environment every daemon gets: ours, minus what would point it elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "PYTHONPATH", "VIRTUAL_ENV", "RABBITMQ_", "ERL_"))
           # the first start writes .pyc files, later starts load them (see install.py)
           and k != "PYTHONDONTWRITEBYTECODE"}
    env["PATH"] = f"{layout.venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    # glibc gives each thread its own malloc arena; threaded services (gthread, oslo thread
    # pools) then hold memory per arena. Two arenas keep RSS down (the 2.5 GiB budget).
    env["MALLOC_ARENA_MAX"] = "2"
    return env
