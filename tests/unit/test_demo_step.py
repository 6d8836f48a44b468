"""`make demo` reads cleanly: each step runs through scripts/demo/step.sh, which says which exit
code the step expects and why, and stops the demo on any other.

step.sh is tested directly; the two demo scripts run with a stand-in `govcloud` (their
$GOVCLOUD) that records its arguments and answers with chosen exit codes, so neither devcloud nor
a target is touched; the Makefile's demo recipe is read as text (`make demo` itself needs both).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STEP = ROOT / "scripts" / "demo" / "step.sh"


def step(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(STEP), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=30, check=False)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# ---------------------------------------------------------------- step.sh


def test_expected_findings_read_as_ok():
    proc = step("1", "the bad examples have findings", "--", "sh", "-c", "echo report; exit 1")
    assert proc.returncode == 0
    assert proc.stdout == "report\n"  # the command's output passes through untouched
    assert proc.stderr.splitlines()[0] == "$ sh -c echo report; exit 1"
    assert last_line(proc.stderr) == "ok: exit 1 as expected (the bad examples have findings)"


def test_expected_success_reads_as_ok():
    proc = step("0", "every document is valid", "--", "true")
    assert proc.returncode == 0
    assert last_line(proc.stderr) == "ok: exit 0 as expected (every document is valid)"


def test_a_step_that_should_find_something_but_passes_fails():
    # the slip: a check that silently stopped finding the bad examples' violations
    proc = step("1", "the bad examples have findings", "--", "true")
    assert proc.returncode == 1
    assert last_line(proc.stderr) == (
        "FAILED: exit 0, expected 1 (the bad examples have findings): true")


def test_an_unexpected_error_fails_and_names_the_command():
    proc = step("1", "findings", "--", "sh", "-c", "exit 3")
    assert proc.returncode == 1
    assert last_line(proc.stderr) == "FAILED: exit 3, expected 1 (findings): sh -c exit 3"


def test_several_expected_codes():
    assert step("0,1", "either", "--", "sh", "-c", "exit 1").returncode == 0
    assert step("0,1", "either", "--", "true").returncode == 0
    proc = step("0,1", "either", "--", "sh", "-c", "exit 2")
    assert proc.returncode == 1
    assert "expected 0 or 1 (either)" in last_line(proc.stderr)


def test_arguments_keep_their_spaces():
    proc = step("0", "quoting", "--", "printf", "%s|", "a b", "", "c")
    assert proc.returncode == 0 and proc.stdout == "a b||c|"


def test_a_missing_command_is_a_failure_not_a_success():
    proc = step("0", "x", "--", "no-such-command-for-the-demo")
    assert proc.returncode == 1
    assert last_line(proc.stderr).startswith("FAILED: exit 127, expected 0 (x)")


@pytest.mark.parametrize("args", [
    [],
    ["1", "why", "CMD"],                  # no --
    ["1", "why", "--"],                   # no command
    ["one", "why", "--", "CMD"],          # not a number
    ["256", "why", "--", "CMD"],          # not an exit code
    ["0,", "why", "--", "CMD"],
    ["-1", "why", "--", "CMD"],
])
def test_usage_errors_exit_2_and_run_nothing(args, tmp_path):
    marker = tmp_path / "ran"
    argv = [w for a in args for w in (["touch", str(marker)] if a == "CMD" else [a])]
    proc = step(*argv)
    assert proc.returncode == 2
    assert "usage: step.sh EXPECTED WHY -- COMMAND" in proc.stderr
    assert not marker.exists()


# ---------------------------------------------------------------- the Makefile's demo recipe


def demo_recipe() -> list[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    body = text.split("\ndemo:", 1)[1]
    lines = []
    for line in body.splitlines()[1:]:
        if line and not line.startswith(("\t", " ")):
            break
        lines.append(line)
    # join continuation lines
    return [ln.strip() for ln in "\n".join(lines).replace("\\\n", " ").splitlines() if ln.strip()]


def test_no_demo_step_ignores_its_exit_code():
    recipe = demo_recipe()
    assert len(recipe) >= 10
    for line in recipe:
        # "-cmd" makes make print "Error 1 (ignored)"; "|| true" hides a real failure
        assert not line.startswith(("-", "@-")), line
        assert "|| true" not in line, line


def test_every_demo_command_says_what_exit_it_expects():
    commands = [ln for ln in demo_recipe() if "$(GC)" in ln or "scripts/" in ln]
    assert len(commands) >= 10
    for line in commands:
        match = re.search(r"\$\(STEP\) (\d+(?:,\d+)*) \"([^\"]+)\" -- ", line)
        assert match, f"not run through $(STEP) EXPECTED WHY --: {line}"
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^STEP\s*:= bash scripts/demo/step.sh$", text, re.M)


# ---------------------------------------------------------------- the demo scripts


FAKE_GOVCLOUD = """#!/bin/sh
# stand-in for govcloud: records its arguments, answers with the chosen exit code
echo "$*" >> "$FAKE_LOG"
case "$1 $2" in
  "devcloud up") exit "${DEVCLOUD_RC:-0}" ;;
  "target status") echo "demo running 10.213.0.2 nspawn 1 $FAKE_DIR/inventory.yml"; exit 0 ;;
