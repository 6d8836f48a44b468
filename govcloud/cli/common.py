"""What every command shares: the error boundary, output, formats and loading."""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer

from govcloud.errors import EXIT_USAGE, ExecutionError, GovcloudError, InputError, IntegrityError
from govcloud.fsutil import write_atomic
from govcloud.model import FAIL_ON_CHOICES, Report

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "sarif", "junit", "html", "markdown")


class Settings:
    debug = False
    audit_key: Path | None = None  # --audit-key (else $GOVCLOUD_AUDIT_KEY)
    audit_log: Any = None  # the AuditLog checked before the running command's work


# Commands that append to the audit log (by function name): before their work, the configured
# audit key is loaded and the log checked, so a key that is missing, unreadable or locked (exit
# 3) or a log that cannot be extended (exit 4) stops them before they do anything.
RECORDED_COMMANDS = frozenset({"check", "consolidation", "harden", "audit", "approve", "apply",
                               "plan", "drift", "destroy", "sign_roles_cmd"})


def fail(message: str, code: int) -> None:
    typer.echo(f"govcloud: error: {message}", err=True)
    raise typer.Exit(code)


def command(fn: F) -> F:
    """The one place where errors become a message and an exit code (tracebacks: --debug).

    A parameter whose default is an ``OptionGroup`` (``report_options()``) stands for the
    group's options on the command line; the function receives the group's parsed object."""
    groups = _option_groups(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            if fn.__name__ in RECORDED_COMMANDS:
                # harden's --inventory is Ansible's host list, not the authority data
                prepare_audit_log(None if fn.__name__ == "harden" else kwargs.get("inventory"))
            for name, group in groups.items():
                kwargs[name] = group.parse({key: kwargs.pop(key) for key in group.options})
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except GovcloudError as exc:
            if Settings.debug:
                raise
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:  # a bug: say so plainly, keep the details for --debug
            if Settings.debug:
                raise
            fail(
                # Only the type: an unexpected exception's text may carry a token or password.
                f"internal error ({type(exc).__name__}); rerun with --debug and report it",
                3,
            )
        return None

    if groups:
        _expand_signature(wrapper, fn, groups)
    return wrapper  # type: ignore[return-value]


class OptionGroup:
    """Options that several commands share and parse alike, declared once: ``options`` maps each
    parameter name to its type and typer option; ``parse`` turns their values into one object."""

    def __init__(self, parse: Callable[[dict[str, Any]], Any],
                 **options: tuple[type, Any]) -> None:
        self.parse, self.options = parse, options


def _option_groups(fn: Callable[..., Any]) -> dict[str, OptionGroup]:
    return {name: param.default for name, param in inspect.signature(fn).parameters.items()
            if isinstance(param.default, OptionGroup)}


def _expand_signature(wrapper: Callable[..., Any], fn: Callable[..., Any],
                      groups: dict[str, OptionGroup]) -> None:
    """What typer reads (``__signature__``, ``__annotations__``): each group's options in the
    place of its parameter, so ``--help`` lists them there."""
    signature = inspect.signature(fn)
    params: list[inspect.Parameter] = []
    annotations = {k: v for k, v in fn.__annotations__.items() if k not in groups}
    for param in signature.parameters.values():
        if param.name not in groups:
            params.append(param)
            continue
        for name, (kind, option) in groups[param.name].options.items():
            params.append(inspect.Parameter(name, param.kind, default=option, annotation=kind))
            annotations[name] = kind
    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = annotations


@dataclass(frozen=True)
class ReportOptions:
    """``--format``, ``--output`` and ``--fail-on`` of a command that renders a ``Report``:
    parsed once, the report written once, the exit code decided once."""

    fmt: str
    output: Path | None
    fail_on: str

    def write(self, report: Report, *, color: bool = True, text: str | None = None) -> None:
        """The report (or ``text``, a rendering of it) in ``--format``, to stdout or --output."""
        if text is None:
            from govcloud.report import render

            text = render(report, self.fmt, color=color and wants_color(self.output))
        emit(text, self.output)

    def exit(self, report: Report, *, input_errors: bool = False, gate: bool = False
             ) -> NoReturn:
        """Exit 2 when an input could not be read; else 1 on findings at or above --fail-on
        (``gate``: also on any finding of a hard rule, as check, plan and apply decide)."""
        if input_errors:
            raise typer.Exit(EXIT_USAGE)
        raise typer.Exit(report.gate_exit_code(self.fail_on) if gate
                         else report.exit_code(self.fail_on))


def report_options(fail_on: Any = None, *, gate: bool = True) -> Any:
    """The ``ReportOptions`` of a command: ``--fail-on`` as given (default: ``FailOnOpt``),
    none with ``gate=False`` (the report is not a gate: ``fail_on`` is then "never"). An
    ``OptionGroup``, typed ``Any`` like ``typer.Option`` so that it can be a default."""
    options: dict[str, tuple[type, Any]] = {"fmt": (str, FormatOpt), "output": (Path, OutputOpt)}
    if gate:
        options["fail_on"] = (str, FailOnOpt if fail_on is None else fail_on)

    def parse(values: dict[str, Any]) -> ReportOptions:
        fail_on = check_fail_on(values["fail_on"]) if gate else "never"
        return ReportOptions(resolve_format(values["fmt"]), values["output"], fail_on)

    return OptionGroup(parse, **options)


def resolve_format(fmt: str | None) -> str:
    if fmt is None:
        return "table" if sys.stdout.isatty() else "json"
    if fmt not in FORMATS:
        raise InputError(f"unknown format '{fmt}'", hint=f"use one of {', '.join(FORMATS)}")
    return fmt


def check_fail_on(value: str) -> str:
    if value not in FAIL_ON_CHOICES:
        raise InputError(
            f"unknown --fail-on '{value}'", hint=f"use one of {', '.join(FAIL_ON_CHOICES)}"
        )
    return value


def emit(text: str, output: Path | None) -> None:
    """Data to stdout, or atomically to --output (a reader never sees half a report)."""
    if not text.endswith("\n"):
        text += "\n"
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    output = output.expanduser()
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(output, text.encode("utf-8"))  # mode from the umask, like any new file
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror}", hint="check --output") from exc
    typer.echo(f"wrote {output}", err=True)


