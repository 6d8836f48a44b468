"""Attacks on the audit log (issue 13), each through real govcloud processes on real files.

No devcloud: every test runs `python -m govcloud check|log ...` in a temporary state folder with
the audit key configured (SM2), does to the files what an attacker would, and asserts that
`log verify --key` exits 4 or that the next ordinary command is refused (exit 4, nothing done).
The last tests walk the threat model of docs/audit-log.md line by line, including what is NOT
detectable (asserted too, so that the documentation cannot drift from the behaviour). Some
tests run processes as `nobody` (the operator's account) to show who can write what.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from govcloud import signing
from govcloud.auditlog.head import canonical, sign_record
from govcloud.auditlog.log import GENESIS, sm3_hex
from tests.unit.helpers import rechain

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NOBODY = pwd.getpwnam("nobody")
PASSPHRASE = "correct horse battery staple 审计"
DEPARTMENT = ("apiVersion: govcloud/v1\nkind: Department\nmetadata: {id: d}\n"
              "spec: {name: D, level: county, region: '390121'}\n")


@dataclass
class World:
    base: Path
    env: dict[str, str]
    append_only: list[Path] = field(default_factory=list)
    state: Path = field(init=False)
    log: Path = field(init=False)
    head: Path = field(init=False)
    key: Path = field(init=False)
    pub: Path = field(init=False)
    witness: Path = field(init=False)

    def __post_init__(self) -> None:
        self.state = self.base / "state"
        self.log, self.head = self.state / "audit.log", self.state / "audit.log.head"
        self.key = self.base / "keys" / "audit-signing.key"
        self.pub = self.base / "keys" / "audit-signing.pub"
        self.witness = self.base / "witness" / "audit-witness.log"

    def run(self, *args: str, user: int | None = None, **env: str
            ) -> subprocess.CompletedProcess[str]:
        full = {**self.env, **env}
        full = {k: v for k, v in full.items() if v != ""}
        python = sys.executable
        as_user: dict = {}
        if user is not None:
            python, path = _interpreter_for(user)
            full["PYTHONPATH"] = path
            as_user = {"user": user, "group": user, "extra_groups": []}
        return subprocess.run([python, "-m", "govcloud", *args], env=full, cwd=ROOT,
                              capture_output=True, text=True, timeout=180, check=False,
                              **as_user)

    def check(self, **kw: str) -> subprocess.CompletedProcess[str]:
        return self.run("check", str(self.base / "docs"), "-o", "json", **kw)

    def verify(self, **kw: str) -> subprocess.CompletedProcess[str]:
        return self.run("log", "verify", str(self.log), "--key", str(self.pub), **kw)

    def checks(self, n: int, **kw: str) -> None:
        for _ in range(n):
            done = self.check(**kw)
            assert done.returncode == 0, done.stderr

    def operated_by(self, uid: int, gid: int) -> None:
        """The state folder and the audit key belong to the operator's account."""
        self.state.mkdir(exist_ok=True)
        for path in (self.state, self.key.parent, self.key):
            os.chown(path, uid, gid)

    def lines(self) -> list[bytes]:
        return self.log.read_bytes().splitlines(keepends=True)


def _interpreter_for(user: int) -> tuple[str, str]:
    """A Python that ``user`` may run, with govcloud and its dependencies importable: this one
    when it is reachable, else the system's of the same version (this one may live in a home
    folder only root can enter) with this environment's packages on PYTHONPATH."""
    site = next(p for p in sys.path if p.endswith("site-packages"))
    path = f"{ROOT}:{site}"
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        try:
            probe = subprocess.run([python, "-c", "import govcloud.cli.app"], cwd=ROOT,
                                   env={"PATH": "/usr/bin:/bin", "PYTHONPATH": path},
                                   user=user, group=user, extra_groups=[], capture_output=True,
                                   timeout=60, check=False)
        except OSError:
            continue
        if probe.returncode == 0:
            return python, path
    pytest.fail(f"no Python that uid {user} can run imports govcloud", pytrace=False)


