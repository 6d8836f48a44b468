"""`govcloud plan | apply | drift | destroy` and `govcloud credentials`: requests onto OpenStack.

The commands parse options, call ``govcloud.provision.service.ProvisionService`` (load and gate
the requests before any API call, read each cloud once, diff, carry the plan out) and print,
record in the audit log and exit. A test hands the commands its own service (a fake cloud and
clock) as typer's context object: ``CliRunner().invoke(app, args, obj=service)``.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from govcloud.cli.common import (
    FailOnOpt,
    InventoryOpt,
    PoliciesOpt,
    check_fail_on,
    command,
    emit,
    note,
    record,
    resolve_inventory,
)
from govcloud.documents import Document
from govcloud.errors import EXIT_FINDINGS, EXIT_USAGE, GovcloudError, InputError
from govcloud.fsutil import write_atomic
from govcloud.provision.drift import drift_document, drift_rows, render_drift
from govcloud.provision.plan import render_plan
from govcloud.provision.planfile import SavedPlan, check_saved, plan_document, split_plan_file
from govcloud.provision.service import (
    ExecuteOptions,
    Planned,
    ProvisionService,
    Target,
    requests_of,
)
from govcloud.validate import Validated

PathsArg = typer.Argument(..., help="Request files or folders (the inventory they refer to is "
                          "read from --inventory); for apply also a saved plan file.")
CloudOpt = typer.Option(None, "--os-cloud", help="Cloud in clouds.yaml (default: $OS_CLOUD, "
                        "else each request's Platform cloud).")
OutOpt = typer.Option(None, "--format", "-o", help="table (default on a terminal) or json.")
YesOpt = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")
WorkersOpt = typer.Option(8, "--parallel", min=1, max=64,
                          help="Independent API calls in flight at once.")
KeyOpt = typer.Option(None, "--credentials-key", help="File with the SM4 key (32 hex digits) of "
                      "the credentials bundles (default: $GOVCLOUD_CREDENTIALS_KEY).")
CredDirOpt = typer.Option(None, "--credentials-dir", help="Where credentials bundles go "
                          "(default: <state>/credentials).")
KeyOutOpt = typer.Option(..., "--out", help="Key file to create (mode 0600).")
BundleArg = typer.Argument(..., help="A .gcb bundle written by apply.")
AdoptOpt = typer.Option(False, "--adopt", help="Trust this copy of the bundle: record its "
                        "counter in the state folder (after a move, or a restore from backup).")
OutFileOpt = typer.Option(None, "--out", help="Save the plan (JSON) for `apply PLANFILE`.")
RefreshOpt = typer.Option(False, "--refresh", help="Read every project's quotas live "
                          "(default: only where the recorded digest differs).")
SkipApprovalsOpt = typer.Option(False, "--skip-approvals-on-devcloud",
                                envvar="GOVCLOUD_SKIP_APPROVALS_ON_DEVCLOUD", help="Demo and "
                                "tests only: apply MLPS >= 3 requests to the cloud named devcloud "
                                "without the three approvals (recorded in the audit log).")
PruneOpt = typer.Option(False, "--prune", help="Also delete what govcloud did not create in the "
                        "managed projects (the plan lists each first; drift reports them).")
VolTypeOpt = typer.Option("encrypted", "--encrypted-volume-type",
                          help="Volume type used for `encrypted: true` volumes.")


@dataclass(frozen=True)
class Shared:
    """The options plan, apply, drift and destroy have in common, as one value."""

    ctx: typer.Context
    paths: list[Path]
    os_cloud: str | None
    inventory: Path | None
    policies: Path | None = None
    fail_on: str = "high"
    prune: bool = False


# name -> (type, typer declaration) of each option in Shared
SHARED_OPTIONS: dict[str, tuple[Any, Any]] = {
    "paths": (list[Path], PathsArg), "os_cloud": (str, CloudOpt),
    "inventory": (Path, InventoryOpt), "policies": (Path, PoliciesOpt),
    "fail_on": (str, FailOnOpt), "prune": (bool, PruneOpt),
}


def shared_options(*order: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Declare a command's options once: ``order`` names them as ``--help`` lists them, the
    shared ones (SHARED_OPTIONS) among the function's own; the function gets the shared ones
    as ``opts: Shared``."""

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        own = inspect.signature(fn, eval_str=True).parameters
        keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
        params = [inspect.Parameter("ctx", keyword, annotation=typer.Context)]
        for name in order:
            kind, default = SHARED_OPTIONS.get(name) or (own[name].annotation, own[name].default)
            params.append(inspect.Parameter(name, keyword, default=default, annotation=kind))
        shared = [n for n in order if n in SHARED_OPTIONS]

        @functools.wraps(fn)
        def wrapper(ctx: typer.Context, **options: Any) -> None:
            opts = Shared(ctx, **{n: options.pop(n) for n in shared})
            fn(opts, **options)

        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        return wrapper

    return decorate


