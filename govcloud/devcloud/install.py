"""The service venv: OpenStack from PyPI with uv, pinned by devcloud's constraints file.

Bytecode: this machine sets ``PYTHONDONTWRITEBYTECODE=1``, and without .pyc files every service
start recompiles (bring-up ~25 s slower, recipe). uv's ``--compile-bytecode`` compiles all 178
packages up front (~30 s on 2 cores); instead the daemons run with bytecode writing allowed
(``services.base_env``), so the first start compiles only the modules actually imported and
every later start reuses them. uv's cache lives under the devcloud folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from govcloud.devcloud.layout import Layout
from govcloud.errors import ExecutionError

# The six services and what their wheels forget to declare (pyroute2: ML2 imports it).
REQUIREMENTS = (
    "keystone==30.0.0",
    "openstack-placement==16.0.0",
    "nova==34.0.0",
    "neutron==29.0.0",
    "cinder==29.0.0",
    "glance==33.0.0",
    "gunicorn",
    "PyMySQL",
    "pyroute2",
    "openstacksdk",
)
EXT = "govcloud_devcloud_ext"
EXT_VERSION = "1"
ENTRY_POINTS = (
    "[neutron.ml2.mechanism_drivers]\n"
    "devcloud_noop = govcloud_devcloud_ext.mech_driver:NoopBindMechanismDriver\n"
)


def constraints_path() -> Path:
    return Path(str(resources.files("govcloud.devcloud").joinpath("constraints.txt")))


def _ext_files() -> dict[str, bytes]:
    pkg = resources.files("govcloud.devcloud").joinpath("ext", EXT)
    return {
        item.name: item.read_bytes()
        for item in pkg.iterdir()
        if item.name.endswith(".py")
    }


def fingerprint() -> str:
    """Changes whenever what would be installed changes."""
    digest = hashlib.sha256()
    digest.update(constraints_path().read_bytes())
    digest.update("\n".join(REQUIREMENTS).encode())
    digest.update(base_python().encode())
    return digest.hexdigest()[:16]


def base_python() -> str:
    """The interpreter the service venv is built on: the one running govcloud, outside its venv."""
    return getattr(sys, "_base_executable", None) or sys.executable


def uv_binary() -> str:
    try:
        from uv import find_uv_bin  # the uv wheel ships its binary and this finder

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise ExecutionError(
        "uv is not installed", hint="install it into govcloud's venv: .venv/bin/pip install uv"
    )


def is_current(layout: Layout) -> bool:
    stamp = layout.stamps / "venv"
    return layout.python.exists() and stamp.exists() and stamp.read_text() == fingerprint()


def _run(argv: list[str], env: dict[str, str], log: Path, step: str) -> None:
    with open(log, "ab") as out:
        result = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise ExecutionError(
            f"devcloud: {step} failed (exit {result.returncode})",
            hint=f"see {log}; PyPI must be reachable for the first install",
        )


def ensure_venv(layout: Layout) -> bool:
    """Create or update the service venv. Returns True if anything was installed."""
    if is_current(layout):
        install_ext(layout)
        return False
    uv = uv_binary()
    env = {**os.environ, "UV_CACHE_DIR": str(layout.cache / "uv"), "UV_PYTHON_DOWNLOADS": "never",
           "UV_NO_PROGRESS": "1"}
    log = layout.log_file("install")
    if not layout.python.exists():
        _run([uv, "venv", "--quiet", "--python", base_python(), str(layout.venv)], env, log,
             "creating the service venv")
    _run(
        [uv, "pip", "install", "--python", str(layout.python),
         "-c", str(constraints_path()), *REQUIREMENTS],
        env, log, "installing OpenStack into the service venv",
    )
    install_ext(layout)
    (layout.stamps / "venv").write_text(fingerprint())
    return True


def _site_packages(layout: Layout) -> Path:
    found = sorted((layout.venv / "lib").glob("python3*/site-packages"))
    if not found:
        raise ExecutionError(f"no site-packages in {layout.venv}", hint="run `devcloud down "
                             "--purge` and `up` again to rebuild the service venv")
    return found[0]


def install_ext(layout: Layout) -> None:
    """Install devcloud's own small package (ML2 driver, WSGI entry, registration) into the venv.

    Written as a wheel install would be (package dir + dist-info with an entry point), because
    neutron finds mechanism drivers only through entry points; building a wheel would need
    setuptools in an isolated build env for ~40 lines of code.
    """
    site = _site_packages(layout)
    pkg_dir = site / EXT
    pkg_dir.mkdir(exist_ok=True)
    files = _ext_files()
    for name, data in files.items():
        target = pkg_dir / name
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
    dist = site / f"{EXT}-{EXT_VERSION}.dist-info"
    dist.mkdir(exist_ok=True)
    meta = {
        "METADATA": f"Metadata-Version: 2.1\nName: {EXT}\nVersion: {EXT_VERSION}\n",
        "entry_points.txt": ENTRY_POINTS,
        "INSTALLER": "govcloud-devcloud\n",
        "RECORD": "".join(f"{EXT}/{n},,\n" for n in sorted(files))
        + "".join(f"{dist.name}/{n},,\n" for n in ("METADATA", "entry_points.txt", "INSTALLER",
                                                     "RECORD")),
    }
    for name, text in meta.items():
        target = dist / name
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