@pytest.fixture
def world() -> Iterator[World]:
    base = Path(tempfile.mkdtemp(prefix="govcloud-log-attacks-", dir="/tmp"))
    base.chmod(0o755)  # `nobody` must reach its files in some tests
    (base / "docs").mkdir()
    (base / "docs" / "d.yaml").write_text(DEPARTMENT)
    (base / "witness").mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(base),
           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
           "GOVCLOUD_STATE_DIR": str(base / "state"),
           "GOVCLOUD_INVENTORY": str(base / "docs"),  # the Department is authority data
           "GOVCLOUD_AUDIT_KEY": str(base / "keys" / "audit-signing.key"),
           "GOVCLOUD_AUDIT_CHECKPOINT_EVERY": "3",  # checkpoints at lines 4, 7, 10...
           "GOVCLOUD_WITNESS": "off", "GOVCLOUD_WITNESS_JOURNAL": "off"}
    made = World(base, env)
    done = made.run("log", "keygen", "--out", str(base / "keys"))
    assert done.returncode == 0, done.stderr
    assert "sm2" in done.stderr and made.key.stat().st_mode & 0o777 == 0o600
    yield made
    for path in made.append_only:
        subprocess.run(["chattr", "-a", str(path)], check=False)
    shutil.rmtree(base, ignore_errors=True)


def refused(world: World, code: int = 4, **kw: str) -> str:
    """The next ordinary command is refused before its work: no report, nothing appended."""
    before = world.log.read_bytes() if world.log.exists() else None
    done = world.check(**kw)
    assert done.returncode == code, (done.returncode, done.stderr)
    assert done.stdout == "" and "Traceback" not in done.stderr
    after = world.log.read_bytes() if world.log.exists() else None
    assert after == before
    return done.stderr


def broken(world: World, **kw: str) -> str:
    done = world.verify(**kw)
    assert done.returncode == 4, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stderr


# ---------------------------------------------------------------- issue 13's attacks


def test_ordinary_use_verifies_with_signed_checkpoints(world):
    world.checks(4)
    done = world.verify()
    assert done.returncode == 0, done.stderr
    assert "5 lines (1 signed checkpoints)" in done.stderr and "signed head verified" in done.stderr
    head = json.loads(world.head.read_text())
    assert head["alg"] == "sm2" and head["seq"] == 5 and head["every"] == 3


def test_cutting_the_last_entries(world):
    world.checks(4)
    world.log.write_bytes(b"".join(world.lines()[:-2]))
    assert "signed head says seq 5" in broken(world)
    assert "entries were cut off" in refused(world)


def test_removing_the_final_newline(world):
    world.checks(3)
    world.log.write_bytes(world.log.read_bytes()[:-1])
    assert "seq 3" in broken(world)
    refused(world)
    assert not (world.state / "audit.log.torn").exists()  # the signed entry was not set aside


def test_rewriting_an_entry_and_recomputing_the_chain_without_checkpoints(world):
    world.checks(4)
    entries = [json.loads(line) for line in world.lines()]
    entries = [e for e in entries if e.get("type") != "checkpoint"]
    entries[1]["command"] = "validate"
    world.log.write_bytes(rechain(entries))
    assert "checkpoint is due here and is missing" in broken(world)
    assert "signed head" in refused(world)


def test_rewriting_an_entry_and_recomputing_the_chain_keeping_checkpoints(world):
    world.checks(4)
    entries = [json.loads(line) for line in world.lines()]
    entries[0]["actor"] = "x"
    world.log.write_bytes(rechain(entries))
    assert "checkpoint signature does not verify" in broken(world)
    refused(world)


@pytest.mark.parametrize("forged", ["entry", "not-json", "both"])
def test_forged_lines_appended(world, forged):
    world.checks(2)
    last = world.lines()[-1].rstrip(b"\n")
    entry = json.loads(last)
    entry.update(seq=entry["seq"] + 1, prev=sm3_hex(last), actor="admin", command="approve")
    extra = {"entry": canonical(entry) + b"\n", "not-json": b"rm -rf / # not JSON\n",
             "both": canonical(entry) + b"\n" + b"<garbage>\n"}[forged]
    with world.log.open("ab") as handle:
        handle.write(extra)
    message = broken(world)
    assert "no signature vouches for" in message or "not a log entry" in message
    assert "no signature vouches for" in refused(world)


def test_restoring_an_old_copy_of_log_and_head_is_caught_by_the_witness(world):
    world.env["GOVCLOUD_WITNESS"] = str(world.witness)
    world.checks(2)
    old = {p: p.read_bytes() for p in (world.log, world.head)}
    world.checks(2)
    for path, data in old.items():
        path.write_bytes(data)
    assert "an older copy of the log (and head) was put back" in broken(world)
    assert "an older copy was put back" in refused(world)


