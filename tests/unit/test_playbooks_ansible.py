"""The hardening baseline is an Ansible project as Ansible users expect it.

`ansible-lint --profile production playbooks/` passes (configured by `.ansible-lint`: offline, so
it never downloads collections), and it still catches what it is there to catch; Ansible finds
the baseline's own modules through `ansible.cfg`, both where govcloud's runner runs
ansible-playbook (inside `playbooks/`) and from the repository root (where `make lint` runs).

The tasks reshaped for the linter (AC-01, AC-04, the pam-auth-update profiles) are rendered by a
local play of `copy` tasks into a temporary folder and compared with what they rendered before.

ansible-lint takes several seconds per run: these are the slowest unit tests, and the only ones
that start Ansible's own tools; they need no target host and no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
BIN = Path(sys.executable).parent


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {BIN}: run `make venv` (pip install -e '.[dev]')",
                    pytrace=False)
    return path


def _env() -> dict[str, str]:
    """The caller's environment minus anything that would point Ansible at another config."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANSIBLE_CONFIG", "ANSIBLE_LIBRARY") and not k.startswith("ANSIBLE_LINT")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env["NO_COLOR"] = "1"
    return env


def _lint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(_tool("ansible-lint")), "--nocolor", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=600, check=False)


def test_the_baseline_passes_ansible_lint_production_profile():
    proc = _lint(ROOT, "--profile", "production", "playbooks/")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Profile 'production' was required, and it passed" in out, out
    assert "0 failure(s), 0 warning(s)" in out, out


def test_ansible_lint_still_catches_what_it_is_there_for(tmp_path):
    """A small project with the repository's configuration and the slips the production profile
    refuses: the run fails and names each one (so the test above cannot pass because nothing
    was linted). Small, because ansible-lint's time grows with the files it reads."""
    project = tmp_path / "project"
    base = project / "playbooks"
    (base / "roles").mkdir(parents=True)
    for name in (".ansible-lint", "ansible.cfg"):
        shutil.copy(ROOT / name, project / name)
    (project / ".git").mkdir()  # the project root, as in the repository
    shutil.copytree(PLAYBOOKS / "library", base / "library")
    shutil.copytree(PLAYBOOKS / "roles" / "banner", base / "roles" / "banner")
    (base / "site.yml").write_text(
        "- name: Banner only\n  hosts: all\n  roles: [{role: banner, tags: [banner]}]\n")
    # the catalog beside site.yml, where ansible-lint takes it for a playbook
    shutil.copy(PLAYBOOKS / "catalog" / "controls.yml", base / "controls.yml")
    tasks = base / "roles" / "banner" / "tasks" / "main.yml"
    tasks.write_text(tasks.read_text() + (
        "\n- name: MLPS3-BN-01 | Slips\n"
        "  ansible.builtin.set_fact:\n"
        "    banner_seen: true\n"
        "    seen_banner: true\n"          # a role fact without the role's prefix
        "  tags: [MLPS3-BN-01]\n"
        "\n- name: MLPS3-BN-01 | Shell without need\n"
        "  ansible.builtin.shell: cat /etc/issue\n"  # neither changed_when nor a shell feature
        "  tags: [MLPS3-BN-01]\n"
        "\n- name: MLPS3-BN-01 | Short module name\n"
        "  copy: {src: /etc/issue, dest: /tmp/issue, mode: '0644'}\n"
        "  tags: [MLPS3-BN-01]\n"
    ), encoding="utf-8")
    proc = _lint(project, "--profile", "production", "playbooks/")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    for rule in ("syntax-check", "var-naming[no-role-prefix]", "command-instead-of-shell",
                 "no-changed-when", "fqcn"):
        assert rule in out, f"{rule} not reported:\n{out}"
    assert "seen_banner" in out and "banner_seen" not in out.replace("seen_banner", ""), out
    # the baseline's own module, used by the banner role, is found through ansible.cfg
    assert "govcloud_files" not in out, out


