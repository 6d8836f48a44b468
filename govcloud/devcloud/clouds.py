"""Merge devcloud's entries into clouds.yaml, as kind and minikube add a context to kubeconfig.

The file is ``$OS_CLIENT_CONFIG_FILE`` if set (openstacksdk reads that file first), else
``~/.config/openstack/clouds.yaml``. Other clouds are kept as they are; YAML comments are not
(the file is parsed and re-written), so the first time devcloud changes an existing file it leaves
a copy beside it (``clouds.yaml.before-devcloud``). The file is written 0600: it holds passwords.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from govcloud.devcloud.layout import PORTS, REGION
from govcloud.devcloud.secrets import write_private
from govcloud.errors import InputError
from govcloud.state import env_path

ADMIN_CLOUD = "devcloud"
USER_CLOUD = "devcloud-user"


def clouds_file() -> Path:
    return env_path("OS_CLIENT_CONFIG_FILE", Path.home() / ".config" / "openstack" / "clouds.yaml")


def entries(passwords: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The two clouds devcloud provides: admin, and a member of project ``devcloud-user``."""
    auth_url = f"http://127.0.0.1:{PORTS['keystone']}/v3"

    def cloud(user: str, project: str, password: str) -> dict[str, Any]:
        return {
            "auth": {
                "auth_url": auth_url, "username": user, "password": password,
                "project_name": project, "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "region_name": REGION,
            "interface": "public",
            "identity_api_version": 3,
        }

    return {
        ADMIN_CLOUD: cloud("admin", "admin", passwords["admin"]),
        USER_CLOUD: cloud("devcloud-user", "devcloud-user", passwords["user"]),
    }


def merge(existing: dict[str, Any] | None, new: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Pure: ``existing`` with ``new`` set under ``clouds``; every other key left alone."""
    doc: dict[str, Any] = dict(existing or {})
    clouds = dict(doc.get("clouds") or {})
    clouds.update(new)
    doc["clouds"] = clouds
    return doc


def remove(existing: dict[str, Any] | None, names: list[str]) -> dict[str, Any]:
    doc: dict[str, Any] = dict(existing or {})
    clouds = {k: v for k, v in (doc.get("clouds") or {}).items() if k not in names}
    doc["clouds"] = clouds
    return doc


def _read(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path} is not valid YAML ({exc.__class__.__name__})",
                         hint="fix or move it; devcloud will not overwrite it") from exc
    if doc is not None and not isinstance(doc, dict):
        raise InputError(f"{path} is not a mapping", hint="fix or move it")
    if doc is not None and not isinstance(doc.get("clouds") or {}, dict):
        raise InputError(f"{path}: 'clouds' is not a mapping", hint="fix or move it")
    return doc


def _write(path: Path, doc: dict[str, Any], original: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    backup = path.with_name(path.name + ".before-devcloud")
    if original is not None and not backup.exists():
        write_private(backup, original)
    write_private(path, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def install(passwords: dict[str, str], path: Path | None = None) -> Path:
    """Write devcloud's entries; does nothing if they are already there and equal."""
    path = path or clouds_file()
    existing = _read(path)
    new = entries(passwords)
    clouds = (existing or {}).get("clouds") or {}
    if all(clouds.get(name) == value for name, value in new.items()):
        return path
    original = path.read_text(encoding="utf-8") if path.exists() else None
    _write(path, merge(existing, new), original)
    return path


def uninstall(path: Path | None = None) -> Path:
    path = path or clouds_file()
    existing = _read(path)
    if existing is None:
        return path
    if not any(n in (existing.get("clouds") or {}) for n in (ADMIN_CLOUD, USER_CLOUD)):
        return path
    _write(path, remove(existing, [ADMIN_CLOUD, USER_CLOUD]), path.read_text(encoding="utf-8"))
    return path