# ---------------------------------------------------------------- the service and its output


class _Progress:
    """The executor's lines on stderr: one per finished action, or on a terminal one updating
    line with a bar; a sentence (``notice``) first ends that line."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.open = False

    def line(self, message: str) -> None:
        if not self.tty:
            note(message)
            return
        bar = ""
        found = re.match(r"\[(\d+)/(\d+)\] ", message)
        if found:
            done, total = int(found.group(1)), max(int(found.group(2)), 1)
            filled = 24 * done // total
            bar = f"[{'#' * filled}{'.' * (24 - filled)}] "
        sys.stderr.write("\r\033[K" + (bar + message)[:150])
        sys.stderr.flush()
        self.open = True

    def notice(self, message: str) -> None:
        self.close()
        note(message)

    def close(self) -> None:
        if self.open:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.open = False


@contextmanager
def _service(ctx: typer.Context) -> Iterator[ProvisionService]:
    """The service of this run: the context object a test passes, else the real one."""
    base = ctx.obj if isinstance(ctx.obj, ProvisionService) else ProvisionService()
    progress = _Progress()
    try:
        yield base.reporting(progress.line, progress.notice)
    finally:
        progress.close()


def _load(paths: list[Path], inventory: Path | None = None) -> Validated:
    from govcloud.cli.app import load_documents

    validated = load_documents(paths, 10 * 1024 * 1024, inventory)
    if validated.all_errors:
        for error in validated.all_errors[:20]:
            note(f"{error}")
        more = len(validated.all_errors) - 20
        raise InputError(
            f"{len(validated.all_errors)} invalid document error(s)"
            + (f" ({more} more not shown)" if more > 0 else ""),
            hint="fix them (`govcloud validate PATH` lists them all); nothing was sent to the "
                 "cloud")
    return validated


def _policies(service: ProvisionService, path: Path | None) -> Any:
    """The policy set in force, with what it decided about hard rules said on stderr."""
    policy_set = service.load_policies(path)
    for message in policy_set.notes:
        note(f"govcloud: note: {message}")
    return policy_set


def _gate(service: ProvisionService, validated: Validated, policies: Path | None,
          fail_on: str, command_name: str, paths: list[Path],
          inventory: Path | None) -> tuple[list[Document], Any, Any]:
    """Requests failing their policies stop everything before any call (exit 1, recorded).
    Returns the requests, the policy set and the gate record for the audit log."""
    from govcloud.cli.app import _with_inventory
    from govcloud.gate import GateSettings

    requests_of(validated)
    policy_set = _policies(service, policies)
    root, source = resolve_inventory(inventory)
    settings = GateSettings(fail_on, str(policies) if policies else None,
                            inventory=str(root) if root else None, inventory_source=source)
    gate = service.gate_requests(validated, policy_set, fail_on, settings)
    if gate.blocking:
        for finding in gate.blocking[:30]:
            hard = " [hard rule]" if finding.hard else ""
            note(f"  {finding.severity:<8} {finding.policy:<12} {finding.target} "
                 f"({finding.location}): {finding.message}{hard}")
        why = (f" ({gate.hard} of hard rules, which no --fail-on, --policies or waiver "
               "switches off)" if gate.hard else "")
        todo = "fix them" if gate.hard == len(gate.blocking) else "fix or waive them"
        note(f"govcloud: refused: {len(gate.blocking)} finding(s) at or above {fail_on}{why} in "
             f"{', '.join(gate.refused)}; {todo} (`govcloud check`), or apply the others alone. "
             "Nothing was sent to the cloud.")
        record(command_name, _with_inventory(paths, root),
               {"refused": gate.refused, "gate": gate.record})
        raise typer.Exit(EXIT_FINDINGS)
    return list(gate.requests), policy_set, gate.record


def _plan_all(service: ProvisionService, validated: Validated, targets: Sequence[Target],
              **how: bool) -> list[Planned]:
    """Each target read and planned; on a failure the connections opened so far are closed."""
    planned: list[Planned] = []
    try:
        for target in targets:
            planned.append(service.plan(target, validated, **how))
    except BaseException:
        service.close(planned)
        raise
    return planned


def _load_and_plan(service: ProvisionService, opts: Shared,
                   **how: bool) -> tuple[Validated, list[Planned]]:
    """drift and destroy: the requests (no gate) and each of their clouds planned."""
    validated = _load(opts.paths, opts.inventory)
    targets = service.targets(validated, requests_of(validated), opts.os_cloud)
    return validated, _plan_all(service, validated, targets, **how)


def _refuse_planned(service: ProvisionService, planned: list[Planned], validated: Validated,
                    policy_set: Any, fail_on: str) -> None:
    refusals = service.gate_planned(planned, validated, policy_set, fail_on)
    if refusals:
        for r in refusals[:30]:
            note(f"  {r.finding.severity:<8} {r.finding.policy:<12} cloud {r.cloud}: {r.text}")
        note(f"govcloud: refused: the planned state breaks {len(refusals)} live-cloud policy "
             f"finding(s) at or above {fail_on} (or not waivable); `govcloud audit` would flag "
             "them after apply. Fix the requests. Nothing was sent to the cloud.")
        raise typer.Exit(EXIT_FINDINGS)


def _check_approvals(service: ProvisionService, targets: list[Target], validated: Validated,
                     policy_set: Any, skip: bool, doc_paths: list[Path],
                     inventory: Path | None) -> None:
    """MLPS >= 3 requests need the three approvals (docs/audit.md)."""
    check = service.approvals(targets, validated, policy_set, resolve_inventory(inventory)[0],
                              skip=skip)
    if check.skipped:
        record("apply --skip-approvals-on-devcloud", doc_paths,
               {"approvals": "skipped", "requests": list(check.needed)})
        note(f"govcloud: warning: approvals skipped for {len(check.needed)} MLPS>=3 request(s) "
             "on devcloud (recorded in the audit log)")
    if check.problems:
        for problem in check.problems:
            note(f"  {problem}")
        note(f"govcloud: refused: {len(check.problems)} approval problem(s); nothing was sent "
             "to the cloud. Collect the missing signatures with `govcloud approve`.")
        raise typer.Exit(EXIT_FINDINGS)


def _format(fmt: str | None) -> str:
    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    if fmt not in ("table", "json"):
        raise InputError(f"unknown format '{fmt}'", hint="use table or json")
    return fmt


def _show(service: ProvisionService, planned: list[Planned], fmt: str | None,
          paths: list[Path], refresh: bool) -> None:
    if _format(fmt) == "json":
        emit(json.dumps(plan_document(planned, paths, refresh, service.now()), indent=2,
                        ensure_ascii=False), None)
        return
    blocks = []
    for p in planned:
        blocks.append(f"# cloud {p.target.cloud}: {', '.join(sorted(p.target.ids))}")
        blocks.append(render_plan(p.plan))
    emit("\n".join(blocks), None)


def _confirm(yes: bool, what: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"{what} needs confirmation", hint="pass --yes when not on a terminal")
    if not typer.confirm(f"Do you want to {what}?", err=True):
        note("cancelled; nothing was changed")
        raise typer.Exit(0)


# ---------------------------------------------------------------- commands


def register(app: typer.Typer) -> None:
    @app.command()
    @command
    @shared_options("paths", "os_cloud", "fmt", "out", "refresh", "policies", "fail_on",
                    "inventory", "prune")
    def plan(opts: Shared, fmt: str = OutOpt, out: Path = OutFileOpt,
             refresh: bool = RefreshOpt) -> None:
        """What apply would create, change or delete on OpenStack for the requests."""
        fail_on, paths = check_fail_on(opts.fail_on), opts.paths
        with _service(opts.ctx) as service:
            validated = _load(paths, opts.inventory)
            requests, policy_set, _ = _gate(service, validated, opts.policies, fail_on, "plan",
                                            paths, opts.inventory)
            planned = _plan_all(service, validated,
                                service.targets(validated, requests, opts.os_cloud),
                                refresh=refresh, prune=opts.prune)
            try:
                _refuse_planned(service, planned, validated, policy_set, fail_on)
                _show(service, planned, fmt, paths, refresh)
                if out is not None:
                    emit(json.dumps(plan_document(planned, paths, refresh, service.now()),
                                    indent=2, ensure_ascii=False), out)
                for p in planned:
                    note(f"cloud {p.target.cloud}: {p.plan.summary()} "
                         f"({p.cloud.counter.total} API calls)")
            finally:
                service.close(planned)

    @app.command()
    @command
    @shared_options("paths", "os_cloud", "yes", "workers", "key_file", "cred_dir", "vol_type",
                    "skip_approvals", "policies", "fail_on", "inventory", "prune")
    def apply(opts: Shared, yes: bool = YesOpt, workers: int = WorkersOpt,
              key_file: Path = KeyOpt, cred_dir: Path = CredDirOpt, vol_type: str = VolTypeOpt,
              skip_approvals: bool = SkipApprovalsOpt) -> None:
        """Make the cloud match the requests (idempotent; re-run after a failure to resume)."""
        fail_on, inventory, prune = check_fail_on(opts.fail_on), opts.inventory, opts.prune
        doc_paths, saved = split_plan_file(opts.paths)
        with _service(opts.ctx) as service:
            validated = _load(doc_paths, inventory)
            requests, policy_set, gate = _gate(service, validated, opts.policies, fail_on,
                                               "apply", doc_paths, inventory)
            refresh = saved.refresh if saved is not None else True
            if saved is not None:
                saved.check_prune(prune)
                prune = saved.prune
            targets = service.targets(validated, requests, opts.os_cloud)
            _check_approvals(service, targets, validated, policy_set, skip_approvals,
                             doc_paths, inventory)
            planned = _plan_all(service, validated, targets, refresh=refresh, prune=prune)
            try:
                _apply_planned(service, planned, validated, policy_set, saved, ApplyRun(
                    doc_paths, gate, fail_on, refresh, yes,
                    ExecuteOptions(workers, vol_type, key_file, cred_dir)))
            finally:
                service.close(planned)

    @app.command()
    @command
    @shared_options("paths", "os_cloud", "fmt", "inventory")
    def drift(opts: Shared, fmt: str = OutOpt) -> None:
        """Managed resources that differ from their request, and unmanaged ones (exit 1)."""
        with _service(opts.ctx) as service:
            _, planned = _load_and_plan(service, opts, refresh=True)
            try:
                rows = [row for p in planned for row in drift_rows(p)]
            finally:
                service.close(planned)
        if _format(fmt) == "json":
            emit(json.dumps(drift_document(rows), indent=2, ensure_ascii=False), None)
        else:
            emit(render_drift(rows), None)
        record("drift", opts.paths, {"drift": len(rows)})
        if rows:
            raise typer.Exit(EXIT_FINDINGS)

    @app.command()
    @command
    @shared_options("paths", "os_cloud", "yes", "workers", "inventory")
    def destroy(opts: Shared, yes: bool = YesOpt, workers: int = WorkersOpt) -> None:
        """Remove what the requests created, in reverse order, and only that."""
        paths = opts.paths
        with _service(opts.ctx) as service:
            _, planned = _load_and_plan(service, opts, refresh=False, destroy=True)
            try:
                for p in planned:
                    service.check_destroyable(p)
                if all(p.plan.empty for p in planned):
                    note("nothing to destroy")
                    record("destroy", paths, {"changes": 0})
                    return
                if sys.stdout.isatty():
                    _show(service, planned, "table", paths, False)
                _confirm(yes, "destroy these resources")
                for p in planned:
                    applied = service.execute(p, ExecuteOptions(workers=workers))
                    note(f"cloud {p.target.cloud}: destroy complete: {len(p.plan.actions)} "
                         f"resource(s) removed ({applied.writes} write calls)")
                record("destroy", paths, {p.target.cloud: p.plan.summary() for p in planned})
            finally:
                service.close(planned)

    credentials_app = typer.Typer(help="Credentials bundles of the users apply creates "
                                  "(SM4-GCM).", no_args_is_help=True)
    app.add_typer(credentials_app, name="credentials")

    @credentials_app.command("keygen")
    @command
    def keygen(out: Path = KeyOutOpt) -> None:
        """Make a new SM4 key file for credentials bundles."""
        from govcloud.provision.credentials import generate_key

        if out.exists():
            raise InputError(f"{out} exists", hint="choose another path; keys are not replaced")
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_atomic(out, (generate_key() + "\n").encode("ascii"), secret=True,
                         replace=False)
        except FileExistsError:
            raise InputError(f"{out} exists", hint="choose another path; keys are not replaced"
                             ) from None
        note(f"wrote {out} (0600); keep it apart from the bundles")

    @credentials_app.command("show")
    @command
    def show(bundle: Path = BundleArg, key_file: Path = KeyOpt, fmt: str = OutOpt,
             adopt: bool = AdoptOpt) -> None:
        """Decrypt a bundle and print its users' initial passwords (to stdout only)."""
        from govcloud.provision import credentials as cred

        key = cred.load_key(key_file)
        data = cred.read_bundle(bundle, key)
        if adopt:
            cred.record_counter(bundle, key, data["counter"])
            note(f"adopted {bundle} at counter {data['counter']}: later writes and shows "
                 "refuse any older copy")
        elif cred.check_rollback(bundle, key, data) is None:
            note(f"govcloud: note: {bundle} not checked for rollback (this state folder has "
                 "no counter record of it; --adopt records it)")
        users = sorted(data.get("users", {}).values(), key=lambda u: (u["tenant"], u["user"]))
        if (fmt or ("table" if sys.stdout.isatty() else "json")) == "json":
            emit(json.dumps({"department": data.get("department"), "users": users},
                            indent=2, ensure_ascii=False), None)
            return
        lines = [f"{'TENANT':<28} {'USER':<24} {'CREATED':<26} PASSWORD"]
        lines += [f"{u['tenant']:<28} {u['user']:<24} {u['created']:<26} {u['password']}"
                  for u in users]
        emit("\n".join(lines), None)


