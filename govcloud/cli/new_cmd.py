"""`govcloud new request`: a commented, valid request for a department and a platform."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from govcloud.authority import INVENTORY_ENV
from govcloud.cli.common import InventoryOpt, command, emit, note, resolve_inventory
from govcloud.errors import InputError
from govcloud.i18n import current_language
from govcloud.requests_template import LANGS, RequestForm, new_request
from govcloud.validate import load

new_app = typer.Typer(help="Write a new document to start from (a request).",
                      no_args_is_help=True)

OutputFileOpt = typer.Option(None, "--output", help="Write to FILE instead of stdout.")
ForceOpt = typer.Option(False, "--force", help="Overwrite --output if it exists.")


@new_app.command("request")
@command
def request_cmd(
    department: str = typer.Option(..., "--department", help="Department id (inventory)."),
    platform: str = typer.Option(..., "--platform", help="Platform id (inventory)."),
    tenant: str = typer.Option(None, "--tenant", help="OpenStack project name (default: "
                               "<department>-<function>)."),
    function: str = typer.Option(None, "--function", help="The system's function, from the "
                                 "inventory's vocabulary (default: one the department does not "
                                 "run yet)."),
    mlps_level: int = typer.Option(None, "--mlps-level", help="MLPS level (default: 2, at most "
                                   "the platform's)."),
    contact_name: str = typer.Option(None, "--contact-name", help="Contact (联系人) name."),
    contact_phone: str = typer.Option(None, "--contact-phone", help="Contact phone."),
    contact_email: str = typer.Option(None, "--contact-email", help="Contact email."),
    filing_number: str = typer.Option(None, "--filing-number", help="等保备案证明编号, e.g. "
                                      "39010099999-26001."),
    lang: str = typer.Option(None, "--lang", help="Language of the comments: zh or en "
                             "(default: zh when the locale is zh_*, else en)."),
    output: Path = OutputFileOpt,
    force: bool = ForceOpt,
    inventory: Path = InventoryOpt,
) -> None:
    """Write a commented, valid ResourceRequest to edit, then validate and check."""
    # the command's own --lang, else the global one (govcloud --lang zh new request), else locale
    language = lang if lang is not None else current_language()
    if language not in LANGS:
        raise InputError(f"unknown --lang '{language}'", hint=f"use one of {', '.join(LANGS)}")
    if output is not None and output.exists() and not force:
        raise InputError(f"{output} exists", hint="choose another --output, or pass --force to "
                         "overwrite it")
    root, _ = resolve_inventory(inventory)
    if root is None:
        raise InputError("no inventory to read departments and platforms from",
                         hint=f"pass --inventory or set ${INVENTORY_ENV}")
    validated = load((), inventory=root)
    if validated.all_errors:
        note(f"govcloud: warning: the inventory {root} has {len(validated.all_errors)} error(s); "
             "its invalid documents are left out (see `govcloud validate`)")
    form = RequestForm(department, platform, tenant=tenant, lang=language, function=function,
                       mlps_level=mlps_level, contact_name=contact_name,
                       contact_phone=contact_phone, contact_email=contact_email,
                       filing_number=filing_number)
    emit(new_request(validated.catalog, form, dt.date.today()), output)
    if output is not None:
        note(f"next: edit the values marked EDIT, then `govcloud validate {output}` and "
             f"`govcloud check --scope requests {output}`")


def register(app: typer.Typer) -> None:
    app.add_typer(new_app, name="new")
