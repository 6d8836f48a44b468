"""Boot fresh copies of the target image, each in a network namespace of its own; tear down by pid.

Two modes:

- ``nspawn`` (default): ``systemd-nspawn --boot`` inside the namespace: real systemd, services and
  handlers work; auditd cannot start and /proc/sys is read-only (a container limit).
- ``chroot``: where nspawn cannot run, sshd runs chrooted in the namespace (no init). SSH transport,
  key login and sshd_config are still real.

Ansible reaches the target over SSH as the management account with a key generated for this
target only. Each target's files live under ``<state>/targets/<name>/`` (mode 0700).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from govcloud.errors import ExecutionError, InputError
from govcloud.fsutil import write_atomic
from govcloud.hardening.target.image import MGMT_USER, build_image
from govcloud.state import ensure_state_subdir

MODES = ("nspawn", "chroot")
_NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")  # short: it ends up in veth names (15 chars max)
_SUBNET = "10.213.{n}.{host}"  # one /30 per target, only on veth pairs inside our namespaces
SSH_OPTS = (
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=5",
)


@dataclass(frozen=True)
class Target:
    name: str
    mode: str
    index: int
    address: str
    pid: int
    netns: str
    dir: str

    @property
    def rootfs(self) -> Path:
        return Path(self.dir) / "rootfs"

    @property
    def key(self) -> Path:
        return Path(self.dir) / "id_ed25519"

    @property
    def inventory(self) -> Path:
        return Path(self.dir) / "inventory.yml"

    def alive(self) -> bool:
        return _alive(self.pid)

    def ssh(self, *command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command on the target as the management account (used by tests and the demo)."""
        return subprocess.run(
            ["ssh", *SSH_OPTS, "-i", str(self.key), f"{MGMT_USER}@{self.address}", *command],
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def targets_dir() -> Path:
    return ensure_state_subdir("targets")


def list_targets() -> list[Target]:
    out = []
    for meta in sorted(targets_dir().glob("*/target.json")):
        out.append(Target(**json.loads(meta.read_text())))
    return out


def aggregate_inventory() -> Path:
    """One inventory listing every running target (the default for ``govcloud harden``)."""
    path = targets_dir() / "inventory.yml"
    hosts = {}
    for t in list_targets():
        hosts.update(yaml.safe_load(t.inventory.read_text())["all"]["hosts"])
    write_atomic(path, yaml.safe_dump({"all": {"hosts": hosts}}, sort_keys=True).encode(),
                 secret=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _sh(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ExecutionError(f"target: {what} failed", hint=proc.stderr.strip()[-300:])


def nspawn_usable() -> tuple[bool, str]:
    """Whether ``systemd-nspawn --boot`` can be used here, and why not."""
    if shutil.which("systemd-nspawn") is None:
        return False, "systemd-nspawn is not installed (scripts/hardening-deps.sh)"
    if os.geteuid() != 0:
        return False, "systemd-nspawn needs root"
    return True, ""


def _free_index() -> int:
    """A subnet index no target of ours uses and whose veth name is free on this machine (a
    target of another state folder, e.g. a test run's, may hold it)."""
    used = {t.index for t in list_targets()}
    for n in range(77, 250):
        if n not in used and not Path(f"/sys/class/net/gch{n}").exists():
            return n
    raise ExecutionError("target: no free subnet", hint="tear down targets: govcloud target down")


def up(name: str = "t1", mode: str = "nspawn", timeout: float = 90) -> Target:
    """Untar a fresh copy, give it its own key, namespace and address, boot it, wait for SSH."""
    if not _NAME.match(name):
        raise InputError(
            f"target name {name!r} is invalid", hint="use 1-10 of [a-z0-9], letter first"
        )
    if mode not in MODES:
        raise InputError(f"target mode {mode!r} is unknown", hint=f"use one of {', '.join(MODES)}")
    if os.geteuid() != 0:
        raise ExecutionError("target: booting a target needs root (namespaces, chroot)")
    if mode == "nspawn":
        ok, why = nspawn_usable()
        if not ok:
            raise ExecutionError(f"target: cannot use nspawn: {why}", hint="try --mode chroot")
    tdir = targets_dir() / name
    if (tdir / "target.json").exists():
        raise InputError(f"target {name} already exists", hint=f"govcloud target down {name}")
    image = build_image()
    shutil.rmtree(tdir, ignore_errors=True)
    tdir.mkdir(mode=0o700)
    root = tdir / "rootfs"
    root.mkdir()
    _sh(
        [
            "tar",
            "--numeric-owner",
            "--xattrs",
            "--acls",
            "-I",
            "zstd",
            "-C",
            str(root),
            "-xpf",
            str(image),
        ],
        "unpacking the image",
    )
    key = tdir / "id_ed25519"
    _sh(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"govcloud-{name}", "-f", str(key)],
        "ssh-keygen",
    )
    _prepare_rootfs(root, name, key.with_suffix(".pub").read_text())
    if mode == "chroot":
        # No init: keep package scripts from starting daemons (auditd would talk to the host
        # kernel's audit subsystem). Debian's documented switch for chroots.
        rc = root / "usr/sbin/policy-rc.d"
        rc.write_text("#!/bin/sh\n# govcloud chroot target: no service starts\nexit 101\n")
        rc.chmod(0o755)
    index = _free_index()
    netns = f"gc-{name}"
    address = _SUBNET.format(n=index, host=2)
    _make_netns(netns, index)
    try:
        pid = _boot(mode, root, netns, address, tdir / "console.log")
    except Exception:
        subprocess.run(["ip", "netns", "del", netns], capture_output=True)
        raise
    target = Target(
        name=name, mode=mode, index=index, address=address, pid=pid, netns=netns, dir=str(tdir)
    )
    (tdir / "target.json").write_text(json.dumps(asdict(target), indent=1))
    _write_inventory(target)
    try:
        _wait_ssh(target, timeout)
    except ExecutionError:
        down(name)
        raise
    aggregate_inventory()
    return target


def _prepare_rootfs(root: Path, name: str, pubkey: str) -> None:
    env = {**os.environ, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(
        ["chroot", str(root), "ssh-keygen", "-A"], check=True, capture_output=True, env=env
    )
    (root / "etc/hostname").write_text(f"{name}\n")
    # sudo resolves the host name on every call; without this each call waits for DNS.
    hosts = root / "etc/hosts"
    hosts.write_text(hosts.read_text() + f"127.0.1.1\t{name}\n")
    home = root / "home" / MGMT_USER
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(pubkey)
    (ssh_dir / "authorized_keys").chmod(0o600)
    uid_gid = (home.stat().st_uid, home.stat().st_gid)
    for p in (ssh_dir, ssh_dir / "authorized_keys"):
        os.chown(p, *uid_gid)
    # sshd -t (used to validate sshd_config edits) needs it even where no init creates it.
    (root / "run/sshd").mkdir(parents=True, exist_ok=True)


def _make_netns(netns: str, index: int) -> None:
    host_if, tgt_if = f"gch{index}", f"gct{index}"
    subprocess.run(["ip", "netns", "del", netns], capture_output=True)
    subprocess.run(["ip", "link", "del", host_if], capture_output=True)
    steps = [
        ["ip", "netns", "add", netns],
        ["ip", "link", "add", host_if, "type", "veth", "peer", "name", tgt_if],
        ["ip", "link", "set", tgt_if, "netns", netns],
        ["ip", "addr", "add", _SUBNET.format(n=index, host=1) + "/30", "dev", host_if],
        ["ip", "link", "set", host_if, "up"],
        [
            "ip",
            "netns",
            "exec",
            netns,
            "ip",
            "addr",
            "add",
            _SUBNET.format(n=index, host=2) + "/30",
            "dev",
            tgt_if,
        ],
        ["ip", "netns", "exec", netns, "ip", "link", "set", tgt_if, "up"],
        ["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"],
    ]
    for step in steps:
        _sh(step, " ".join(step[:4]))


def _boot(mode: str, root: Path, netns: str, address: str, log: Path) -> int:
    if mode == "nspawn":
        cmd = [
            "systemd-nspawn",
            "--quiet",
            "-D",
            str(root),
            "--boot",
            "--register=no",
            "--keep-unit",
            f"--network-namespace-path=/run/netns/{netns}",
            f"--machine={netns}",
            "--console=passive",
        ]
    else:
        # Private mount and pid namespaces so /proc and devpts never leak into the host.
        script = (
            f"mount -t proc proc {root}/proc && "
            f"mount -t devpts -o newinstance,ptmxmode=0666 devpts {root}/dev/pts && "
            f"exec chroot {root} /usr/sbin/sshd -D -e -o ListenAddress={address}"
        )
        cmd = [
            "ip",
            "netns",
            "exec",
            netns,
            "unshare",
            "--mount",
            "--pid",
            "--fork",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            script,
        ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    return proc.pid


def _write_inventory(t: Target) -> None:
    host = {
        "ansible_host": t.address,
        "ansible_user": MGMT_USER,
        "ansible_become": True,
        "ansible_ssh_private_key_file": str(t.key),
        # The one place host-key checking is off (the runner turns it on for every inventory):
        # a throw-away target with fresh host keys at each boot, on this machine's private
        # network namespace. The marker says so to a reader of the inventory.
        "ansible_ssh_common_args": " ".join(SSH_OPTS[:6]),
        "govcloud_test_target": True,
        "ansible_python_interpreter": "/usr/bin/python3",
        "govcloud_target_mode": t.mode,
    }
    write_atomic(t.inventory, yaml.safe_dump({"all": {"hosts": {t.name: host}}},
                                             sort_keys=True).encode(), secret=True)


def _wait_ssh(t: Target, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not t.alive():
            log = (Path(t.dir) / "console.log").read_text(errors="replace")[-400:]
            raise ExecutionError(f"target {t.name}: {t.mode} exited during boot", hint=log)
        try:
            with socket.create_connection((t.address, 22), timeout=1):
                pass
            proc = t.ssh("true", timeout=15)
            if proc.returncode == 0:
                return
            last = proc.stderr.strip()[-200:]
        except OSError as err:
            last = str(err)
        time.sleep(0.5)
    raise ExecutionError(f"target {t.name}: no SSH at {t.address} after {timeout:.0f}s", hint=last)


def down(name: str, timeout: float = 30) -> bool:
    """Stop the target by its recorded pid, remove its namespace and files. False if unknown."""
    tdir = targets_dir() / name
    meta = tdir / "target.json"
    if not meta.exists():
        return False
    t = Target(**json.loads(meta.read_text()))
    if t.alive():
        # nspawn shuts the container down cleanly on SIGTERM; in chroot mode the whole session
        # (unshare → sshd) goes, taking its private mounts with it.
        sig_target = t.pid if t.mode == "nspawn" else -t.pid
        _signal(sig_target, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while t.alive() and time.monotonic() < deadline:
            _reap(t.pid)
            time.sleep(0.2)
        if t.alive():
            _signal(-t.pid, signal.SIGKILL)
            time.sleep(0.5)
        _reap(t.pid)
    subprocess.run(["ip", "netns", "del", t.netns], capture_output=True)
    subprocess.run(["ip", "link", "del", f"gch{t.index}"], capture_output=True)
    shutil.rmtree(tdir, ignore_errors=True)
    aggregate_inventory()
    return True


def _signal(pid: int, sig: int) -> None:
    try:
        if pid < 0:
            os.killpg(-pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