@dataclass(frozen=True)
class ApplyRun:
    """What apply was asked, beyond the plan: for the audit log, the output and the writes."""

    doc_paths: list[Path]
    gate: Any
    fail_on: str
    refresh: bool
    yes: bool
    options: ExecuteOptions


def _apply_planned(service: ProvisionService, planned: list[Planned], validated: Validated,
                   policy_set: Any, saved: SavedPlan | None, run: ApplyRun) -> None:
    doc_paths = run.doc_paths
    if saved is not None:
        check_saved(saved, planned)
    _refuse_planned(service, planned, validated, policy_set, run.fail_on)
    if all(p.plan.empty for p in planned):
        for p in planned:
            note(f"cloud {p.target.cloud}: no changes; the cloud matches the requests "
                 f"({p.cloud.counter.writes} write calls)")
        record("apply", doc_paths, {"changes": 0, "gate": run.gate})
        return
    if sys.stdout.isatty():
        _show(service, planned, "table", doc_paths, run.refresh)
    for p in planned:
        for action in p.foreign_deletions:
            r = action.resource
            note(f"cloud {p.target.cloud}: will delete {r.kind} {r.name} (tenant {r.tenant}): "
                 f"{action.reason}")
    _confirm(run.yes, "apply these changes")
    # Two entries: the intent before the first write, the outcome after (or the failure).
    record("apply (intent)", doc_paths, {"gate": run.gate, **{p.target.cloud: {
        "plan": p.plan.summary(), "fingerprint": p.plan.fingerprint} for p in planned}})
    results: dict[str, Any] = {}
    try:
        for p in planned:
            applied = service.execute(p, run.options)
            counts = p.plan.counts
            note(f"cloud {p.target.cloud}: apply complete: {counts.get('create', 0)} "
                 f"created, {counts.get('update', 0)} changed, "
                 f"{counts.get('replace', 0)} replaced, {counts.get('delete', 0)} deleted "
                 f"({applied.writes} write calls)")
            for bundle in applied.passwords_written:
                note(f"initial passwords of new users are in {bundle} (SM4-GCM; read with "
                     "`govcloud credentials show`)")
            results[p.target.cloud] = {"plan": p.plan.summary(),
                                       "fingerprint": p.plan.fingerprint,
                                       "writes": applied.writes, "prune": p.prune}
    except (GovcloudError, KeyboardInterrupt) as exc:
        record("apply (failed)", doc_paths, {"done": results, "error": type(exc).__name__})
        raise
    record("apply", doc_paths, {**results, "gate": run.gate})


__all__ = ["EXIT_USAGE", "register"]
