"""The repository's `.pre-commit-hooks.yaml`, run by the real `pre-commit` from a real `git
commit` in a temporary department repository: a good request commits, a bad one is refused
with the finding printed, an invalid one with its file:line.

The hooks are consumed as a department would (`repo:` + `rev:` of a git repository holding
the manifest), with `language: system` so that the govcloud of this virtualenv runs (no
virtualenv built, no network); see docs/requests-in-git.md for `language: python`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.fixture()
def department_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    assert (BIN / "pre-commit").exists(), "pre-commit is a dev dependency: make venv"
    assert shutil.which("git"), "git is needed"
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache"),
        "GOVCLOUD_STATE_DIR": str(tmp_path / "state"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Zhang Wei", "GIT_AUTHOR_EMAIL": "zhang.wei@example.gov.cn",
        "GIT_COMMITTER_NAME": "Zhang Wei", "GIT_COMMITTER_EMAIL": "zhang.wei@example.gov.cn",
        "LANG": "C.UTF-8",
    }
    env.pop("GOVCLOUD_INVENTORY", None)  # the hooks' args name the inventory
    # The hooks repository: the manifest under test, committed (pre-commit clones `rev`).
    hooks = tmp_path / "govcloud-hooks"
    hooks.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", hooks / ".pre-commit-hooks.yaml")
    for args in (["git", "init", "-q", "-b", "main"], ["git", "add", "."],
                 ["git", "commit", "-q", "-m", "hooks"]):
        assert _run(args, hooks, env).returncode == 0
    rev = _run(["git", "rev-parse", "HEAD"], hooks, env).stdout.strip()
    # The department's repository, with the hooks installed as a git pre-commit hook.
    repo = tmp_path / "requests-repo"
    (repo / "requests").mkdir(parents=True)
    inventory = ROOT / "inventory"
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"- repo: {hooks}\n"
        f"  rev: {rev}\n"
        "  hooks:\n"
        "  - id: govcloud-validate\n"
        "    language: system\n"
        f"    args: [--inventory, {inventory}]\n"
        "  - id: govcloud-check\n"
        "    language: system\n"
        f"    args: [--inventory, {inventory}]\n",
        encoding="utf-8",
    )
    assert _run(["git", "init", "-q", "-b", "main"], repo, env).returncode == 0
    installed = _run([str(BIN / "pre-commit"), "install"], repo, env)
    assert installed.returncode == 0, installed.stderr
    assert _run(["git", "add", ".pre-commit-config.yaml"], repo, env).returncode == 0
    first = _run(["git", "commit", "-q", "-m", "pre-commit config"], repo, env)
    assert first.returncode == 0, first.stdout + first.stderr
    return repo, env


def _commit(repo: Path, env: dict[str, str], name: str, text: str) -> tuple[int, str, int]:
    """Stage requests/NAME and commit; (exit code, output, commits on main afterwards)."""
    (repo / "requests" / name).write_text(text, encoding="utf-8")
    assert _run(["git", "add", f"requests/{name}"], repo, env).returncode == 0
    result = _run(["git", "commit", "-m", f"request {name}"], repo, env)
    count = _run(["git", "rev-list", "--count", "HEAD"], repo, env).stdout.strip()
    return result.returncode, result.stdout + result.stderr, int(count)


def test_good_request_commits_bad_and_invalid_are_refused(department_repo):
    repo, env = department_repo
    good = _run([str(BIN / "govcloud"), "new", "request", "--department", "cnty-an-civil",
                 "--platform", "gov-external-cloud", "--lang", "zh",
                 "--inventory", str(ROOT / "inventory")], repo, env)
    assert good.returncode == 0, good.stderr
    code, output, commits = _commit(repo, env, "good.yaml", good.stdout)
    assert code == 0, output
    assert commits == 2
    assert "govcloud check --scope requests" in output and "Passed" in output

    bad = (ROOT / "examples/requests/bad-ssh-rdp-open-to-world.yaml").read_text(encoding="utf-8")
    code, output, commits = _commit(repo, env, "bad.yaml", bad)
    assert code != 0
    assert commits == 2  # refused: nothing committed
    assert "Failed" in output
    assert "GC-SEC-002" in output  # the finding, printed by the hook
    assert "bad.yaml:29" in output  # where (the table may wrap the folder onto its own line)

    # Fix it (unstage the bad file), then an invalid request: refused by validate, file:line named
    assert _run(["git", "rm", "-q", "--cached", "requests/bad.yaml"], repo, env).returncode == 0
    (repo / "requests" / "bad.yaml").unlink()
    invalid = good.stdout.replace("  tenant:", "  tennant:").replace(
        "REQ-", "REQ-INVALID-")
    code, output, commits = _commit(repo, env, "invalid.yaml", invalid)
    assert code != 0
    assert commits == 2
    assert "requests/invalid.yaml:" in output and "unknown field 'tennant'" in output
