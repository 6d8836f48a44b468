"""``up``, ``down`` and ``status`` of devcloud: the orchestration over the registry.

``up`` is idempotent: on a running devcloud it only checks readiness; after a crash or reboot it
starts what is not running and resumes unfinished one-time steps (stamps). ``down`` stops exactly
the process groups named in pid files.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from govcloud.devcloud import (
    bootstrap,
    clouds,
    config,
    install,
    preflight,
    probes,
    procs,
    secrets,
)
from govcloud.devcloud.layout import PORTS, Layout
from govcloud.devcloud.services import BY_NAME, SERVICES, Service, base_env
from govcloud.errors import ExecutionError

Progress = Callable[[str], None]


# Bumped when registration gains something (v2: the encrypted volume type; v3: the second
# external subnet), so an existing devcloud registers it at the next `up`.
REGISTERED = "registered-v3"

def _quiet(_msg: str) -> None:
    pass


@dataclass(frozen=True)
class UpResult:
    seconds: float
    started: tuple[str, ...]
    installed: bool
    clouds_file: str
    root: str


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    processes: int
    rss_bytes: int
    port: int | None
    log: str


@dataclass(frozen=True)
class Status:
    root: str
    exists: bool
    services: tuple[ServiceStatus, ...] = field(default_factory=tuple)
    clouds_file: str = ""

    @property
    def running(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services if s.running)

    @property
    def all_running(self) -> bool:
        return bool(self.services) and all(s.running for s in self.services)

    @property
    def rss_bytes(self) -> int:
        return sum(s.rss_bytes for s in self.services)

    def to_dict(self) -> dict:
        return {
            "root": self.root, "exists": self.exists, "clouds_file": self.clouds_file,
            "running": len(self.running), "total": len(self.services),
            "rss_mib": round(self.rss_bytes / 1024**2, 1),
            "services": [s.__dict__ for s in self.services],
        }


def _last_line(path: Path) -> str:
    """The log's last non-blank line, shortened: errors stay one line (the log has the rest)."""
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except FileNotFoundError:
        return "(no log)"
    last = lines[-1] if lines else "(empty log)"
    return last if len(last) <= 240 else last[:237] + "..."


def _shared_epmd(layout: Layout) -> bool:
    """An epmd we did not start already serves the port: RabbitMQ registers with it instead."""
    return procs.alive(layout.pid_file("epmd")) is None and not probes.port_free(PORTS["epmd"])


def _start(layout: Layout, services: Iterable[Service], progress: Progress) -> list[str]:
    """Start the given services that are not running; returns the names started."""
    started = []
    env0 = base_env(layout)
    for service in services:
        pid_file = layout.pid_file(service.name)
        if procs.alive(pid_file) is not None:
            continue
        if service.name == "epmd" and _shared_epmd(layout):
            pid_file.unlink(missing_ok=True)  # a stale one of ours would read as "exited"
            progress("epmd: using the one already running on port 4369")
            continue
        if service.port is not None:
            preflight.check_port(service.name, service.port)
        procs.start(service.argv(layout), env={**env0, **service.env(layout)},
                    log=layout.log_file(service.name), pid_file=pid_file, cwd=layout.root)
        started.append(service.name)
    return started


def _wait(layout: Layout, services: Iterable[Service], progress: Progress) -> None:
    pending = {s.name: s for s in services}
    begin = time.monotonic()
    while pending:
        for name, service in list(pending.items()):
            shared = name == "epmd" and procs.read(layout.pid_file(name)) is None
            if not shared and procs.alive(layout.pid_file(name)) is None:
                log = layout.log_file(name)
                raise ExecutionError(
                    f"devcloud: {name} exited during start-up ({_last_line(log)})",
                    hint=f"see {log}; fix the cause, then run `govcloud devcloud up` again")
            if service.ready(layout):
                progress(f"{name} ready")
                del pending[name]
            elif time.monotonic() - begin > service.timeout:
                log = layout.log_file(name)
                raise ExecutionError(
                    f"devcloud: {name} not ready after {service.timeout:.0f} s "
                    f"({_last_line(log)})",
                    hint=f"see {log}; `govcloud devcloud down` then `up` retries")
        if pending:
            time.sleep(0.25)


def _stage(n: int) -> list[Service]:
    return [s for s in SERVICES if s.stage == n]


def _spec(passwords: dict[str, str]) -> str:
    return json.dumps({
        "auth_url": f"http://127.0.0.1:{PORTS['keystone']}/v3",
        "admin_password": passwords["admin"], "service_password": passwords["service"],
        "user_password": passwords["user"],
    })


def _result(future: Future) -> None:
    future.result()  # re-raises the step's ExecutionError in this thread


def is_up(layout: Layout) -> bool:
    """Every daemon runs and answers, and the one-time registration finished."""
    if not (layout.stamps / REGISTERED).exists():
        return False
    for service in SERVICES:
        if service.name == "epmd" and procs.read(layout.pid_file("epmd")) is None:
            continue  # a shared epmd
        if procs.alive(layout.pid_file(service.name)) is None:
            return False
    return all(s.ready(layout) for s in SERVICES)


