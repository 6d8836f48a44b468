"""The parts of devcloud that need no running cloud: clouds.yaml merge, passwords, configs, pid
files, the service registry, preflight errors and the CLI (the real OpenStack is exercised by
tests/integration/test_devcloud.py).
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from govcloud.devcloud import clouds, config, preflight, procs, secrets
from govcloud.devcloud.layout import HOST, PORTS, Layout
from govcloud.devcloud.services import BY_NAME, SERVICES
from govcloud.errors import ExecutionError, InputError

PASSWORDS = {name: f"{name}-0123456789abcdef" for name in secrets.NAMES}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# clouds.yaml ---------------------------------------------------------------------------------

def test_merge_keeps_other_clouds_and_keys():
    existing = {"clouds": {"prod": {"auth": {"auth_url": "https://x"}}}, "cache": {"max": 1}}
    merged = clouds.merge(existing, clouds.entries(PASSWORDS))
    assert merged["cache"] == {"max": 1}
    assert set(merged["clouds"]) == {"prod", "devcloud", "devcloud-user"}
    assert merged["clouds"]["prod"] == existing["clouds"]["prod"]
    assert existing["clouds"].keys() == {"prod"}  # input not mutated
    assert merged["clouds"]["devcloud-user"]["auth"]["username"] == "devcloud-user"
    assert merged["clouds"]["devcloud"]["auth"]["auth_url"] == "http://127.0.0.1:5000/v3"


def test_install_writes_0600_keeps_a_backup_and_is_idempotent(tmp_path, monkeypatch):
    path = tmp_path / "openstack" / "clouds.yaml"
    path.parent.mkdir()
    path.write_text("# my clouds\nclouds:\n  prod:\n    region_name: X\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    assert clouds.install(PASSWORDS) == path
    doc = yaml.safe_load(path.read_text())
    assert doc["clouds"]["prod"] == {"region_name": "X"}
    assert doc["clouds"]["devcloud"]["auth"]["password"] == PASSWORDS["admin"]
    assert _mode(path) == 0o600
    backup = path.with_name("clouds.yaml.before-devcloud")
    assert backup.read_text().startswith("# my clouds")
    before = path.stat().st_mtime_ns
    clouds.install(PASSWORDS)
    assert path.stat().st_mtime_ns == before
    clouds.uninstall()
    assert set(yaml.safe_load(path.read_text())["clouds"]) == {"prod"}


def test_install_creates_a_missing_file(tmp_path, monkeypatch):
    path = tmp_path / "new" / "clouds.yaml"
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    clouds.install(PASSWORDS)
    assert set(yaml.safe_load(path.read_text())["clouds"]) == {"devcloud", "devcloud-user"}
    assert not path.with_name("clouds.yaml.before-devcloud").exists()


@pytest.mark.parametrize("text", ["clouds: [1, 2", "- a list", "clouds: [a]"])
def test_install_refuses_a_file_it_cannot_merge(tmp_path, text):
    path = tmp_path / "clouds.yaml"
    path.write_text(text)
    with pytest.raises(InputError):
        clouds.install(PASSWORDS, path)
    assert path.read_text() == text


# passwords ----------------------------------------------------------------------------------

def test_passwords_are_random_private_and_stable(tmp_path):
    path = tmp_path / "secrets.json"
    first = secrets.load_or_create(path)
    assert set(first) == set(secrets.NAMES)
    # 128-bit hex passwords; the key manager's fixed key is 256 bits.
    assert all(len(v) == (64 if k == "keymgr" else 32) and int(v, 16) >= 0
               for k, v in first.items())
    assert len(set(first.values())) == len(first)
    assert _mode(path) == 0o600
    assert secrets.load_or_create(path) == first
    path.write_text(json.dumps({"admin": first["admin"]}))
    refilled = secrets.load_or_create(path)
    assert refilled["admin"] == first["admin"] and set(refilled) == set(secrets.NAMES)


# configs ------------------------------------------------------------------------------------

def test_configs_render_fully_privately_and_on_loopback(tmp_path):
    layout = Layout(tmp_path / "devcloud")
    layout.make_dirs()
    config.render_all(layout, PASSWORDS)
    rendered = {rel: (layout.etc / rel) for rel in config.FILES.values()}
    for rel, path in rendered.items():
        text = path.read_text()
        assert "${" not in text, rel
        assert "0.0.0.0" not in text, rel
        assert _mode(path) == 0o600, rel
    nova = rendered["nova/nova.conf"].read_text()
    assert "compute_driver = fake.FakeDriverWithoutFakeNodes" in nova
    assert "send_service_user_token = true" in nova
    assert f"unix_socket={layout.db_socket}" in nova
    assert "mechanism_drivers = devcloud_noop" in rendered["neutron/plugins/ml2/ml2_conf.ini"]\
        .read_text()
    assert "skip-networking" in rendered["mariadb/my.cnf"].read_text()
    assert f"listeners.tcp.1 = 127.0.0.1:{PORTS['rabbitmq']}" in \
        rendered["rabbitmq/rabbitmq.conf"].read_text()
    assert len(str(layout.db_socket)) < 108  # AF_UNIX path limit


# pid files ----------------------------------------------------------------------------------

def test_start_track_and_stop_a_process_group(tmp_path):
    pid_file, log = tmp_path / "sleeper.pid", tmp_path / "sleeper.log"
    # a shell with a child: stopping the group must take both
    tracked = procs.start(["sh", "-c", "sleep 30 & sleep 30; wait"], env=dict(os.environ),
                          log=log, pid_file=pid_file, cwd=tmp_path)
    assert procs.alive(pid_file) == tracked
    deadline = time.monotonic() + 5
    while len(procs.group_members(tracked.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    members = procs.group_members(tracked.pid)
    assert len(members) >= 2 and procs.rss_bytes(members) > 0
    assert procs.stop_all([pid_file], grace=5) == []
    assert procs.group_members(tracked.pid) == []
    assert not pid_file.exists()
    assert procs.START_MARKER in log.read_text()


def test_a_reused_pid_is_not_ours(tmp_path):
    pid_file = tmp_path / "x.pid"
    pid_file.write_text(f"{os.getpid()} 1\n")  # our pid, but another start time
    assert procs.alive(pid_file) is None
    assert procs.stop_all([pid_file], grace=0.1) == []  # and so it is never signalled
    pid_file.write_text("garbage")
    assert procs.alive(pid_file) is None


# registry and preflight ---------------------------------------------------------------------

def test_registry_order_and_ports():
    assert len(BY_NAME) == len(SERVICES)
    assert {s.port for s in SERVICES if s.port} <= set(PORTS.values())
    stage = {s.name: s.stage for s in SERVICES}
    assert stage["mariadb"] < stage["keystone"] < stage["nova-scheduler"] < stage["nova-compute"]
    assert stage["nova-conductor"] < stage["nova-compute"]
    layout = Layout(Path("/nonexistent/devcloud"))
    for service in SERVICES:
        argv = service.argv(layout)
        assert argv and all(isinstance(a, str) for a in argv)
        assert not any("0.0.0.0" in a for a in argv), service.name
    keystone = BY_NAME["keystone"].argv(layout)
    assert keystone[keystone.index("--bind") + 1] == f"{HOST}:{PORTS['keystone']}"


def test_busy_port_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ExecutionError, match=f"port {port} .* used by another program"):
            preflight.check_port("keystone", port)


def test_missing_debian_packages_name_the_script(monkeypatch):
    monkeypatch.setattr(preflight.shutil, "which", lambda _cmd: None)
    monkeypatch.setattr(preflight, "rabbitmq_server", lambda: None)
    monkeypatch.setattr(preflight.Path, "exists", lambda _self: False)
    with pytest.raises(ExecutionError) as err:
        preflight.check_commands()
    assert "rabbitmq-server" in str(err.value) and "system-deps.sh" in str(err.value)


def test_too_little_disk_is_a_clear_error(tmp_path, monkeypatch):
    class Tiny:
        f_bavail, f_frsize = 10, 4096

    monkeypatch.setattr(preflight.os, "statvfs", lambda _p: Tiny)
    with pytest.raises(ExecutionError, match="MiB free"):
        preflight.check_disk(tmp_path / "devcloud", cold=True)


# CLI ----------------------------------------------------------------------------------------

def test_cli_status_of_a_devcloud_never_installed(tmp_path, monkeypatch):
    from govcloud.cli.devcloud_cmd import app

    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0 and "not installed" in result.output
    result = runner.invoke(app, ["status", "--json"])
    assert json.loads(result.output)["exists"] is False
    result = runner.invoke(app, ["down"])  # nothing to stop: still fine
    assert result.exit_code == 0


def test_cli_up_error_is_one_line_without_traceback(tmp_path, monkeypatch):
    from govcloud.cli.devcloud_cmd import app
    from govcloud.devcloud import lifecycle

    def refuse():
        raise ExecutionError("devcloud needs rabbitmq-server", hint="run `bash x.sh`")

    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(lifecycle.preflight, "check_commands", refuse)
    result = CliRunner().invoke(app, ["up"])
    assert result.exit_code == 3
    assert "devcloud needs rabbitmq-server: run `bash x.sh`" in result.output
    assert "Traceback" not in result.output


def test_system_deps_script_is_valid_bash():
    script = Path(__file__).resolve().parents[2] / "scripts" / "system-deps.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0


def test_a_daemon_dying_at_start_is_a_one_line_error_naming_its_log(tmp_path):
    from govcloud.devcloud import lifecycle
    from govcloud.devcloud.services import Service

    layout = Layout(tmp_path / "devcloud")
    layout.make_dirs()
    bogus = Service("bogus", 9, lambda _l: ["sh", "-c", "echo starting; echo boom: no db >&2"],
                    lambda _l: False)
    assert lifecycle._start(layout, [bogus], lambda _m: None) == ["bogus"]
    with pytest.raises(ExecutionError) as err:
        lifecycle._wait(layout, [bogus], lambda _m: None)
    message = str(err.value)
    assert "bogus exited during start-up (boom: no db)" in message
    assert str(layout.log_file("bogus")) in message and "\n" not in message
    assert lifecycle.down(layout) == []
    assert not lifecycle.is_up(layout)
