"""Authority data: what counts only when it comes from the inventory, and how it is governed.

Departments, platforms, machine rooms, running systems, the component catalog, waivers, roles and
gate settings are kept by the cloud's operators and security office. They count only when read
from the inventory (``$GOVCLOUD_INVENTORY``, else ``./inventory``; the CLI resolves it, the core
gets it passed in). A file given as a request may hold ResourceRequest documents only: anything
else there is refused with what to do instead (``refusal``).

Waivers are governed data (``waiver_problems``): approved by a Role with ``role: security``, a
non-blank reason, and a term from ``issued`` to ``expires`` of at most ``waiver_max_days`` days
(a ``Settings`` document in the inventory; default 365). A waiver that fails any of that is an
invalid document: it waives nothing and is reported with file and line.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from govcloud.documents import Catalog, Document
from govcloud.i18n import N_, _

REQUEST_KIND = "ResourceRequest"
DEFAULT_WAIVER_MAX_DAYS = 365
INVENTORY_ENV = "GOVCLOUD_INVENTORY"
DEFAULT_INVENTORY = "inventory"

_KEPT_BY_OPERATORS = N_(
    "it is authority data kept by the cloud's operators: ask the inventory's maintainers to add "
    "or change it"
)
# What to do instead, per kind found in a request file.
_INSTEAD = {
    "Waiver": N_("a Waiver is authority data: ask the security office (安全管理员) to approve it "
                 "and add it to the inventory"),
    "Component": N_("a Component is an entry of the 信创 component catalog, which the "
                    "inventory's maintainers (the catalog owner) keep: ask them to review and "
                    "add the product, or pick a catalogued component"),
    "Role": N_("a Role is granted by the security office in the inventory (roles.yaml), never "
               "by a request"),
    "Settings": N_("gate settings are set by the cloud's operators in the inventory"),
    "Policy": N_("policies come with govcloud or from --policies DIR, never from a request file"),
    "Department": _KEPT_BY_OPERATORS,
    "Platform": _KEPT_BY_OPERATORS,
    "MachineRoom": _KEPT_BY_OPERATORS,
    "System": _KEPT_BY_OPERATORS,
}


def refusal(kind: str) -> str:
    """Why a document of ``kind`` in a request file counts for nothing, and what to do."""
    if kind.startswith("Cloud"):
        instead = _("it is read from the live cloud by `govcloud audit`, never from a request "
                    "file")
    else:
        instead = _(_INSTEAD.get(kind, _KEPT_BY_OPERATORS))
    return _("a {kind} in a request file counts for nothing ({instead}); a request file holds "
             "only ResourceRequest documents").format(kind=kind, instead=instead)


def inventory_roots(inventory: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | None
                    ) -> list[Path]:
    if inventory is None:
        return []
    if isinstance(inventory, (str, os.PathLike)):
        return [Path(inventory)]
    return [Path(p) for p in inventory]


def inside(path: Path, roots: Iterable[Path]) -> bool:
    """``path`` (resolved) is one of ``roots`` (resolved) or lies under one of them."""
    return any(path == root or path.is_relative_to(root) for root in roots)


# ---------------------------------------------------------------- waivers


def waiver_max_days(catalog: Catalog) -> tuple[int, str]:
    """The longest waiver term allowed, and where that limit is set (for messages)."""
    for doc in catalog.of_kind("Settings"):
        days = doc.spec.get("waiver_max_days")
        if isinstance(days, int):
            return days, f"{doc.ref} waiver_max_days"
    return DEFAULT_WAIVER_MAX_DAYS, _("the default; a Settings document in the inventory sets "
                                      "it")


def date_of(doc: Document, field: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(doc.spec.get(field)))
    except ValueError:
        return None


def approvers(catalog: Catalog, who: str) -> list[Document]:
    """Role documents whose id or account is ``who``."""
    return [r for r in catalog.of_kind("Role") if who in (r.id, r.spec.get("account"))]


def waiver_problems(doc: Document, catalog: Catalog) -> Iterator[tuple[str, str]]:
    """(JSON Pointer, message) for each way a Waiver fails its governance."""
    spec = doc.spec
    if not str(spec.get("reason", "")).strip():
        yield "/spec/reason", _("the reason is blank; a waiver states why the risk is accepted "
                                "and what compensates for it")
    issued, expires = date_of(doc, "issued"), date_of(doc, "expires")
    for field, value in (("issued", issued), ("expires", expires)):
        if value is None:
            yield f"/spec/{field}", _("'{value}' is not a real date; write YYYY-MM-DD").format(
                value=spec.get(field))
    who = str(spec.get("approved_by", "")).strip()
    roles = approvers(catalog, who)
    security = [r for r in roles if r.spec.get("role") == "security"]
    if not roles:
        yield "/spec/approved_by", _(
            "approver '{who}' is not a Role in the inventory; a waiver is approved by a security "
            "officer (安全管理员): write the id or account of a Role with role: security "
            "(inventory/roles.yaml)").format(who=who)
    elif not security:
        held = ", ".join(sorted({str(r.spec.get("role")) for r in roles}))
        yield "/spec/approved_by", _(
            "approver '{who}' holds the {held} role, not security; only a security officer "
            "(安全管理员) approves waivers").format(who=who, held=held)
    elif issued is not None:
        current = [r for r in security
                   if (until := date_of(r, "expires")) is None or until >= issued]
        if not current:
            yield "/spec/approved_by", _(
                "approver '{who}' no longer held the security role when the waiver was issued "
                "on {issued} (the Role expired); have a current security officer approve it"
            ).format(who=who, issued=issued)
    if issued is not None and expires is not None:
        limit, where = waiver_max_days(catalog)
        term = (expires - issued).days
        if term < 0:
            yield "/spec/expires", _("expires {expires} is before issued {issued}").format(
                expires=expires, issued=issued)
        elif term > limit:
            yield "/spec/expires", _(
                "the term from {issued} to {expires} is {term} days, over the {limit}-day limit "
                "({where}); end it by {end} and renew it with a new approval when it runs out"
            ).format(issued=issued, expires=expires, term=term, limit=limit, where=where,
                     end=issued + dt.timedelta(days=limit))


def settings_problems(doc: Document, catalog: Catalog) -> Iterator[tuple[str, str]]:
    first = catalog.of_kind("Settings")[0]
    if first is not doc:
        yield "/metadata/id", _("a second Settings document ({ref} at {where} is the first); "
                                "keep one").format(ref=first.ref,
                                                   where=f"{first.file}:{first.line}")
