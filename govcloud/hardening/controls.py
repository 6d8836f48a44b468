"""The baseline's control catalog (playbooks/catalog/controls.yml) and where the playbooks live.

Control ids tie three things together: the task names in the roles ("MLPS3-IA-01 | ..."), the
catalog entry (family, GB/T 22239-2019 clause, severity, remediation) and the findings.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from govcloud.errors import InputError
from govcloud.fsutil import read_regular
from govcloud.model import SEVERITIES

_MAX_CATALOG_BYTES = 1 << 20
CONTROL_ID = re.compile(r"MLPS3-[A-Z]{2}-\d{2}")
FAMILIES = ("identity", "access", "audit", "intrusion", "time", "banner")


@dataclass(frozen=True, slots=True)
class Control:
    id: str
    family: str
    title: str
    title_zh: str
    clause: str
    severity: str
    remediation: str
    remediation_zh: str = ""


def default_playbooks_dir() -> Path:
    """``$GOVCLOUD_PLAYBOOKS``, else the baseline shipped in the package (``govcloud/data``)."""
    explicit = os.environ.get("GOVCLOUD_PLAYBOOKS")
    if explicit:
        return Path(explicit)
    return Path(str(resources.files("govcloud") / "data" / "playbooks"))


def control_ids_of(task_name: str) -> list[str]:
    """The controls a task serves, from its name.

    "MLPS3-AC-02 | Disable ..." serves one; "MLPS3-IA-02 MLPS3-AC-05 | ..." serves two.
    """
    head, sep, _ = task_name.partition("|")
    if not sep:
        return []
    ids = head.replace(",", " ").split()
    return ids if ids and all(CONTROL_ID.fullmatch(i) for i in ids) else []


# The catalog is govcloud's data, not Ansible's: it sits in a folder of its own so that Ansible
# tools (ansible-lint) do not take it for a playbook. A baseline folder of the older layout,
# with controls.yml beside site.yml, is still read.
CATALOG = Path("catalog") / "controls.yml"
_OLD_CATALOG = Path("controls.yml")


def catalog_path(playbooks_dir: Path) -> Path:
    """The control catalog of a baseline folder (its older place if only that one exists)."""
    path = playbooks_dir / CATALOG
    if not path.exists() and (playbooks_dir / _OLD_CATALOG).exists():
        return playbooks_dir / _OLD_CATALOG
    return path


def load_controls(playbooks_dir: Path | None = None) -> dict[str, Control]:
    return dict(_load(str(catalog_path(playbooks_dir or default_playbooks_dir()))))


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[tuple[str, Control], ...]:
    try:
        data = yaml.safe_load(read_regular(path, max_bytes=_MAX_CATALOG_BYTES).decode("utf-8"))
    except (OSError, UnicodeDecodeError) as err:  # a FIFO or device is refused unread
        raise InputError(f"cannot read the control catalog {path}", hint=str(err)) from None
    except yaml.YAMLError as err:
        raise InputError(f"{path}: not valid YAML", hint=str(err).splitlines()[0]) from None
    out = []
    for cid, spec in (data or {}).get("controls", {}).items():
        if not CONTROL_ID.fullmatch(cid) or not isinstance(spec, dict):
            raise InputError(f"{path}: bad control entry {cid!r}", hint="ids look like MLPS3-IA-01")
        if spec.get("severity") not in SEVERITIES:
            raise InputError(f"{path}: {cid}: severity must be one of {', '.join(SEVERITIES)}")
        if spec.get("family") not in FAMILIES:
            raise InputError(f"{path}: {cid}: family must be one of {', '.join(FAMILIES)}")
        out.append(
            (
                cid,
                Control(
                    id=cid,
                    family=spec["family"],
                    title=str(spec.get("title", cid)),
                    title_zh=str(spec.get("title_zh", "")),
                    clause=str(spec.get("clause", "")),
                    severity=spec["severity"],
                    remediation=str(spec.get("remediation", "")),
                    remediation_zh=str(spec.get("remediation_zh", "")),
                ),
            )
        )
    return tuple(out)
