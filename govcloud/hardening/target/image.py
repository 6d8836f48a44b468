"""Build the Debian 12 target image once with debootstrap and cache it as a tar.zst.

The image is a plain default-variant Debian 12 plus what a managed government-cloud VM has:
python3 (Ansible), openssh-server, sudo and a management account. It also carries a small offline
apt repository (``/srv/govcloud-repo``) holding the packages a baseline installs, because a target
booted in its own network namespace has no route to a Debian mirror, just as many 政务云 hosts
only reach an internal mirror.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from govcloud.errors import ExecutionError
from govcloud.state import env_path

SUITE = "bookworm"
IMAGE_NAME = f"debian12-{SUITE}-v1.tar.zst"
# linux-base: SSG gates its sshd and kernel rules on it; python3-apt: ansible's apt module
# would otherwise try to download it (no network in the target).
INCLUDE = ("python3", "python3-apt", "openssh-server", "linux-base", "sudo")
# What a baseline may install: ours (playbooks/) and SSG's playbook for the bench comparison.
REPO_PACKAGES = (
    "auditd",
    "audispd-plugins",
    "libpam-pwquality",
    "chrony",
    "rsyslog",
    "logrotate",
    "cron",
    "aide",
    "aide-common",
    "apparmor",
    "apparmor-utils",
    "libpam-modules",
)
REPO_DIR_IN_TARGET = "/srv/govcloud-repo"
MGMT_USER = "gcadmin"
_CHROOT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def cache_dir() -> Path:
    """``$GOVCLOUD_CACHE_DIR``, else ``$XDG_CACHE_HOME/govcloud``, else ``~/.cache/govcloud``."""
    xdg = env_path("XDG_CACHE_HOME", Path.home() / ".cache")
    return env_path("GOVCLOUD_CACHE_DIR", xdg / "govcloud")


def image_path() -> Path:
    return cache_dir() / "images" / IMAGE_NAME


def _mirror() -> str:
    """The Debian mirror the host already uses (the only one reachable here)."""
    src = Path("/etc/apt/sources.list.d/debian.sources")
    if src.exists():
        for line in src.read_text().splitlines():
            if line.startswith("URIs:") and line.rstrip().endswith("/debian"):
                return line.split(None, 1)[1].strip()
    return "http://deb.debian.org/debian"


def _run(cmd: list[str], what: str, **kw: object) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
        raise ExecutionError(
            f"target image: {what} failed (exit {proc.returncode})",
            hint=" | ".join(tail) or "run scripts/hardening-deps.sh first",
        )


def _require_tools() -> None:
    missing = [t for t in ("debootstrap", "zstd", "apt-ftparchive") if shutil.which(t) is None]
    if missing:
        raise ExecutionError(
            f"target image: missing host tools {', '.join(missing)}",
            hint="run scripts/hardening-deps.sh (as root)",
        )
    if os.geteuid() != 0:
        raise ExecutionError("target image: debootstrap needs root", hint="run as root")


def build_image(force: bool = False) -> Path:
    """Return the cached image, building it first if missing (about a minute, once)."""
    out = image_path()
    if out.exists() and not force:
        return out
    _require_tools()
    out.parent.mkdir(parents=True, exist_ok=True)
    debcache = cache_dir() / "debcache"
    debcache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gc-image-", dir=out.parent) as tmp:
        root = Path(tmp) / "rootfs"
        _run(
            [
                "debootstrap",
                f"--include={','.join(INCLUDE)}",
                f"--cache-dir={debcache}",
                SUITE,
                str(root),
                _mirror(),
            ],
            "debootstrap",
        )
        _add_offline_repo(root)
        _finish_rootfs(root)
        part = out.with_suffix(".part")
        _run(
            [
                "tar",
                "--numeric-owner",
                "--xattrs",
                "--acls",
                "-C",
                str(root),
                "-I",
                "zstd -T0 -3",
                "-cpf",
                str(part),
                ".",
            ],
            "tar",
        )
        part.rename(out)
    return out


def _add_offline_repo(root: Path) -> None:
    """Download the baseline's packages (with dependencies) into a flat repo inside the image."""
    archives = root / "var/cache/apt/archives"
    for deb in archives.glob("*.deb"):
        deb.unlink()
    _run(
        [
            "chroot",
            str(root),
            "apt-get",
            "install",
            "-y",
            "-qq",
            "--download-only",
            "--no-install-recommends",
            *REPO_PACKAGES,
        ],
        "download of baseline packages",
        env={
            **os.environ,
            "DEBIAN_FRONTEND": "noninteractive",
            "PATH": _CHROOT_PATH,
        },
    )
    repo = root / REPO_DIR_IN_TARGET.lstrip("/")
    repo.mkdir(parents=True)
    for deb in archives.glob("*.deb"):
        shutil.move(str(deb), repo / deb.name)
    packages = subprocess.run(
        ["apt-ftparchive", "packages", "."], cwd=repo, check=True, capture_output=True
    ).stdout
    (repo / "Packages").write_bytes(packages)
    (root / "etc/apt/sources.list").write_text(
        "# Offline mirror baked into the govcloud test image (the target has no route out).\n"
        f"deb [trusted=yes] file:{REPO_DIR_IN_TARGET} ./\n"
    )
    _run(
        ["chroot", str(root), "apt-get", "update", "-qq"],
        "apt-get update (offline repo)",
        env={**os.environ, "PATH": _CHROOT_PATH},
    )


def _finish_rootfs(root: Path) -> None:
    """Management account, no shared host keys, no build-host identity."""
    env = {**os.environ, "PATH": _CHROOT_PATH}
    _run(
        [
            "chroot",
            str(root),
            "useradd",
            "--create-home",
            "--shell",
            "/bin/bash",
            "--comment",
            "govcloud management",
            MGMT_USER,
        ],
        "useradd",
        env=env,
    )
    sudoers = root / "etc/sudoers.d" / MGMT_USER
    # Automation account: key-only login (no password set), so NOPASSWD does not weaken auth.
    sudoers.write_text(f"{MGMT_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    # Every copy generates its own host keys at boot (debootstrap made one set for all copies).
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/hostname").write_text("gc-target\n")
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