def up(layout: Layout | None = None, progress: Progress = _quiet) -> UpResult:
    """Bring devcloud up (see the module doc); ``progress`` gets one line per step."""
    layout = layout or Layout.default()
    begin = time.monotonic()

    def say(message: str) -> None:
        progress(f"[{time.monotonic() - begin:5.1f} s] {message}")

    preflight.check_platform()
    preflight.check_commands()
    if layout.root.exists() and is_up(layout):
        passwords = secrets.load_or_create(layout.secrets_file)
        path = clouds.install(passwords)
        return UpResult(time.monotonic() - begin, (), False, str(path), str(layout.root))

    # Every port we will need, before anything starts: a busy one fails fast and clean.
    for service in SERVICES:
        if service.port and service.name != "epmd" and (
                not layout.root.exists() or procs.alive(layout.pid_file(service.name)) is None):
            preflight.check_port(service.name, service.port)
            if service.name == "rabbitmq":
                preflight.check_port("rabbitmq (distribution)", PORTS["rabbitmq-dist"])
    cold = not install.is_current(layout)
    preflight.check_disk(layout.root, cold)
    layout.make_dirs()
    passwords = secrets.load_or_create(layout.secrets_file)
    config.render_all(layout, passwords)
    (layout.data / "rabbitmq").mkdir(exist_ok=True, mode=0o700)
    (layout.logs / "rabbitmq").mkdir(exist_ok=True, mode=0o700)
    bootstrap.init_mariadb(layout)

    with ThreadPoolExecutor(max_workers=3) as pool:
        # MariaDB and RabbitMQ need no venv: they boot while uv installs.
        venv = pool.submit(install.ensure_venv, layout)
        if cold:
            say("installing OpenStack into the service venv (uv, first time ~30-60 s)")
        started = _start(layout, [BY_NAME["epmd"]], say)
        _wait(layout, [BY_NAME["epmd"]], say)  # RabbitMQ must find it at boot
        started += _start(layout, [BY_NAME["mariadb"], BY_NAME["rabbitmq"]], say)
        _wait(layout, _stage(0), say)
        bootstrap.create_databases(layout, passwords["db"])
        if venv.result():
            say("service venv installed")
            config.render_all(layout, passwords)  # copies api-paste.ini from the new venv
        syncs = bootstrap.start_syncs(layout, passwords["admin"], pool)
        _result(syncs["keystone"])
        started += _start(layout, [BY_NAME["keystone"]], say)
        for future in syncs.values():
            _result(future)
        installed = venv.result()
    say("databases ready")
    started += _start(layout, _stage(2), say)
    _wait(layout, [BY_NAME["keystone"]], say)
    bootstrap.stamped(layout, "identity",
                      lambda: bootstrap.register(layout, "identity", _spec(passwords)))
    started += _start(layout, _stage(3), say)
    # nova-compute only after the conductor serves: else it times out once and loses ~10 s.
    _wait(layout, [BY_NAME["rabbitmq"], *_stage(2), BY_NAME["nova-conductor"]], say)
    started += _start(layout, _stage(4), say)
    _wait(layout, [*_stage(3), *_stage(4)], say)
    bootstrap.stamped(layout, REGISTERED,
                      lambda: bootstrap.register(layout, "resources", _spec(passwords)))
    say("cloud ready")
    path = clouds.install(passwords)
    return UpResult(time.monotonic() - begin, tuple(started), installed, str(path),
                    str(layout.root))


def down(layout: Layout | None = None, *, purge: bool = False, grace: float = 10.0) -> list[str]:
    """Stop what devcloud started, newest stage first. ``purge`` also deletes its folder and
    its clouds.yaml entries. Returns the services that had to be killed (SIGKILL)."""
    layout = layout or Layout.default()
    killed: list[str] = []
    if layout.run.exists():
        # OpenStack services together, then RabbitMQ, then MariaDB and epmd. MariaDB gets
        # longer: a killed InnoDB recovers, but slowly.
        infra = ("rabbitmq", "mariadb", "epmd")
        for names, wait in (
            ([s.name for s in SERVICES if s.name not in infra], grace),
            (["rabbitmq"], grace),
            (["mariadb", "epmd"], 30.0),
        ):
            killed += procs.stop_all([layout.pid_file(n) for n in names], grace=wait)
    if purge:
        clouds.uninstall()
        shutil.rmtree(layout.root, ignore_errors=True)
    return killed


def status(layout: Layout | None = None) -> Status:
    layout = layout or Layout.default()
    if not layout.root.exists():
        return Status(str(layout.root), False, (), str(clouds.clouds_file()))
    rows = []
    for service in SERVICES:
        tracked = procs.alive(layout.pid_file(service.name))
        members = procs.group_members(tracked.pid) if tracked else []
        rows.append(ServiceStatus(
            name=service.name, running=tracked is not None,
            pid=tracked.pid if tracked else None, processes=len(members),
            rss_bytes=procs.rss_bytes(members), port=service.port,
            log=str(layout.log_file(service.name)),
        ))
    return Status(str(layout.root), True, tuple(rows), str(clouds.clouds_file()))