def test_by_default_the_accounts_own_witness_catches_a_state_folder_put_back(world):
    """No witness configured at all: the account's own witness (outside the state folder)
    catches a state folder restored from a copy."""
    world.env["GOVCLOUD_WITNESS"] = ""  # unset: the default
    world.checks(2)
    own = world.base / ".local" / "share" / "govcloud" / "audit-witness.log"  # HOME is base
    assert len(own.read_bytes().splitlines()) == 2 and own.stat().st_mode & 0o777 == 0o600
    saved = world.base / "saved-state"
    shutil.copytree(world.state, saved)
    world.checks(1)
    shutil.rmtree(world.state)
    shutil.copytree(saved, world.state)
    assert "put back" in broken(world, GOVCLOUD_WITNESS="")
    assert "put back" in refused(world, GOVCLOUD_WITNESS="")


def test_deleting_the_log_is_an_integrity_failure(world):
    world.checks(2)
    world.log.unlink()
    assert "the log was deleted" in broken(world)
    assert "the log was deleted" in refused(world)
    assert not world.log.exists()  # no fresh log was started over the signed head


def test_deleting_log_and_head_is_caught_by_the_witness(world):
    world.env["GOVCLOUD_WITNESS"] = str(world.witness)
    world.checks(2)
    world.log.unlink()
    world.head.unlink()
    assert "log and head were deleted" in broken(world)
    assert "the head (and log) were removed" in refused(world)


def test_deleting_log_and_head_without_a_witness_is_not_detectable(world):
    """The threat model's limit: with no witness, no trace says a log ever existed."""
    world.checks(2)
    world.log.unlink()
    world.head.unlink()
    done = world.verify()
    assert done.returncode == 2 and "nothing was ever logged there" in done.stderr
    world.checks(1)  # a new log starts
    assert world.verify().returncode == 0


@pytest.mark.parametrize("witness", ["off", "own"])
def test_a_log_made_to_look_never_signed(world, witness):
    """Head deleted, signer fields and checkpoints stripped, chain recomputed: without a
    witness the next command adopts it (not detectable); the account's own witness refuses."""
    world.env["GOVCLOUD_WITNESS"] = "" if witness == "own" else "off"
    world.checks(4)
    entries = [json.loads(line) for line in world.lines()]
    entries = [{k: v for k, v in e.items() if k != "signer"} for e in entries
               if e.get("type") != "checkpoint"]
    entries[0]["command"] = "validate"
    world.log.write_bytes(rechain(entries))
    world.head.unlink()
    if witness == "off":
        world.checks(1)
        assert world.verify().returncode == 0  # NOT detectable without a witness
    else:
        assert "were removed" in refused(world)


def test_deleting_the_head_of_a_signed_log(world):
    world.checks(2)
    world.head.unlink()
    assert "no signed head" in broken(world)
    assert "its signed head audit.log.head is missing" in refused(world)


# ---------------------------------------------------------------- keys: fail closed


def test_a_missing_configured_key_stops_the_command_before_its_work(world):
    report = world.base / "report.json"
    for how in ({"GOVCLOUD_AUDIT_KEY": str(world.base / "no-such.key")},):
        done = world.run("check", str(world.base / "docs"), "--output", str(report), **how)
        assert done.returncode == 3 and "no-such.key" in done.stderr, done.stderr
        assert not report.exists() and not world.log.exists()
    flag = world.run("--audit-key", str(world.base / "no-such.key"), "check",
                     str(world.base / "docs"), GOVCLOUD_AUDIT_KEY="")
    assert flag.returncode == 3 and flag.stdout == "" and not world.log.exists()


def test_an_unreadable_configured_key_stops_the_command(world):
    folder = world.base / "a-folder.key"
    folder.mkdir()
    assert refused(world, 3, GOVCLOUD_AUDIT_KEY=str(folder))
    # The operator's account cannot read the key (root's, 0600): exit 3 as that account too.
    world.state.mkdir()
    os.chown(world.state, NOBODY.pw_uid, NOBODY.pw_gid)
    done = world.run("check", str(world.base / "docs"), user=NOBODY.pw_uid)
    assert done.returncode == 3 and "signing key" in done.stderr and done.stdout == "", done.stderr
    assert not world.log.exists()


