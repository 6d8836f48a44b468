"""What the hardening runner hands to ansible-runner: the env allow-list and host-key checking.

The Runner is the real ansible-runner object, configured by ``prepare_runner`` and not run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from govcloud.hardening import runner as hrunner
from govcloud.hardening.controls import default_playbooks_dir
from govcloud.hardening.target import machine

SECRETS = {
    "OS_PASSWORD": "cloud-admin-password",
    "OS_AUTH_URL": "http://keystone.example:5000/v3",
    "OS_APPLICATION_CREDENTIAL_SECRET": "app-cred-secret",
    "GOVCLOUD_CREDENTIALS_KEY": "00112233445566778899aabbccddeeff",
    "GOVCLOUD_AUDIT_KEY": "/root/audit.key",
    "GOVCLOUD_AUDIT_KEY_PASSPHRASE": "audit-passphrase",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "LD_PRELOAD": "/tmp/evil.so",
    "PYTHONPATH": "/tmp/evil",
    # a user's own Ansible settings that would weaken the run
    "ANSIBLE_HOST_KEY_CHECKING": "False",
    "ANSIBLE_CALLBACK_PLUGINS": "/tmp/evil-callbacks",
    "ANSIBLE_CONFIG": "/tmp/evil.cfg",
    "ANSIBLE_SSH_ARGS": "-o StrictHostKeyChecking=no",
    "ANSIBLE_STDOUT_CALLBACK": "evil",
}
NEEDED = {"HOME": "/root", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
          "SSH_AUTH_SOCK": "/run/agent.sock", "TZ": "Asia/Shanghai"}


@pytest.fixture
def prepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name, value in {**SECRETS, **NEEDED}.items():
        monkeypatch.setenv(name, value)
    inventory = tmp_path / "hosts.yml"
    hosts = {"web-1": {"ansible_host": "10.0.0.5"}}
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    pdd = tmp_path / "pdd"
    pdd.mkdir(mode=0o700)
    return hrunner.prepare_runner(pdd, default_playbooks_dir().resolve(), inventory, limit=None,
                                  cmdline=["--check", "--diff"], extravars={},
                                  event_handler=lambda ev: True, timeout=60)


def test_no_secret_and_no_user_ansible_setting_reaches_ansible(prepared) -> None:
    env = prepared.config.env
    for name in SECRETS:
        if name.startswith("ANSIBLE_"):
            continue
        assert name not in env, name
    assert not [k for k in env if k.startswith(("OS_", "GOVCLOUD_", "AWS_"))]
    values = set(env.values())
    assert not [v for k, v in SECRETS.items() if v in values and not k.startswith("ANSIBLE_")]
    assert "ANSIBLE_CONFIG" not in env and "ANSIBLE_SSH_ARGS" not in env
    assert env["ANSIBLE_CALLBACK_PLUGINS"].endswith("display_callback/callback")
    assert "/tmp/evil" not in env["ANSIBLE_CALLBACK_PLUGINS"]
    assert env["ANSIBLE_STDOUT_CALLBACK"] == "awx_display"  # the event stream still works


def test_what_ansible_needs_is_passed(prepared) -> None:
    env = prepared.config.env
    for name, value in NEEDED.items():
        assert env[name] == value
    assert env["PATH"] and env["ANSIBLE_LOCAL_TEMP"].endswith("/tmp")
    assert env["ANSIBLE_PIPELINING"] == "True"
    assert set(env) <= (hrunner._CONTROLLER_VARS | set(hrunner._ANSIBLE_ENV) | hrunner._RUNNER_VARS
                        | {"ANSIBLE_CALLBACK_PLUGINS", "ANSIBLE_LOCAL_TEMP"}
                        | {k for k in env if k.startswith("LC_")})


def test_host_key_checking_is_on_whatever_the_user_env_says(prepared) -> None:
    assert prepared.config.env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert "StrictHostKeyChecking=no" not in " ".join(prepared.config.command)


def test_settings_passed_to_ansible_runner(prepared, tmp_path: Path) -> None:
    config = prepared.config
    assert "--check" in config.command and "--diff" in config.command
    assert config.suppress_env_files is True
    assert not (tmp_path / "pdd" / "env" / "envvars").exists()  # nothing persisted for reuse


def test_only_govcloud_test_targets_opt_out_of_host_key_checking(tmp_path: Path) -> None:
    target = machine.Target(name="t1", mode="chroot", index=1, address="10.201.1.2", pid=1,
                            netns="gc-t1", dir=str(tmp_path))
    machine._write_inventory(target)
    host = yaml.safe_load(target.inventory.read_text())["all"]["hosts"]["t1"]
    assert host["govcloud_test_target"] is True
    assert "StrictHostKeyChecking=no" in host["ansible_ssh_common_args"]
    assert target.inventory.stat().st_mode & 0o777 == 0o600


def test_ansible_env_is_an_allow_list() -> None:
    env = hrunner.ansible_env(
        controller={"PATH": "/bin", "OS_PASSWORD": "x", "LC_TIME": "C", "HOME": "/h",
                    "ANSIBLE_BECOME_PASS": "pw", "SSH_AUTH_SOCK": "/s"},
        prepared={"OS_PASSWORD": "x", "ANSIBLE_BECOME_PASS": "pw", "RUNNER_OMIT_EVENTS": "False",
                  "ANSIBLE_STDOUT_CALLBACK": "awx_display"},
        ours={"ANSIBLE_HOST_KEY_CHECKING": "True", "PATH": "/venv/bin:/bin"},
        callback_dir="/cb")
    assert env == {"PATH": "/venv/bin:/bin", "LC_TIME": "C", "HOME": "/h", "SSH_AUTH_SOCK": "/s",
                   "RUNNER_OMIT_EVENTS": "False", "ANSIBLE_STDOUT_CALLBACK": "awx_display",
                   "ANSIBLE_CALLBACK_PLUGINS": "/cb", "ANSIBLE_HOST_KEY_CHECKING": "True"}


def test_an_inventory_that_is_a_fifo_is_not_read(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "inv.yml"
    os.mkfifo(fifo)
    assert hrunner._inventory_hosts(fifo) == []  # returns at once: not opened for a blocking read
