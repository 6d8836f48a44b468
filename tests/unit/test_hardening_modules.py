"""The baseline's two batching modules, run as Ansible runs them (JSON args, real files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from govcloud.hardening.controls import default_playbooks_dir

LIBRARY = default_playbooks_dir() / "library"


def run_module(name: str, tmp: Path, args: dict, check: bool = False) -> dict:
    argfile = tmp / "args.json"
    payload = dict(args, _ansible_check_mode=check, _ansible_diff=True)
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": payload}))
    proc = subprocess.run(
        [sys.executable, str(LIBRARY / f"{name}.py"), str(argfile)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return json.loads(proc.stdout)


SSHD = (
    "Include /etc/ssh/sshd_config.d/*.conf\n#PermitRootLogin prohibit-password\n"
    "PasswordAuthentication yes\nMatch User anoncvs\n  X11Forwarding no\n"
)


def run_settings(conf: Path, text: str, check: bool = False, **args: object) -> tuple[Path, dict]:
    """``govcloud_settings`` on a file ``conf`` that holds ``text`` (args: the module's)."""
    conf.write_text(text)
    return conf, run_module("govcloud_settings", conf.parent, {"path": str(conf), **args},
                            check=check)


def test_settings_uncomment_replace_insert_before_match_then_idempotent(tmp_path):
    conf = tmp_path / "sshd_config"
    conf.write_text(SSHD)
    args = {
        "path": str(conf),
        "ignore_case": True,
        "insertbefore": r"^\s*Match\s",
        "controls": {
            "MLPS3-AC-02": {"PermitRootLogin": "no"},
            "MLPS3-AC-03": {"PasswordAuthentication": "no"},
            "MLPS3-IA-04": {"ClientAliveInterval": 300},
        },
    }
    res = run_module("govcloud_settings", tmp_path, args)
    assert res["changed"] is True
    assert res["changed_controls"] == {
        "MLPS3-AC-02": ["PermitRootLogin"],
        "MLPS3-AC-03": ["PasswordAuthentication"],
        "MLPS3-IA-04": ["ClientAliveInterval"],
    }
    lines = conf.read_text().splitlines()
    assert lines[1] == "PermitRootLogin no" and lines[2] == "PasswordAuthentication no"
    assert lines.index("ClientAliveInterval 300") < lines.index("Match User anoncvs")
    again = run_module("govcloud_settings", tmp_path, args)
    assert again["changed"] is False and again["changed_controls"] == {}


def test_settings_check_mode_reports_but_does_not_write(tmp_path):
    conf, res = run_settings(tmp_path / "login.defs", "PASS_MAX_DAYS\t99999\n", check=True,
                             separator="\t", settings={"PASS_MAX_DAYS": 90})
    assert res["changed"] is True and res["changed_keys"] == ["PASS_MAX_DAYS"]
    assert "PASS_MAX_DAYS\t90" in res["diff"]["after"]
    assert conf.read_text() == "PASS_MAX_DAYS\t99999\n"


def test_settings_failed_validation_leaves_the_file_alone(tmp_path):
    conf, res = run_settings(tmp_path / "x.conf", "a 1\n", settings={"a": 2},
                             validate="false %s")
    assert res.get("failed") and "validation" in res["msg"]
    assert conf.read_text() == "a 1\n"


def files_spec(target):
    return {"files": [{"path": str(target), "content": "Authorized use only\n", "mode": "0640"}]}


def test_files_check_mode_writes_nothing(tmp_path):
    target = tmp_path / "issue"
    assert run_module("govcloud_files", tmp_path, files_spec(target), check=True)["changed"]
    assert not target.exists()


def test_files_writes_content_and_mode_once(tmp_path):
    target = tmp_path / "issue"
    spec = files_spec(target)
    res = run_module("govcloud_files", tmp_path, spec)
    assert res["changed_files"] == [str(target)]
    assert target.read_text() == "Authorized use only\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert run_module("govcloud_files", tmp_path, spec)["changed"] is False
    target.chmod(0o644)
    assert run_module("govcloud_files", tmp_path, spec)["changed_files"] == [str(target)]
