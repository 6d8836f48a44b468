"""Requests in git. The repository's `.pre-commit-hooks.yaml`, run by the real `pre-commit`
from a real `git commit` in a temporary department repository: a good request commits, a bad
one is refused with the finding printed, an invalid one with its file:line. And the script of
the example GitLab CI job (examples/requests-repo/.gitlab-ci.yml), run as GitLab's runner runs
it (bash, errexit): exit code, and the JUnit and SARIF reports it publishes.

The hooks are consumed as a department would (`repo:` + `rev:` of a git repository holding
the manifest), with `language: system` so that the govcloud of this virtualenv runs (no
virtualenv built, no network); see docs/requests-in-git.md for `language: python`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from junitparser import JUnitXml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def _commit_all(folder: Path, env: dict[str, str], message: str) -> str:
    """``git init`` in ``folder`` and commit all it holds; the commit's id (pre-commit clones a
    hooks repository at a ``rev``)."""
    for args in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                 ["git", "commit", "-q", "-m", message]):
        assert _run(args, folder, env).returncode == 0
    return _run(["git", "rev-parse", "HEAD"], folder, env).stdout.strip()


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
    rev = _commit_all(hooks, env, "hooks")
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


def test_language_python_builds_the_hook_from_the_repository(tmp_path):
    """The manifest as departments consume it by default (`language: python`): pre-commit
    installs govcloud from the hooks repository at `rev` into its own virtualenv (from PyPI or
    the configured mirror; about 45 s once on two cores, then reused), and the hook refuses a
    bad request. The hooks repository holds this checkout's tracked files as they are now."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "GOVCLOUD_STATE_DIR": str(tmp_path / "state"), "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    env.pop("GOVCLOUD_INVENTORY", None)
    hooks = tmp_path / "govcloud"
    hooks.mkdir()
    # `git stash create`: a commit of the tracked files as they are now (empty output: clean)
    tree = _run(["git", "stash", "create"], ROOT, env).stdout.strip() or "HEAD"
    archive = subprocess.run(["git", "archive", tree], cwd=ROOT, capture_output=True,
                             timeout=120, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(hooks)], input=archive, check=True, timeout=120)
    assert (hooks / "govcloud/data/policies").is_symlink()  # package data: kept as links
    rev = _commit_all(hooks, env, "govcloud")
    repo = tmp_path / "requests-repo"
    (repo / "requests").mkdir(parents=True)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hooks}\n  rev: {rev}\n  hooks:\n"
        f"  - id: govcloud-check\n    args: [--inventory, {ROOT / 'inventory'}]\n",
        encoding="utf-8")
    shutil.copy(ROOT / "examples/requests/bad-ssh-rdp-open-to-world.yaml",
                repo / "requests" / "bad.yaml")
    assert _run(["git", "init", "-q", "-b", "main"], repo, env).returncode == 0
    assert _run(["git", "add", "-A"], repo, env).returncode == 0
    result = _run([str(BIN / "pre-commit"), "run", "--all-files"], repo, env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Installing environment" in output  # its own virtualenv, not this one
    assert "GC-SEC-002" in output and "bad.yaml:29" in output


# ---------------------------------------------------------------- the GitLab CI job


def _ci_script() -> str:
    job = yaml.safe_load((ROOT / "examples/requests-repo/.gitlab-ci.yml").read_text("utf-8"))
    return "\n".join(job["govcloud-requests"]["script"])


def _run_ci(tmp_path: Path, files: dict[str, str]) -> tuple[int, str, Path]:
    work = tmp_path / "checkout"
    (work / "requests").mkdir(parents=True)
    for name, text in files.items():
        (work / "requests" / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "GOVCLOUD_INVENTORY": str(ROOT / "inventory"),
           "GOVCLOUD_STATE_DIR": str(tmp_path / "state")}
    result = _run(["bash", "-eo", "pipefail", "-c", _ci_script()], work, env)
    return result.returncode, result.stdout + result.stderr, work / "reports"


def test_ci_job_passes_good_requests_and_publishes_empty_reports(tmp_path):
    good = _run([str(BIN / "govcloud"), "new", "request", "--department", "prov-health",
                 "--platform", "gov-external-cloud", "--inventory", str(ROOT / "inventory")],
                tmp_path, dict(os.environ))
    assert good.returncode == 0, good.stderr
    code, output, reports = _run_ci(tmp_path, {"epi.yaml": good.stdout})
    assert code == 0, output
    assert "No findings" in output
    assert JUnitXml.fromfile(str(reports / "govcloud-junit.xml")).failures == 0
    sarif = json.loads((reports / "govcloud.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["results"] == []


def test_ci_job_fails_on_a_finding_and_still_publishes_both_reports(tmp_path):
    bad = (ROOT / "examples/requests/bad-ssh-rdp-open-to-world.yaml").read_text(encoding="utf-8")
    code, output, reports = _run_ci(tmp_path, {"bad.yaml": bad})
    assert code == 1, output  # findings: exit 1, after every report is written
    assert "GC-SEC-002" in output
    junit = JUnitXml.fromfile(str(reports / "govcloud-junit.xml"))
    assert junit.failures == 1
    assert [suite.name for suite in junit] == ["GC-SEC-002"]
    sarif = json.loads((reports / "govcloud.sarif").read_text(encoding="utf-8"))
    results = sarif["runs"][0]["results"]  # one per rule opening a management port (22, 3389)
    assert results and {r["ruleId"] for r in results} == {"GC-SEC-002"}
    locations = [r["locations"][0]["physicalLocation"] for r in results]
    assert all(loc["artifactLocation"]["uri"].endswith("requests/bad.yaml") for loc in locations)
    assert 29 in {loc["region"]["startLine"] for loc in locations}


def test_ci_job_input_error_exits_2(tmp_path):
    code, output, reports = _run_ci(tmp_path, {"broken.yaml": "spec: [unclosed\n"})
    assert code == 2, output
    assert "broken.yaml" in output
    assert (reports / "govcloud-junit.xml").exists()