@pytest.mark.parametrize("cwd", [PLAYBOOKS, ROOT], ids=["runner-cwd", "repository-root"])
def test_ansible_finds_the_baseline_modules_through_ansible_cfg(cwd):
    proc = subprocess.run([str(_tool("ansible-config")), "dump", "--only-changed"], cwd=cwd,
                          env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    config = [ln for ln in lines if ln.startswith("CONFIG_FILE")]
    module_path = [ln for ln in lines if ln.startswith("DEFAULT_MODULE_PATH")]
    assert config and config[0].endswith(str(cwd / "ansible.cfg")), proc.stdout
    assert module_path and module_path[0].endswith(f"['{PLAYBOOKS / 'library'}']"), proc.stdout
    assert {p.name for p in (PLAYBOOKS / "library").glob("govcloud_*.py")} == {
        "govcloud_files.py", "govcloud_settings.py"}
    if cwd == PLAYBOOKS:  # where govcloud runs: the main loop does not poll 1,000 times a second
        poll = [ln for ln in lines if ln.startswith("DEFAULT_INTERNAL_POLL_INTERVAL")]
        assert poll and float(poll[0].rsplit("=", 1)[1]) >= 0.005, proc.stdout


def test_the_runner_runs_ansible_inside_the_baseline_folder(tmp_path):
    """ansible-runner runs ansible-playbook with cwd = project_dir: that is what makes Ansible
    read playbooks/ansible.cfg (and no config of the controller's)."""
    from ansible_runner.config.runner import RunnerConfig

    from govcloud.hardening.controls import default_playbooks_dir
    from govcloud.hardening.runner import PLAYBOOK

    playbooks = default_playbooks_dir().resolve()
    assert playbooks == PLAYBOOKS.resolve()
    assert (playbooks / PLAYBOOK).is_file() and (playbooks / "ansible.cfg").is_file()
    rc = RunnerConfig(private_data_dir=str(tmp_path), project_dir=str(playbooks),
                      playbook=PLAYBOOK, inventory="localhost,")
    rc.prepare()
    assert Path(rc.cwd) == playbooks


# The tasks that changed shape for the linter render what they rendered before (a local play of
# debug tasks whose messages are the tasks' own expressions, read from the role files; no host
# is touched). Before: the AC-01 shell line joined the accounts with ' && passwd --lock ', AC-04
# was a shell task, and the pam-auth-update profiles were inline blocks with tabs.
PAM_PROFILES = {
    "govcloud-faillock": (
        "Name: govcloud MLPS3-IA-03 lock accounts after failed logins (pam_faillock)\n"
        "Default: yes\nPriority: 1024\nAuth-Type: Primary\nAuth-Initial:\n"
        "\trequired\tpam_faillock.so preauth\nAuth:\n\trequired\tpam_faillock.so preauth\n"
        "Account-Type: Primary\nAccount:\n\trequired\tpam_faillock.so\n"),
    "govcloud-faillock-authfail": (
        "Name: govcloud MLPS3-IA-03 count failures and reset on success (pam_faillock)\n"
        "Default: yes\nPriority: 0\nAuth-Type: Primary\nAuth:\n"
        "\t[default=die]\tpam_faillock.so authfail\n\tsufficient\tpam_faillock.so authsucc\n"),
}


def _task(role: str, prefix: str) -> dict:
    import yaml

    tasks = yaml.safe_load((PLAYBOOKS / "roles" / role / "tasks" / "main.yml").read_text())
    return next(t for t in tasks if t["name"].startswith(prefix))


def _render(tmp_path: Path, check: bool) -> dict[str, str]:
    """Each expression written to a file under tmp_path by a local play (check_mode off for the
    copy itself, so --check still renders what the audit would run)."""
    import json

    import yaml

    ac01 = _task("access", "MLPS3-AC-01 | Lock accounts")
    ac04 = _task("access", "MLPS3-AC-04 | Users' files")
    pam = _task("identity", "MLPS3-IA-03 | pam-auth-update profiles")
    out = tmp_path / ("check" if check else "fix")
    out.mkdir()
    exprs = {"ac01": (ac01["ansible.builtin.shell"], ac01["vars"]),
             "ac04": (ac04["ansible.builtin.command"], {}),
             **{Path(f["path"]).name: (f["content"], {}) for f in pam["govcloud_files"]["files"]}}
    tasks = [{"name": f"Render {name}", "vars": task_vars, "check_mode": False,
              "ansible.builtin.copy": {"content": expr, "dest": str(out / name), "mode": "0600"}}
             for name, (expr, task_vars) in exprs.items()]
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{"name": "Render", "hosts": "localhost",
                                     "gather_facts": False, "tasks": tasks}]))
    files = tmp_path / "files"
    if not files.exists():
        files.symlink_to(PLAYBOOKS / "roles" / "identity" / "files")
    probe = {"common_probe": {"empty_password": ["a b", "c'd", "e"],
                              "home_files": ["/home/x/a b", "/home/y/c'd", "/home/x/a b"]},
             "ansible_python_interpreter": sys.executable}
    env = {**_env(), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
           "ANSIBLE_HOME": str(tmp_path / "home"), "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run([str(_tool("ansible-playbook")), "-i", "localhost,", "-c", "local",
                           "-e", json.dumps(probe), *(["--check"] if check else []), str(play)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {name: (out / name).read_text(encoding="utf-8") for name in exprs}


def test_reshaped_tasks_run_the_same_commands_and_write_the_same_files(tmp_path):
    import shlex

    fix = _render(tmp_path, check=False)
    assert fix["ac01"].strip() == (
        "passwd --lock 'a b' && passwd --lock 'c'\"'\"'d' && passwd --lock e && true")
    # a command task: split as the command module splits it, each file once
    assert shlex.split(fix["ac04"]) == [
        "chmod", "g-w,o-rwx", "--", "/home/x/a b", "/home/y/c'd"]
    for name, content in PAM_PROFILES.items():
        assert fix[name] == content, name  # tabs and final newline kept
    audit = _render(tmp_path, check=True)
    assert audit["ac01"].strip() == "true" and audit["ac04"] == "true"