def wants_color(output: Path | None) -> bool:
    return output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def prepare_audit_log(inventory: Path | None = None) -> None:
    """Fail closed: load the configured audit key (KeyUnusable, exit 3), check that it holds the
    audit role when the inventory's roles are in force, and that the log can be extended
    (IntegrityError, exit 4), before the command does anything."""
    from govcloud.auditlog import AuditLog

    Settings.audit_log = None
    log = AuditLog.from_env(key_path=Settings.audit_key)
    if log.key is not None:
        log.identity = _audit_role_holder(log.key, inventory)
    try:
        log.check()
    except OSError as exc:
        if log.key is not None:
            raise ExecutionError(f"cannot read the audit log {log.path}: {exc.strerror or exc}",
                                 hint="fix the state folder; nothing was done") from exc
        note(f"govcloud: warning: cannot read the audit log ({exc.strerror or exc})")
    Settings.audit_log = log


def _audit_role_holder(key: Any, inventory: Path | None) -> str | None:
    """Who holds the audit key, from the inventory's signed roles: ``None`` when no trust root
    is pinned or the inventory has no roles (roles not in force); KeyUnusable (exit 3) when the
    roles are in force and the key is not an active audit administrator's (三员)."""
    import datetime as dt

    from govcloud import roles, signing

    try:
        roles.pinned_root()
        root, _ = resolve_inventory(inventory)
        role_set = roles.load_roles(root)
    except InputError:
        return None
    holder = role_set.by_fingerprint(key.fingerprint)
    if holder is None or holder.role != "audit" or holder.expired(dt.date.today()):
        what = ("held by nobody" if holder is None else f"held by {holder.describe()} as "
                f"{holder.role}" + (" (expired)" if holder.expired(dt.date.today()) else ""))
        raise signing.KeyUnusable(
            f"the audit key {key.fingerprint[:16]}… is {what} in {role_set.source}, not by an "
            "active audit administrator (Role audit): it may not sign the audit log",
            hint="use the audit administrator's key, or have the security office add it to the "
            "roles as audit")
    return f"audit: {holder.describe()}"