esac
case "$1" in
  drift) exit "${DRIFT_RC:-0}" ;;
  audit) exit "${AUDIT_RC:-1}" ;;
  harden)
    case " $* " in
      *" --check "*) [ -f "$FAKE_DIR/remediated" ] && exit 0; exit 1 ;;
      *) touch "$FAKE_DIR/remediated"; exit 0 ;;
    esac ;;
esac
exit 0
"""


@pytest.fixture
def fake(tmp_path):
    gc = tmp_path / "govcloud"
    gc.write_text(FAKE_GOVCLOUD)
    gc.chmod(0o755)
    env = {**os.environ, "GOVCLOUD": str(gc), "FAKE_LOG": str(tmp_path / "calls.log"),
           "FAKE_DIR": str(tmp_path), "OUT": str(tmp_path / "out"),
           "GOVCLOUD_STATE_DIR": str(tmp_path / "state")}
    return env, tmp_path


def run_script(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ROOT / "scripts" / script)], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return [" ".join(w for w in ln.split() if not w.startswith("/")) for ln in
            log.read_text().splitlines()] if log.exists() else []


def test_cloud_demo_steps_say_what_they_expect(fake):
    env, tmp = fake
    proc = run_script("demo/cloud.sh", env)
    assert proc.returncode == 0, proc.stderr
    assert [c.split()[0] + " " + c.split()[1] if c.startswith(("devcloud", "credentials"))
            else c.split()[0] for c in calls(tmp)] == [
        "devcloud up", "credentials keygen", "plan", "apply", "apply", "drift", "audit"]
    oks = [ln for ln in proc.stderr.splitlines() if ln.startswith("ok: ")]
    assert len(oks) == 6, proc.stderr
    assert oks[-1] == ("ok: exit 1 as expected (findings: devcloud's own admin and service "
                       "projects are unmanaged (GC-MGD, high))")
    assert "FAILED" not in proc.stderr
    assert (tmp / "out" / "plan.txt").exists()


def test_cloud_demo_stops_at_unexpected_drift(fake):
    env, tmp = fake
    proc = run_script("demo/cloud.sh", {**env, "DRIFT_RC": "1"})
    assert proc.returncode == 1
    assert "FAILED: exit 1, expected 0 (no drift right after apply)" in proc.stderr
    assert not any(c.startswith("audit") for c in calls(tmp))  # stopped there


def test_cloud_demo_says_why_it_skips_without_devcloud(fake):
    env, tmp = fake
    proc = run_script("demo/cloud.sh", {**env, "DEVCLOUD_RC": "3"})
    assert proc.returncode == 0
    assert "provisioning demo skipped: devcloud did not start" in proc.stderr
    assert calls(tmp) == ["devcloud up"]


@pytest.fixture
def target_host(fake):
    """What the hardening demo's preflight looks for: root, systemd-nspawn and debootstrap
    (stand-ins: only looked up, never run by the demo itself)."""
    env, tmp = fake
    stubs = tmp / "bin"
    stubs.mkdir()
    for tool, body in (("systemd-nspawn", "exit 99"), ("debootstrap", "exit 99"),
                       ("id", 'if [ "$1" = -u ]; then echo 0; else exit 99; fi')):
        (stubs / tool).write_text(f"#!/bin/sh\n{body}\n")
        (stubs / tool).chmod(0o755)
    return {**env, "PATH": f"{stubs}{os.pathsep}{env['PATH']}"}, tmp


def test_hardening_demo_steps_say_what_they_expect(target_host):
    env, tmp = target_host
    proc = run_script("target/demo.sh", env)
    assert proc.returncode == 0, proc.stderr
    oks = [ln for ln in proc.stderr.splitlines() if ln.startswith("ok: ")]
    assert oks == [
        "ok: exit 1 as expected (findings: a fresh Debian host has non-compliant controls)",
        "ok: exit 1 as expected (the same audit, as HTML)",
        "ok: exit 0 as expected (every control remediated)",
        "ok: exit 0 as expected (all controls compliant after remediation)",
        "ok: exit 0 as expected (the same audit, as HTML)",
    ], proc.stderr
    assert calls(tmp)[0] == "target up demo"
    assert calls(tmp)[-1] == "target down demo"  # taken down on the way out


def test_hardening_demo_stops_when_remediation_does_not_help(target_host):
    env, tmp = target_host
    # a harden that never remediates: the audit after it still finds something
    gc = tmp / "govcloud"
    gc.write_text(gc.read_text().replace('touch "$FAKE_DIR/remediated"; ', ""))
    proc = run_script("target/demo.sh", env)
    assert proc.returncode == 1
    assert ("FAILED: exit 1, expected 0 (all controls compliant after remediation)"
            in proc.stderr)
    assert calls(tmp)[-1] == "target down demo"


def test_hardening_demo_says_why_it_skips(target_host):
    env, tmp = target_host
    (tmp / "bin" / "id").write_text("#!/bin/sh\necho 1000\n")  # not root
    (tmp / "bin" / "debootstrap").unlink()
    proc = run_script("target/demo.sh", {**env, "PATH": f"{tmp / 'bin'}{os.pathsep}/usr/bin:/bin"})
    assert proc.returncode == 0
    assert "hardening demo skipped: booting a target needs root; debootstrap missing" \
        in proc.stderr
    assert calls(tmp) == []  # nothing booted
