"""Hostile files and unsafe writes (issue 13, parts 7 and 8) through the real CLI, in subprocesses.

No devcloud: every command here works on files alone. Each test is one attack from the issue,
made with real files (mkfifo, a symlink to /dev/zero, planted symlinks at temp and target names).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "inventory"
GOOD = ROOT / "tests" / "adversarial" / "baseline" / "good-level2.yaml"
GOVCLOUD = [sys.executable, "-m", "govcloud"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items()
           if not k.startswith(("OS_", "GOVCLOUD_"))}
    out.update(GOVCLOUD_STATE_DIR=str(tmp_path / "state"), GOVCLOUD_INVENTORY=str(INVENTORY),
               PYTHONPATH=str(ROOT))
    return out


def run(env: dict[str, str], *args: str, timeout: float = 60, umask: int | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    def child() -> None:
        if umask is not None:
            os.umask(umask)
        # A reader of /dev/zero would run into this instead of the machine's memory.
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run([*GOVCLOUD, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=child, cwd=cwd or ROOT, check=False)


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- special files


def test_symlink_to_dev_zero_exits_2_without_reading(env, tmp_path: Path) -> None:
    folder = tmp_path / "requests"
    folder.mkdir()
    (folder / "zero.yaml").symlink_to("/dev/zero")
    shutil.copy(GOOD, folder / "good.yaml")
    start = time.monotonic()
    result = run(env, "validate", str(folder), "-o", "json", timeout=30)
    assert result.returncode == 2, result.stderr
    assert time.monotonic() - start < 20
    errors = json.loads(result.stdout)["errors"]
    assert any(e["file"].endswith("zero.yaml") and "character device" in e["message"]
               for e in errors), errors
    assert "Traceback" not in result.stderr


def test_fifo_exits_2_and_does_not_hang(env, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    result = run(env, "check", str(fifo), "-o", "json", timeout=30)  # TimeoutExpired = a hang
    assert result.returncode == 2, result.stderr
    errors = json.loads(result.stdout)["errors"]
    assert any("FIFO" in e["message"] and e["file"].endswith("pipe.yaml") for e in errors)


def test_alias_bombs_in_one_file_exit_2_quickly(env) -> None:
    bomb = ROOT / "tests" / "adversarial" / "hostile" / "alias-bombs.yaml"
    before = child_cpu()
    result = run(env, "validate", str(bomb), "-o", "json", timeout=60)
    cpu = child_cpu() - before
    assert result.returncode == 2, result.stderr
    assert any("alias" in e["message"] for e in json.loads(result.stdout)["errors"])
    assert cpu < 10, f"{cpu:.1f} s of CPU (was 13 s for the evaluation alone)"


@pytest.mark.parametrize("spelling", [".nan", ".inf", "-.Inf", "1.0e+999"])
def test_nan_and_infinity_are_refused_with_file_line_and_path(env, tmp_path: Path,
                                                              spelling: str) -> None:
    req = tmp_path / "req.yaml"
    req.write_text(GOOD.read_text(encoding="utf-8").replace("cores: 4", f"cores: {spelling}"),
                   encoding="utf-8")
    result = run(env, "check", str(req), "-o", "json")
    assert result.returncode != 0
    errors = json.loads(result.stdout)["errors"]
    (error,) = [e for e in errors if "finite" in e["message"]]
    assert error["file"].endswith("req.yaml") and error["path"] == "/spec/quotas/cores"
    assert error["line"] == 20  # the quotas line of good-level2.yaml


@pytest.mark.parametrize("written", ['"ADV-\\u202EBASE"', '"ADV\\u200B-BASE-001"',
                                     "|\n    ADV-BASE-001"])
def test_control_characters_in_an_id_are_refused(env, tmp_path: Path, written: str) -> None:
    req = tmp_path / "req.yaml"
    req.write_text(GOOD.read_text(encoding="utf-8").replace("  id: ADV-BASE-001",
                                                             f"  id: {written}"),
                   encoding="utf-8")
    result = run(env, "validate", str(req), "-o", "json")
    assert result.returncode == 1, result.stderr
    errors = json.loads(result.stdout)["errors"]
    assert any(e["path"] == "/metadata/id" and e["line"] == 7 for e in errors), errors


# ---------------------------------------------------------------- unsafe writes


def _victim(tmp_path: Path, name: str = "victim") -> Path:
    victim = tmp_path / name
    victim.write_text("precious\n")
    return victim


def test_report_write_follows_no_planted_link(env, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim, victim2 = _victim(tmp_path), _victim(tmp_path, "victim2")
    (out / ".report.json.tmp").symlink_to(victim)  # the old predictable temp names
    (out / "report.json").symlink_to(victim2)       # and the target itself
    result = run(env, "check", str(GOOD), "-o", "json", "--output", str(out / "report.json"))
    assert result.returncode in (0, 1), result.stderr
    assert victim.read_text() == "precious\n" and victim2.read_text() == "precious\n"
    assert not (out / "report.json").is_symlink()
    assert json.loads((out / "report.json").read_text())["version"] == 1


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_report_mode_follows_the_umask(env, tmp_path: Path, umask: int, mode: int) -> None:
    report = tmp_path / "r.html"
    result = run(env, "check", str(GOOD), "-o", "html", "--output", str(report), umask=umask)
    assert result.returncode in (0, 1), result.stderr
    assert stat.S_IMODE(report.stat().st_mode) == mode


def _signed_roles(env: dict[str, str], tmp_path: Path, department: str) -> tuple[dict, Path]:
    """A copy of the inventory whose roles are signed by a fresh root key (pinned through
    $GOVCLOUD_TRUST_ROOT), with a key for the department head of ``department``."""
    import yaml

    inv = tmp_path / "inv"
    shutil.copytree(INVENTORY, inv)
    roles_file = inv / "roles.yaml"
    docs = [d for d in yaml.safe_load_all(roles_file.read_text(encoding="utf-8")) if d]
    root, head_keys = tmp_path / "root", tmp_path / "head"
    assert run(env, "keys", "generate", "--role", "root", "--out", str(root)).returncode == 0
    assert run(env, "keys", "generate", "--role", "department",
               "--out", str(head_keys)).returncode == 0
    head = next(d for d in docs if d.get("kind") == "Role" and d["spec"]["role"] == "department"
                and d["spec"].get("department") == department)
    head["spec"]["public_key"] = (head_keys / "department.pub").read_text(encoding="utf-8")
    roles_file.write_text(yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False),
                          encoding="utf-8")
    pinned = run(env, "keys", "fingerprint", str(root / "root.pub")).stdout.split()[0]
    signed_env = {**env, "GOVCLOUD_INVENTORY": str(inv), "GOVCLOUD_TRUST_ROOT": pinned}
    signed = run(signed_env, "keys", "sign-roles", "--key", str(root / "root.key"))
    assert signed.returncode == 0, signed.stderr
    return signed_env, head_keys / "department.key"


def test_approvals_write_follows_no_planted_link(env, tmp_path: Path) -> None:
    req = tmp_path / "req.yaml"
    shutil.copy(GOOD, req)
    department = next(line.split(":", 1)[1].strip() for line in req.read_text().splitlines()
                      if line.strip().startswith("department:"))
    signed_env, key = _signed_roles(env, tmp_path, department)
    victim = _victim(tmp_path)
    (tmp_path / ".req.yaml.approvals.json.tmp").symlink_to(victim)
    result = run(signed_env, "approve", str(req), "--as", "department", "--key", str(key))
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious\n"
    approvals = json.loads((tmp_path / "req.yaml.approvals.json").read_text())
    assert approvals["approvals"][0]["payload"]["role"] == "department"


def test_credentials_key_is_never_written_through_a_link(env, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    link = tmp_path / "cred.key"
    link.symlink_to(victim)
    result = run(env, "credentials", "keygen", "--out", str(link))
    assert result.returncode == 2 and "exists" in result.stderr
    assert victim.read_text() == "precious\n"


# credentials bundles are written by `apply` (which needs a cloud); these tests write them with
# the same function apply calls, in a separate process, and read them back through the CLI.
_PUT = ("import sys; from pathlib import Path; from govcloud.provision import credentials as c; "
        "c.put_password(Path(sys.argv[1]), bytes.fromhex(Path(sys.argv[2]).read_text().strip()),"
        " 'dept', 'tenant-a', sys.argv[3], 'pw-' + sys.argv[3])")


def _put(env: dict[str, str], bundles: Path, key: Path, user: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _PUT, str(bundles), str(key), user], env=env,
                          capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)


def test_credentials_bundle_write_follows_no_planted_link(env, tmp_path: Path) -> None:
    key = tmp_path / "cred.key"
    assert run(env, "credentials", "keygen", "--out", str(key)).returncode == 0
    bundles = tmp_path / "bundles"
    bundles.mkdir(mode=0o700)
    victim = _victim(tmp_path)
    (bundles / ".dept.gcb.tmp").symlink_to(victim)
    assert _put(env, bundles, key, "wang").returncode == 0
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE((bundles / "dept.gcb").stat().st_mode) == 0o600


def test_credentials_rollback_is_detected(env, tmp_path: Path) -> None:
    key = tmp_path / "cred.key"
    assert run(env, "credentials", "keygen", "--out", str(key)).returncode == 0
    bundles = tmp_path / "bundles"
    assert _put(env, bundles, key, "wang").returncode == 0
    old = (bundles / "dept.gcb").read_bytes()
    assert _put(env, bundles, key, "li").returncode == 0
    shown = run(env, "credentials", "show", str(bundles / "dept.gcb"), "--credentials-key",
                str(key), "-o", "json")
    assert shown.returncode == 0 and len(json.loads(shown.stdout)["users"]) == 2
    (bundles / "dept.gcb").write_bytes(old)  # the attack: the older copy put back
    shown = run(env, "credentials", "show", str(bundles / "dept.gcb"), "--credentials-key",
                str(key), "-o", "json")
    assert shown.returncode == 4 and "rolled back" in shown.stderr
    assert "pw-wang" not in shown.stdout
    again = _put(env, bundles, key, "zhao")  # and apply would refuse to write over it
    assert again.returncode != 0 and "older copy" in again.stderr
    assert (bundles / "dept.gcb").read_bytes() == old