def test_a_locked_key_stops_the_command_and_its_passphrase_unlocks_it(world):
    locked = world.base / "locked"
    made = world.run("log", "keygen", "--out", str(locked), "--encrypt",
                     GOVCLOUD_KEY_PASSPHRASE=PASSPHRASE)
    assert made.returncode == 0, made.stderr
    key = locked / "audit-signing.key"
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    no_passphrase = world.run("check", str(world.base / "docs"), GOVCLOUD_AUDIT_KEY=str(key))
    assert no_passphrase.returncode == 3 and "encrypted" in no_passphrase.stderr
    wrong = world.run("check", str(world.base / "docs"), GOVCLOUD_AUDIT_KEY=str(key),
                      GOVCLOUD_KEY_PASSPHRASE="wrong")
    assert wrong.returncode == 3 and "passphrase" in wrong.stderr and not world.log.exists()
    world.env.update(GOVCLOUD_AUDIT_KEY=str(key), GOVCLOUD_KEY_PASSPHRASE=PASSPHRASE,
                     GOVCLOUD_WITNESS=str(world.witness))
    world.checks(2)
    done = world.run("log", "verify", str(world.log), "--key", str(locked / "audit-signing.pub"))
    assert done.returncode == 0, done.stderr
    # The passphrase is never written anywhere govcloud writes, nor printed.
    for path in [*world.state.iterdir(), world.witness]:
        assert PASSPHRASE.encode() not in path.read_bytes(), path
    assert PASSPHRASE not in done.stderr + no_passphrase.stderr + wrong.stderr


