"""govcloud's command line (typer). Commands parse options, call the pure core, render, exit."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from govcloud import __version__
from govcloud.authority import INVENTORY_ENV
from govcloud.check import SCOPES, run_check
from govcloud.cli.common import (
    FormatOpt,
    InventoryOpt,
    PoliciesOpt,
    ReportOptions,
    Settings,
    command,
    emit,
    note,
    policies_in_force,
    record,
    report_options,
    resolve_format,
    resolve_inventory,
)
from govcloud.errors import InputError
from govcloud.gate import GateSettings
from govcloud.loader import LoadLimits, iter_yaml_files
from govcloud.model import DocError, Report
from govcloud.providers import builtin_providers
from govcloud.schemas import KINDS, document_schema
from govcloud.validate import Validated, load

app = typer.Typer(
    name="govcloud",
    help="Operate an OpenStack government cloud (政务云): requests, consolidation, policy, "
    "hardening, audit.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold tokens
    add_completion=False,
)

PathsArg = typer.Argument(..., help="Files or folders of govcloud documents.")
MaxSizeOpt = typer.Option(
    10 * 1024 * 1024, "--max-file-size", help="Refuse YAML files larger than this many bytes."
)
AuditKeyOpt = typer.Option(
    None, "--audit-key", help="The audit log's signing key (PEM, SM2 or Ed25519; default "
    "$GOVCLOUD_AUDIT_KEY). Configured but unusable: commands stop with exit 3."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"govcloud {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    audit_key: Path = AuditKeyOpt,
) -> None:
    Settings.debug = debug
    Settings.audit_key = audit_key


def _today(as_of: str | None) -> dt.date:
    if as_of is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(as_of)
    except ValueError as exc:
        raise InputError(f"--as-of '{as_of}' is not a date", hint="write YYYY-MM-DD") from exc


def load_documents(paths: list[Path], max_file_size: int, inventory: Path | None = None, *,
                   require_files: bool = True) -> Validated:
    """The documents of a command: the inventory (``--inventory``, ``$GOVCLOUD_INVENTORY``,
    ``./inventory``) as authority data, and PATHs as requests (see ``validate.load``)."""
    root, _ = resolve_inventory(inventory)
    if root is None:
        note(f"govcloud: note: no inventory (no ./inventory, ${INVENTORY_ENV} not set): requests "
             "can refer to no department, platform or component; pass --inventory")
    if require_files and not any(not isinstance(f, DocError) for f in iter_yaml_files(paths)):
        missing = [p for p in paths if not p.exists()]
        if not missing:
            raise InputError(
                f"no YAML files under {', '.join(map(str, paths))}",
                hint="point at .yaml/.yml files or folders holding them",
            )
    return load(paths, LoadLimits(max_bytes=max_file_size), inventory=root)


@app.command()
@command
def validate(
    paths: list[Path] = PathsArg,
    out: ReportOptions = report_options(gate=False),  # validate is no gate: no --fail-on
    max_file_size: int = MaxSizeOpt,
    inventory: Path = InventoryOpt,
) -> None:
    """Schema-check every document; errors name file:line, JSON path and what to do."""
    validated = load_documents(paths, max_file_size, inventory)
    report = Report(errors=validated.all_errors)
    if out.fmt != "table":
        out.write(report, color=False)
    elif report.errors:
        out.write(report, text="\n".join(f"error: {e}" for e in report.errors))
    count = len(validated.catalog.documents)
    if report.errors:
        note(
            f"{len(report.errors)} error(s); {count} valid document(s) in "
            f"{len(validated.files)} file(s)"
        )
    else:
        note(f"ok: {count} document(s) in {len(validated.files)} file(s) are valid")
    out.exit(report, input_errors=bool(validated.input_errors), gate=True)


@app.command()
@command
def check(
    paths: list[Path] = PathsArg,
    policies: Path = PoliciesOpt,
    out: ReportOptions = report_options(),
    as_of: str = typer.Option(
        None, "--as-of", help="Judge waiver expiry as of this date (YYYY-MM-DD; default today)."
    ),
    max_file_size: int = MaxSizeOpt,
    inventory: Path = InventoryOpt,
    scope: str = typer.Option(
        "all", "--scope", help="all: report and gate every document read (inventory too); "
        "requests: only the request files given and what they cause (a department's CI)."
    ),
) -> None:
    """Evaluate policies and consolidation rules on requests and inventory."""
    if scope not in SCOPES:
        raise InputError(f"unknown --scope '{scope}'", hint=f"use one of {', '.join(SCOPES)}")
    policy_set = policies_in_force(policies)
    root, source = resolve_inventory(inventory)
    validated = load_documents(paths, max_file_size, root)
    if scope == "requests" and not validated.request_files and not validated.input_errors:
        raise InputError("--scope requests, but no PATH holds requests (every PATH is the "
                         f"inventory {root})", hint="pass the request files to check")
    report = run_check(validated, policy_set, today=_today(as_of),
                       providers=builtin_providers(), scope=scope)
    out.write(report)
    gate = GateSettings(out.fail_on, str(policies) if policies else None, scope,
                        str(root) if root else None, source, as_of)
    record("check", _with_inventory(paths, root),
           {**report.to_json(), "gate": gate.record(report, policy_set)})
    summary = report.summary()
    hard = sum(1 for f in report.blocking(out.fail_on) if f.hard)
    note(
        f"{len(validated.catalog.documents)} document(s), {len(policy_set.policies)} policies: "
        + ", ".join(f"{k} {v}" for k, v in summary.items())
        + f", errors {len(report.errors)}"
        + (f"; {hard} finding(s) of hard rules fail the gate whatever --fail-on says"
           if hard else "")
    )
    out.exit(report, input_errors=bool(validated.input_errors), gate=True)


def _with_inventory(paths: list[Path], root: Path | None) -> list[Path]:
    """The inputs to record: the PATHs and the inventory read with them (once)."""
    if root is None or any(p.resolve() == root.resolve() for p in paths):
        return list(paths)
    return [*paths, root]


@app.command()
@command
def schema(kind: str = typer.Argument(..., help=f"One of: {', '.join(KINDS)}.")) -> None:
    """Print the JSON Schema (draft 2020-12) of a document kind."""
    if kind not in KINDS:
        raise InputError(f"unknown kind '{kind}'", hint=f"use one of {', '.join(KINDS)}")
    emit(json.dumps(document_schema(kind), indent=2, ensure_ascii=False), None)


@app.command("policies")
@command
def list_policies(policies: Path = PoliciesOpt, fmt: str = FormatOpt) -> None:
    """List the policies in force: id, severity, waivable, title."""
    policy_set = policies_in_force(policies)
    if resolve_format(fmt) == "json":
        rows = [
            {
                "id": p.id,
                "severity": p.severity,
                "waivable": p.waivable,
                "title": p.title,
                "title_zh": p.title_zh,
                "applies_to": list(p.applies_to),
                "references": list(p.references),
                "file": p.file,
            }
            for p in policy_set.policies
        ]
        emit(json.dumps(rows, indent=2, ensure_ascii=False), None)
        return
    lines = [f"{'ID':<14} {'SEVERITY':<9} {'WAIVABLE':<8} TITLE"]
    for p in policy_set.policies:
        lines.append(f"{p.id:<14} {p.severity:<9} {'yes' if p.waivable else 'no':<8} {p.title}")
    emit("\n".join(lines), None)


def _register_subcommands() -> None:
    """Commands that live in their own modules (one module per outside system or area)."""
    import importlib

    for module_name in ("consolidation_cmd", "provision_cmd", "harden_cmd", "devcloud_cmd",
                        "log_cmd", "audit_cmd", "new_cmd"):
        try:
            module = importlib.import_module(f"govcloud.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"govcloud.cli.{module_name}":
                raise
            continue
        if module_name == "devcloud_cmd":
            app.add_typer(module.app, name="devcloud", help="A real OpenStack on 127.0.0.1 "
                          "for demo and tests (not for production).")
        else:
            module.register(app)


_register_subcommands()


def main() -> None:
    app()