def audit_log() -> Any:
    """The AuditLog this command appends to (the one checked before its work)."""
    from govcloud.auditlog import AuditLog, default_log_path

    log = Settings.audit_log
    if log is None or log.path != default_log_path():
        log = Settings.audit_log = AuditLog.from_env(key_path=Settings.audit_key)
    return log


def append_entry(command_name: str, inputs: dict[str, str], result_sm3: str,
                 gate: Any = None) -> Any:
    """Append one entry. With an audit key configured, a log that cannot be written stops the
    command (exit 3; 4 when it no longer matches its head); without one it is said, loudly."""
    log = audit_log()
    try:
        entry = log.append(command_name, inputs, result_sm3, gate=gate)
    except IntegrityError:
        raise
    except (OSError, GovcloudError) as exc:
        if log.key is not None:
            if isinstance(exc, GovcloudError):
                raise
            raise ExecutionError(f"audit log {log.path} not written: {exc.strerror or exc}",
                                 hint="fix the state folder") from exc
        note(f"govcloud: warning: audit log not written ({exc}); fix the state folder")
        return None
    finally:
        for message in log.notes:
            note(f"govcloud: audit log: {message}")
        log.notes.clear()
    return entry


def record(command_name: str, inputs: list[Path], result: object) -> None:
    """Append the command to the audit log: SM3 of its input files and of its result, and the
    gate's settings in clear (overrides of the defaults, waivers applied) when it has a gate."""
    from govcloud.auditlog.log import canonical, input_digests, sm3_hex

    gate = result.get("gate") if isinstance(result, dict) else None
    append_entry(command_name, input_digests(inputs), sm3_hex(canonical(result)), gate)


def note(message: str) -> None:
    """Progress and summaries: stderr, so stdout stays data."""
    typer.echo(message, err=True)


# Typer option declarations reused by commands.
FormatOpt = typer.Option(
    None,
    "--format",
    "-o",
    help=f"Output format: {', '.join(FORMATS)} (default: table on a terminal, json otherwise).",
)
OutputOpt = typer.Option(None, "--output", help="Write the report to FILE instead of stdout.")
FailOnOpt = typer.Option(
    "high", "--fail-on", help="Exit 1 on findings at or above: critical, high, medium, low, never."
)
PoliciesOpt = typer.Option(
    None, "--policies", help="Folder of Policy files (default: the baseline shipped with govcloud)."
)
InventoryOpt = typer.Option(
    None, "--inventory", help="The inventory (authority data: departments, platforms, catalog, "
    "waivers, roles), a file or folder (default: $GOVCLOUD_INVENTORY, else ./inventory).",
)


# ---------------------------------------------------------------- the inventory and the gate


def resolve_inventory(option: Path | None) -> tuple[Path | None, str]:
    """The inventory (authority data) and where its location came from: ``--inventory``, else
    ``$GOVCLOUD_INVENTORY``, else ``./inventory`` when it exists (else none)."""
    from govcloud.authority import DEFAULT_INVENTORY, INVENTORY_ENV

    if option is not None:
        path, source = option, "--inventory"
    elif os.environ.get(INVENTORY_ENV):
        path, source = Path(os.environ[INVENTORY_ENV]), f"${INVENTORY_ENV}"
    else:
        default = Path(DEFAULT_INVENTORY)
        return (default, "default") if default.exists() else (None, "default")
    if not path.exists():
        raise InputError(f"the inventory {path} ({source}) does not exist",
                         hint=f"point --inventory or ${INVENTORY_ENV} at the inventory folder")
    return path, source


def policies_in_force(path: Path | None) -> Any:
    """``load_policies``, with what it decided about hard rules said on stderr."""
    from govcloud.policy import load_policies

    policy_set = load_policies(path)
    for message in policy_set.notes:
        note(f"govcloud: note: {message}")
    return policy_set