def test_a_locked_key_is_unlocked_at_a_terminal_prompt(world):
    """On a terminal, govcloud asks for the passphrase (no echo) before the command's work."""
    import pty
    import select

    locked = world.base / "locked"
    made = world.run("log", "keygen", "--out", str(locked), "--encrypt",
                     GOVCLOUD_KEY_PASSPHRASE=PASSPHRASE)
    assert made.returncode == 0, made.stderr
    env = {**world.env, "GOVCLOUD_AUDIT_KEY": str(locked / "audit-signing.key")}
    argv = [sys.executable, "-m", "govcloud", "check", str(world.base / "docs"), "-o", "json",
            "--output", str(world.base / "report.json")]
    pid, fd = pty.fork()
    if pid == 0:  # the child: a session on the pty, as on an operator's terminal
        os.chdir(ROOT)
        os.execve(argv[0], argv, env)
    seen = b""
    answered = False
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            os.kill(pid, 9)
            pytest.fail(f"no prompt within 60 s: {seen!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"passphrase for" in seen:
            os.write(fd, PASSPHRASE.encode() + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    assert answered and os.waitstatus_to_exitcode(status) == 0, seen
    assert PASSPHRASE.encode() not in seen  # not echoed
    assert json.loads(world.lines()[0])["command"] == "check"
    assert (world.base / "report.json").exists()


# ---------------------------------------------------------------- who did it


def test_the_actor_is_the_os_account_not_logname(world):
    world.checks(1, LOGNAME="someone", USER="someone")
    entry = json.loads(world.lines()[0])
    assert entry["actor"] == pwd.getpwuid(os.geteuid()).pw_name != "someone"
    assert entry["uid"] == os.geteuid()
    assert entry["signer"] == json.loads(world.head.read_text())["key"][:16]  # the audit key


def test_the_actor_of_another_account_is_that_account(world):
    world.operated_by(NOBODY.pw_uid, NOBODY.pw_gid)
    done = world.check(user=NOBODY.pw_uid, LOGNAME="root", USER="root")
    assert done.returncode == 0, done.stderr
    entry = json.loads(world.lines()[0])
    assert entry["actor"] == "nobody" and entry["uid"] == NOBODY.pw_uid


# ---------------------------------------------------------------- the threat model, line by line


def _rewrite_with_key(world: World, change_first: bool = True, add: int = 0) -> None:
    """What the holder of the audit key can do: rewrite the log and sign it all again."""
    key = signing.load_signing_key(world.key)
    entries = [json.loads(line) for line in world.lines()]
    if change_first:
        entries[0]["command"] = "validate"
    for _ in range(add):
        entries.append({**entries[0], "command": "approve --as security"})
    entries = [e for e in entries if e.get("type") != "checkpoint"]
    out, prev, seq = [], GENESIS, 0
    for entry in entries:
        seq += 1
        entry.update(seq=seq, prev=prev)
        raw = canonical(entry)
        out.append(raw + b"\n")
        prev = sm3_hex(raw)
        if seq % 3 == 0:  # put the checkpoints back where they are due, signed
            seq += 1
            checkpoint = canonical(sign_record(key, {"seq": seq, "type": "checkpoint",
                                                     "prev": prev}))
            out.append(checkpoint + b"\n")
            prev = sm3_hex(checkpoint)
    data = b"".join(out)
    world.log.write_bytes(data)
    head = sign_record(key, {"seq": seq, "hash": prev, "size": len(data), "from": 1,
                             "every": 3, "time": "2026-12-01T00:00:00.000+00:00"})
    world.head.write_bytes(canonical(head) + b"\n")


def test_model_state_folder_writer_without_key_against_an_append_only_witness(world):
    """Line 1: the operator's account (here `nobody`) can write the state folder, holds no key
    for forging, and the witness belongs to root, append-only: restoring is caught."""
    world.env["GOVCLOUD_WITNESS"] = str(world.witness)
    world.witness.write_bytes(b"")
    world.witness.chmod(0o666)  # the operators may append...
    assert subprocess.run(["chattr", "+a", str(world.witness)], check=False).returncode == 0
    world.append_only.append(world.witness)  # ...but nobody, not even its writer, can cut it
    world.operated_by(NOBODY.pw_uid, NOBODY.pw_gid)
    world.checks(2, user=NOBODY.pw_uid)
    old = {p: p.read_bytes() for p in (world.log, world.head)}
    world.checks(2, user=NOBODY.pw_uid)
    cut = subprocess.run([_interpreter_for(NOBODY.pw_uid)[0], "-c",
                          "import sys; open(sys.argv[1], 'wb')",
                          str(world.witness)], user=NOBODY.pw_uid, capture_output=True,
                         check=False)
    assert cut.returncode != 0 and b"PermissionError" in cut.stderr  # cannot cut the witness
    for path, data in old.items():
        path.write_bytes(data)
    assert "put back" in broken(world, user=NOBODY.pw_uid)
    assert "put back" in refused(world, user=NOBODY.pw_uid)


def test_model_writer_of_state_and_witness_without_key(world):
    """Line 2: whoever can also rewrite the witness can put back an older copy unnoticed (it
    is a genuinely signed, older log); but cannot cut, forge or change entries."""
    world.env["GOVCLOUD_WITNESS"] = str(world.witness)
    world.checks(2)
    old = {p: p.read_bytes() for p in (world.log, world.head, world.witness)}
    world.checks(2)
    for path, data in old.items():
        path.write_bytes(data)
    done = world.verify()
    assert done.returncode == 0 and "witness agrees" in done.stderr  # NOT detectable
    world.log.write_bytes(b"".join(world.lines()[:-1]))
    broken(world)  # cutting is still caught by the signed head


def test_model_holder_of_the_audit_key(world):
    """Line 3: the audit key's holder can rewrite and re-sign everything; the witness still
    catches a change at or before the last witnessed head, not entries added after it."""
    world.env["GOVCLOUD_WITNESS"] = str(world.witness)
    world.checks(4)
    _rewrite_with_key(world)
    assert "signed again" in broken(world)
    refused(world)
    done = world.verify(GOVCLOUD_WITNESS="off")
    assert done.returncode == 0, done.stderr  # without a witness: NOT detectable


def test_model_holder_of_the_audit_key_adding_entries(world):
    world.env["GOVCLOUD_WITNESS"] = str(world.witness)
    world.checks(2)
    _rewrite_with_key(world, change_first=False, add=1)
    done = world.verify()
    assert done.returncode == 0 and "witness agrees" in done.stderr  # NOT detectable


def test_model_root(world):
    """Line 4: root holds every file and can lift the append-only flag: nothing local helps
    (only copies off the machine, e.g. journald forwarding)."""
    world.env["GOVCLOUD_WITNESS"] = str(world.witness)
    world.checks(3)
    witness = [line for line in world.witness.read_bytes().splitlines(keepends=True)][:1]
    _rewrite_with_key(world)
    world.witness.write_bytes(b"".join(witness))  # root rewrote the witness too
    key = signing.load_signing_key(world.key)
    head = json.loads(world.head.read_text())
    record = {"head": head, "log": str(world.log)}
    with world.witness.open("ab") as handle:
        handle.write(canonical(record) + b"\n")
    assert key.fingerprint == head["key"]
    done = world.verify()
    assert done.returncode == 0, done.stderr  # NOT detectable on this machine


def test_the_journal_witness_through_systemds_tools(world):
    """journald is not running here: fake `systemd-cat` and `journalctl` (a file as journal)
    show that govcloud writes every head there and compares against it."""
    tools = world.base / "bin"
    tools.mkdir()
    journal = world.base / "journal"
    journal.write_bytes(b"")
    (tools / "systemd-cat").write_text(f"#!/bin/sh\ncat >> {journal}\n")
    (tools / "journalctl").write_text(f"#!/bin/sh\ncat {journal}\n")
    for tool in tools.iterdir():
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    world.env.update(PATH=f"{tools}:{world.env['PATH']}", GOVCLOUD_WITNESS_JOURNAL="on")
    world.checks(2)
    assert len(journal.read_bytes().splitlines()) == 2
    old = {p: p.read_bytes() for p in (world.log, world.head)}
    world.checks(1)
    for path, data in old.items():
        path.write_bytes(data)
    assert "system journal" in broken(world)
    refused(world)
