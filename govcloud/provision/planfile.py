"""The saved plan file (`plan --out PLANFILE`, `apply PLANFILE`) and its stale-plan check.

A plan file is JSON, ``"format": "govcloud-plan"``: the request paths, whether quotas were read
live (``refresh``) and whether it prunes, and per cloud the digest of every request, the
fingerprint of the cloud state the plan was computed from, and the actions (docs/provisioning.md).
``apply PLANFILE`` re-reads the cloud and refuses (exit 2, "stale plan") when the requests or the
cloud changed since; nothing here reads a cloud or prints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govcloud.documents import Document
from govcloud.errors import InputError

if TYPE_CHECKING:
    from govcloud.provision.service import Planned

PLAN_FORMAT = "govcloud-plan"
REPLAN = "run `govcloud plan --out PLANFILE` again and review it"


def request_digest(request: Document) -> str:
    text = json.dumps(request.body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class SavedPlan:
    """A plan file as read back: what apply checks the fresh plan against."""

    path: Path
    data: dict[str, Any]

    @property
    def refresh(self) -> bool:
        return bool(self.data.get("refresh"))

    @property
    def prune(self) -> bool:
        return bool(self.data.get("prune"))

    @property
    def paths(self) -> list[Path]:
        return [Path(p) for p in self.data.get("paths", [])]

    def check_prune(self, prune: bool) -> None:
        """``apply PLANFILE --prune`` deletes only what the reviewed plan listed."""
        if prune and not self.prune:
            raise InputError("--prune given, but the plan file was made without it",
                             hint="run `govcloud plan --prune --out PLANFILE` and review it")


def read_plan_file(path: Path) -> SavedPlan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a plan file ({exc})",
                         hint="pass a file written by `govcloud plan --out`") from exc
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise InputError(f"{path}: not a govcloud plan file",
                         hint="pass a file written by `govcloud plan --out`")
    return SavedPlan(path, data)


def split_plan_file(paths: Iterable[Path]) -> tuple[list[Path], SavedPlan | None]:
    """The request paths and the plan file among PATHs (a ``.json`` file); without request
    paths, those the plan was made from."""
    docs: list[Path] = []
    saved: SavedPlan | None = None
    for path in paths:
        if path.is_file() and path.suffix == ".json":
            plan = read_plan_file(path)
            if saved is not None:
                raise InputError("more than one plan file given", hint="pass one")
            saved = plan
        else:
            docs.append(path)
    if saved is not None and not docs:
        docs = saved.paths
    return docs, saved


def plan_document(planned: Sequence[Planned], paths: Iterable[Path], refresh: bool,
                  created: dt.datetime) -> dict[str, Any]:
    """The plan file's content (also what `plan -o json` prints)."""
    return {
        "format": PLAN_FORMAT,
        "version": 1,
        "created": created.isoformat(timespec="seconds"),
        "paths": [str(p.resolve()) for p in paths],
        "refresh": refresh,
        "prune": any(p.prune for p in planned),
        "clouds": [
            {"cloud": p.target.cloud, "fingerprint": p.plan.fingerprint,
             "requests": {r.id: request_digest(r) for r in p.target.requests},
             "summary": p.plan.summary(), "unchanged": p.plan.unchanged,
             "actions": [a.to_json() for a in p.plan.actions]}
            for p in planned
        ],
    }


def check_saved(saved: SavedPlan, planned: Sequence[Planned]) -> None:
    """Refuse (InputError, exit 2) a plan file that no longer describes what apply would do:
    the requests or a cloud changed since it was made."""
    clouds = {c["cloud"]: c for c in saved.data.get("clouds", [])}
    for p in planned:
        entry = clouds.get(p.target.cloud)
        if entry is None:
            raise InputError(f"the plan file has no plan for cloud {p.target.cloud}",
                             hint="run `govcloud plan --out` again")
        digests = {r.id: request_digest(r) for r in p.target.requests}
        if digests != entry.get("requests"):
            raise InputError("the requests changed since the plan was made (stale plan)",
                             hint=REPLAN)
        if entry.get("fingerprint") != p.plan.fingerprint:
            raise InputError(f"cloud {p.target.cloud} changed since the plan was made "
                             "(stale plan)", hint=REPLAN)
