"""`govcloud plan | apply | drift | destroy` and `govcloud credentials`: requests onto OpenStack.

Every command first loads and checks the requests (no API call for a request that fails its
policies), then reads the cloud with one list call per resource type, diffs in memory
(``govcloud.provision``) and, for apply/destroy, carries the plan out (``govcloud.cloud.apply``).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
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
)
from govcloud.documents import Document
from govcloud.errors import EXIT_FINDINGS, EXIT_USAGE, CloudError, GovcloudError, InputError
from govcloud.fsutil import write_atomic
from govcloud.provision.desired import Resource, desired_state
from govcloud.provision.plan import Plan, diff, render_plan
from govcloud.state import ensure_state_subdir, state_dir
from govcloud.validate import Validated

PLAN_FORMAT = "govcloud-plan"
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


@dataclass
class Target:
    """The requests going to one cloud."""

    cloud: str
    requests: list[Document]

    @property
    def ids(self) -> set[str]:
        return {r.id for r in self.requests}


# ---------------------------------------------------------------- loading and gating


def _split_plan_file(paths: list[Path]) -> tuple[list[Path], dict[str, Any] | None]:
    docs, plan = [], None
    for path in paths:
        if path.is_file() and path.suffix == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"{path}: not a plan file ({exc})",
                                 hint="pass a file written by `govcloud plan --out`") from exc
            if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
                raise InputError(f"{path}: not a govcloud plan file",
                                 hint="pass a file written by `govcloud plan --out`")
            if plan is not None:
                raise InputError("more than one plan file given", hint="pass one")
            plan = data
        else:
            docs.append(path)
    if plan is not None and not docs:
        docs = [Path(p) for p in plan.get("paths", [])]
    return docs, plan


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


def _requests(validated: Validated) -> list[Document]:
    requests = validated.requests()
    if not requests:
        raise InputError("no ResourceRequest under the given paths",
                         hint="point at request files (the inventory comes from --inventory)")
    return requests


def _gate(validated: Validated, policies: Path | None, fail_on: str, command_name: str,
          paths: list[Path], inventory: Path | None = None) -> tuple[list[Document], Any]:
    """Requests that fail their policies at or above --fail-on, or any hard rule (whatever
    --fail-on, --policies or waivers say), stop everything before any call. Returns the
    requests and the gate record for the command's audit-log entry."""
    from govcloud.check import run_check
    from govcloud.cli.app import _with_inventory
    from govcloud.cli.common import policies_in_force, resolve_inventory
    from govcloud.gate import GateSettings
    from govcloud.providers import builtin_providers

    requests = _requests(validated)
    policy_set = policies_in_force(policies)
    report = run_check(validated, policy_set, today=dt.date.today(),
                       providers=builtin_providers())
    root, source = resolve_inventory(inventory)
    gate = GateSettings(fail_on, str(policies) if policies else None,
                        inventory=str(root) if root else None, inventory_source=source)
    record_of_gate = gate.record(report, policy_set)
    ids = {f"ResourceRequest/{r.id}" for r in requests}
    blocking = [f for f in report.blocking(fail_on) if f.target in ids]
    if blocking:
        for finding in blocking[:30]:
            hard = " [hard rule]" if finding.hard else ""
            note(f"  {finding.severity:<8} {finding.policy:<12} {finding.target} "
                 f"({finding.location}): {finding.message}{hard}")
        refused = sorted({f.target.partition("/")[2] for f in blocking})
        hard_count = sum(1 for f in blocking if f.hard)
        why = (f" ({hard_count} of hard rules, which no --fail-on, --policies or waiver "
               "switches off)" if hard_count else "")
        todo = "fix them" if hard_count == len(blocking) else "fix or waive them"
        note(f"govcloud: refused: {len(blocking)} finding(s) at or above {fail_on}{why} in "
             f"{', '.join(refused)}; {todo} (`govcloud check`), or apply the others alone. "
             "Nothing was sent to the cloud.")
        record(command_name, _with_inventory(paths, root),
               {"refused": refused, "gate": record_of_gate})
        raise typer.Exit(EXIT_FINDINGS)
    return list(requests), record_of_gate


def _targets(validated: Validated, requests: list[Document], os_cloud: str | None) -> list[Target]:
    override = os_cloud or os.environ.get("OS_CLOUD")
    by_cloud: dict[str, list[Document]] = {}
    for request in requests:
        cloud = override
        if not cloud:
            platform = validated.catalog.get("Platform", request.spec["platform"])
            cloud = platform.spec["cloud"] if platform is not None else None
        if not cloud:
            raise InputError(f"request {request.id}: no cloud to send it to",
                             hint="pass --os-cloud NAME or set OS_CLOUD")
        by_cloud.setdefault(cloud, []).append(request)
    return [Target(c, sorted(r, key=lambda d: d.id)) for c, r in sorted(by_cloud.items())]


def request_digest(request: Document) -> str:
    text = json.dumps(request.body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- reading and planning


@dataclass
class Planned:
    target: Target
    cloud: Any  # govcloud.cloud.Cloud
    desired: list[Resource]
    snapshot: Any  # govcloud.cloud.read.Snapshot
    plan: Plan
    prune: bool = False


def _plan_one(target: Target, validated: Validated, *, refresh: bool,
              destroy: bool = False, prune: bool = False) -> Planned:
    from govcloud.cloud import connect, read_cloud

    cloud = connect(target.cloud)
    desired = desired_state(validated.catalog, target.requests)
    snap = read_cloud(cloud, desired, target.ids, refresh=refresh)
    if snap.conflicts:
        cloud.close()
        raise CloudError(f"cloud {target.cloud}: {snap.conflicts[0]}",
                         hint=f"{len(snap.conflicts)} conflict(s); nothing was changed")
    plan = diff([] if destroy else desired, snap.resources, target.ids, snap.broken,
                prune=prune)
    return Planned(target, cloud, desired, snap, plan, prune)


def _gate_planned(planned: list[Planned], validated: Validated, policies: Path | None,
                  fail_on: str) -> None:
    """Before any write: the live-cloud policies on the state the plan leaves (as audit would
    read it) refuse like check; apply never makes what audit flags."""
    from govcloud.policy import load_policies
    from govcloud.provision.planned import check_planned, planned_documents

    policy_set = load_policies(policies)
    refusals: list[tuple[str, Any, str]] = []
    for p in planned:
        docs = planned_documents(p.desired, p.target.cloud, ids=p.snapshot.ids,
                                 images=p.snapshot.images)
        result = check_planned(validated.catalog, policy_set, docs, fail_on=fail_on,
                               today=dt.date.today())
        refusals.extend((p.target.cloud, f, result.describe(f)) for f in result.blocking)
    if refusals:
        for cloud, finding, text in refusals[:30]:
            note(f"  {finding.severity:<8} {finding.policy:<12} cloud {cloud}: {text}")
        note(f"govcloud: refused: the planned state breaks {len(refusals)} live-cloud policy "
             f"finding(s) at or above {fail_on} (or not waivable); `govcloud audit` would flag "
             "them after apply. Fix the requests. Nothing was sent to the cloud.")
        raise typer.Exit(EXIT_FINDINGS)


def _list_foreign_deletions(planned: list[Planned]) -> None:
    """Name every resource govcloud did not create before it is deleted (stderr, always)."""
    from govcloud.provision.plan import foreign_deletions

    for p in planned:
        for action in foreign_deletions(p.plan):
            r = action.resource
            note(f"cloud {p.target.cloud}: will delete {r.kind} {r.name} (tenant {r.tenant}): "
                 f"{action.reason}")


def _plan_json(planned: list[Planned], paths: list[Path], refresh: bool) -> dict[str, Any]:
    return {
        "format": PLAN_FORMAT,
        "version": 1,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
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


def _show(planned: list[Planned], fmt: str | None, paths: list[Path], refresh: bool) -> None:
    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    if fmt not in ("table", "json"):
        raise InputError(f"unknown format '{fmt}'", hint="use table or json")
    if fmt == "json":
        emit(json.dumps(_plan_json(planned, paths, refresh), indent=2, ensure_ascii=False), None)
        return
    blocks = []
    for p in planned:
        blocks.append(f"# cloud {p.target.cloud}: {', '.join(sorted(p.target.ids))}")
        blocks.append(render_plan(p.plan))
    emit("\n".join(blocks), None)


@contextmanager
def _cloud_lock(cloud: str) -> Iterator[None]:
    """One apply/destroy per cloud at a time on this machine."""
    path = ensure_state_subdir("locks") / f"{cloud}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"another govcloud apply or destroy is running on cloud {cloud}",
                             hint="wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def _progress() -> Any:
    tty = sys.stderr.isatty()

    def say(message: str) -> None:
        if not tty:
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

    return say


def _confirm(yes: bool, what: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"{what} needs confirmation", hint="pass --yes when not on a terminal")
    if not typer.confirm(f"Do you want to {what}?", err=True):
        note("cancelled; nothing was changed")
        raise typer.Exit(0)


RESUME_ROUNDS = 3  # an apply whose connection dropped re-reads the cloud and goes on


def _execute(planned: Planned, key_file: Path | None, cred_dir: Path | None,
             vol_type: str, workers: int, validated: Validated, *, destroy: bool = False) -> Any:
    """Carry out the plan. When an API drops a connection mid-call (a write cannot simply be
    sent again: it may have been done), read the cloud again, plan again and go on, as a
    re-run would: resources the dropped call made are found by name and adopted."""
    from govcloud.cloud import read_cloud
    from govcloud.cloud.apply import Executor, Options, Outcome
    from govcloud.cloud.session import transient
    from govcloud.provision import credentials

    options = Options(workers=workers, encrypted_volume_type=vol_type,
                      departments={r.spec["tenant"]: r.spec["department"]
                                   for r in planned.target.requests})
    total = Outcome()
    for attempt in range(1, RESUME_ROUNDS + 1):
        plan = planned.plan
        if any(a.resource.kind == "user" and a.op in ("create", "replace")
               for a in plan.actions) and options.credentials_key is None:
            options.credentials_key = credentials.load_key(key_file)
            options.credentials_dir = cred_dir or (state_dir() / "credentials")
            # a rolled-back or unadopted bundle stops the run before the first cloud call
            for department in sorted({options.departments.get(a.resource.tenant,
                                                              a.resource.tenant)
                                      for a in plan.actions if a.resource.kind == "user"}):
                credentials.check_writable(options.credentials_dir, options.credentials_key,
                                           department)
        executor = Executor(planned.cloud, planned.snapshot, options, _progress())
        try:
            outcome = executor.run(plan)
        except CloudError as exc:
            total.absorb(executor.outcome)
            if attempt == RESUME_ROUNDS or not transient(exc.__cause__):
                raise
            note(f"cloud {planned.target.cloud}: {exc.message}; the connection dropped: "
                 f"reading the cloud again and resuming (round {attempt + 1} of "
                 f"{RESUME_ROUNDS})")
            time.sleep(2.0 * attempt)
            try:
                snap = read_cloud(planned.cloud, planned.desired, planned.target.ids,
                                  refresh=True)
            except CloudError as again:  # the API is down, not blinking: say what failed first
                note(f"cloud {planned.target.cloud}: cannot read it again ({again.message})")
                raise exc from None
            if snap.conflicts:
                raise CloudError(f"cloud {planned.target.cloud}: {snap.conflicts[0]}") from exc
            planned.snapshot = snap
            planned.plan = diff([] if destroy else planned.desired, snap.resources,
                                planned.target.ids, snap.broken, prune=planned.prune)
            continue
        finally:
            if sys.stderr.isatty():
                sys.stderr.write("\n")
        total.absorb(outcome)
        return total
    raise AssertionError("unreachable: the last round returns or raises")


# ---------------------------------------------------------------- commands


def register(app: typer.Typer) -> None:
    @app.command()
    @command
    def plan(
        paths: list[Path] = PathsArg,
        os_cloud: str = CloudOpt,
        fmt: str = OutOpt,
        out: Path = OutFileOpt,
        refresh: bool = RefreshOpt,
        policies: Path = PoliciesOpt,
        fail_on: str = FailOnOpt,
        inventory: Path = InventoryOpt,
        prune: bool = PruneOpt,
    ) -> None:
        """What apply would create, change or delete on OpenStack for the requests."""
        fail_on = check_fail_on(fail_on)
        validated = _load(paths, inventory)
        requests, _ = _gate(validated, policies, fail_on, "plan", paths, inventory)
        planned = [_plan_one(t, validated, refresh=refresh, prune=prune)
                   for t in _targets(validated, requests, os_cloud)]
        try:
            _gate_planned(planned, validated, policies, fail_on)
            _show(planned, fmt, paths, refresh)
            if out is not None:
                emit(json.dumps(_plan_json(planned, paths, refresh), indent=2,
                                ensure_ascii=False), out)
            for p in planned:
                note(f"cloud {p.target.cloud}: {p.plan.summary()} "
                     f"({p.cloud.counter.total} API calls)")
        finally:
            for p in planned:
                p.cloud.close()

    @app.command()
    @command
    def apply(
        paths: list[Path] = PathsArg,
        os_cloud: str = CloudOpt,
        yes: bool = YesOpt,
        workers: int = WorkersOpt,
        key_file: Path = KeyOpt,
        cred_dir: Path = CredDirOpt,
        vol_type: str = VolTypeOpt,
        skip_approvals: bool = SkipApprovalsOpt,
        policies: Path = PoliciesOpt,
        fail_on: str = FailOnOpt,
        inventory: Path = InventoryOpt,
        prune: bool = PruneOpt,
    ) -> None:
        """Make the cloud match the requests (idempotent; re-run after a failure to resume)."""
        fail_on = check_fail_on(fail_on)
        doc_paths, saved = _split_plan_file(paths)
        validated = _load(doc_paths, inventory)
        requests, gate = _gate(validated, policies, fail_on, "apply", doc_paths, inventory)
        refresh = bool(saved["refresh"]) if saved else True
        if saved is not None and prune and not saved.get("prune"):
            raise InputError("--prune given, but the plan file was made without it",
                             hint="run `govcloud plan --prune --out PLANFILE` and review it")
        prune = bool(saved.get("prune")) if saved is not None else prune
        targets = _targets(validated, requests, os_cloud)
        _check_approvals(targets, validated, policies, skip_approvals, doc_paths, inventory)
        planned = []
        writing = False  # between the intent entry and the end of the writes
        results: dict[str, Any] = {}
        try:
            for target in targets:
                planned.append(_plan_one(target, validated, refresh=refresh, prune=prune))
            if saved is not None:
                _check_saved(saved, planned)
            _gate_planned(planned, validated, policies, fail_on)
            if all(p.plan.empty for p in planned):
                for p in planned:
                    note(f"cloud {p.target.cloud}: no changes; the cloud matches the requests "
                         f"({p.cloud.counter.writes} write calls)")
                record("apply", doc_paths, {"changes": 0, "gate": gate})
                return
            _show(planned, "table", doc_paths, refresh) if sys.stdout.isatty() else None
            _list_foreign_deletions(planned)
            _confirm(yes or saved is not None and yes, "apply these changes")
            # Two entries: the intent before the first write, the outcome after (or the failure).
            record("apply (intent)", doc_paths, {"gate": gate, **{p.target.cloud: {
                "plan": p.plan.summary(), "fingerprint": p.plan.fingerprint} for p in planned}})
            writing = True
            for p in planned:
                original = p.plan  # _execute re-plans if it has to resume
                counts = original.counts
                with _cloud_lock(p.target.cloud):
                    outcome = _execute(p, key_file, cred_dir, vol_type, workers, validated)
                note(f"cloud {p.target.cloud}: apply complete: {counts.get('create', 0)} "
                     f"created, {counts.get('update', 0)} changed, "
                     f"{counts.get('replace', 0)} replaced, {counts.get('delete', 0)} deleted "
                     f"({p.cloud.counter.writes} write calls)")
                for bundle in outcome.passwords_written:
                    note(f"initial passwords of new users are in {bundle} (SM4-GCM; read with "
                         "`govcloud credentials show`)")
                results[p.target.cloud] = {"plan": original.summary(),
                                           "fingerprint": original.fingerprint,
                                           "writes": p.cloud.counter.writes,
                                           "prune": p.prune}
            writing = False
            record("apply", doc_paths, {**results, "gate": gate})
        except (GovcloudError, KeyboardInterrupt) as exc:
            if writing:
                record("apply (failed)", doc_paths, {"done": results,
                                                     "error": type(exc).__name__})
            raise
        finally:
            for p in planned:
                p.cloud.close()

    @app.command()
    @command
    def drift(
        paths: list[Path] = PathsArg,
        os_cloud: str = CloudOpt,
        fmt: str = OutOpt,
        inventory: Path = InventoryOpt,
    ) -> None:
        """Managed resources that differ from their request, and unmanaged ones (exit 1)."""
        validated = _load(paths, inventory)
        requests = _requests(validated)
        rows: list[dict[str, Any]] = []
        for target in _targets(validated, requests, os_cloud):
            planned = _plan_one(target, validated, refresh=True)
            try:
                rows.extend(drift_rows(planned))
            finally:
                planned.cloud.close()
        _show_drift(rows, fmt)
        record("drift", paths, {"drift": len(rows)})
        if rows:
            raise typer.Exit(EXIT_FINDINGS)

    @app.command()
    @command
    def destroy(
        paths: list[Path] = PathsArg,
        os_cloud: str = CloudOpt,
        yes: bool = YesOpt,
        workers: int = WorkersOpt,
        inventory: Path = InventoryOpt,
    ) -> None:
        """Remove what the requests created, in reverse order, and only that."""
        validated = _load(paths, inventory)
        requests = _requests(validated)
        planned: list[Planned] = []
        try:
            for target in _targets(validated, requests, os_cloud):
                p = _plan_one(target, validated, refresh=False, destroy=True)
                planned.append(p)
                # Rules of a managed group go with it (the plan lists them); anything else
                # govcloud did not create stops the destroy.
                deleting = {a.resource.key for a in p.plan.actions}
                foreign = [r for r in p.snapshot.resources
                           if r.request not in target.ids and r.key not in deleting]
                if foreign:
                    names = ", ".join(f"{r.kind} {r.name} (tenant {r.tenant})"
                                      for r in foreign[:10])
                    raise CloudError(
                        f"cloud {target.cloud}: refusing to destroy: the projects hold "
                        f"{len(foreign)} resource(s) govcloud did not create: {names}",
                        hint="remove or move them first; destroy removes only what the "
                             "requests created")
            if all(p.plan.empty for p in planned):
                note("nothing to destroy")
                record("destroy", paths, {"changes": 0})
                return
            if sys.stdout.isatty():
                _show(planned, "table", paths, False)
            _confirm(yes, "destroy these resources")
            summaries = {p.target.cloud: p.plan.summary() for p in planned}
            for p in planned:
                removing = len(p.plan.actions)
                with _cloud_lock(p.target.cloud):
                    _execute(p, None, None, "encrypted", workers, validated, destroy=True)
                note(f"cloud {p.target.cloud}: destroy complete: {removing} "
                     f"resource(s) removed ({p.cloud.counter.writes} write calls)")
            record("destroy", paths, {p.target.cloud: summaries[p.target.cloud]
                                      for p in planned})
        finally:
            for p in planned:
                p.cloud.close()

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
    def show(
        bundle: Path = BundleArg,
        key_file: Path = KeyOpt,
        fmt: str = OutOpt,
        adopt: bool = AdoptOpt,
    ) -> None:
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


def _check_saved(saved: dict[str, Any], planned: list[Planned]) -> None:
    clouds = {c["cloud"]: c for c in saved.get("clouds", [])}
    for p in planned:
        entry = clouds.get(p.target.cloud)
        if entry is None:
            raise InputError(f"the plan file has no plan for cloud {p.target.cloud}",
                             hint="run `govcloud plan --out` again")
        digests = {r.id: request_digest(r) for r in p.target.requests}
        if digests != entry.get("requests"):
            raise InputError("the requests changed since the plan was made (stale plan)",
                             hint="run `govcloud plan --out PLANFILE` again and review it")
        if entry.get("fingerprint") != p.plan.fingerprint:
            raise InputError(f"cloud {p.target.cloud} changed since the plan was made "
                             "(stale plan)",
                             hint="run `govcloud plan --out PLANFILE` again and review it")


def _check_approvals(targets: list[Target], validated: Validated, policies: Path | None,
                     skip: bool, doc_paths: list[Path], inventory: Path | None) -> None:
    """MLPS >= 3 requests need the three approvals (docs/audit.md), checked against the
    inventory's signed roles, for this cloud and the waivers and policies in force now."""
    from govcloud.approvals import apply_problems, needs_approval, policy_digests
    from govcloud.cli.common import resolve_inventory
    from govcloud.roles import load_roles

    needed = [r for t in targets for r in t.requests if needs_approval(r)]
    if not needed:
        return
    if skip:
        others = sorted({t.cloud for t in targets if t.cloud != "devcloud"})
        if others:
            raise InputError(f"--skip-approvals-on-devcloud cannot skip approvals for cloud(s) "
                             f"{', '.join(others)}",
                             hint="collect the signatures with `govcloud approve`")
        record("apply --skip-approvals-on-devcloud", doc_paths,
               {"approvals": "skipped", "requests": [r.id for r in needed]})
        note(f"govcloud: warning: approvals skipped for {len(needed)} MLPS>=3 request(s) on "
             "devcloud (recorded in the audit log)")
        return
    problems = apply_problems([(t.cloud, t.requests) for t in targets],
                              load_roles(resolve_inventory(inventory)[0]),
                              validated.catalog.of_kind("Waiver"), policy_digests(policies),
                              dt.date.today())
    if problems:
        for problem in problems:
            note(f"  {problem}")
        note(f"govcloud: refused: {len(problems)} approval problem(s); nothing was sent to "
             "the cloud. Collect the missing signatures with `govcloud approve`.")
        raise typer.Exit(EXIT_FINDINGS)


def drift_rows(planned: Planned) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    want = {r.key for r in planned.desired}
    listed = set()
    for action in planned.plan.actions:
        r = action.resource
        listed.add(r.key)
        status = {"create": "missing", "update": "changed", "replace": "changed",
                  "delete": "not requested" if r.request else "unmanaged"}[action.op]
        rows.append({"cloud": planned.target.cloud, "status": status, "kind": r.kind,
                     "name": r.name, "tenant": r.tenant, "request": r.request,
                     "reason": action.reason,
                     "changes": [{"field": f, "actual": _jsonable(a), "requested": _jsonable(d)}
                                 for f, a, d in action.changes]})
    for r in planned.snapshot.resources:
        if r.key not in want and not r.request and r.key not in listed:
            rows.append({"cloud": planned.target.cloud, "status": "unmanaged", "kind": r.kind,
                         "name": r.name, "tenant": r.tenant, "request": None,
                         "reason": "in a managed project but not created by govcloud",
                         "changes": []})
    return rows


def _jsonable(value: Any) -> Any:
    from govcloud.provision.plan import _plain

    return _plain(value)


def _show_drift(rows: list[dict[str, Any]], fmt: str | None) -> None:
    fmt = fmt or ("table" if sys.stdout.isatty() else "json")
    if fmt not in ("table", "json"):
        raise InputError(f"unknown format '{fmt}'", hint="use table or json")
    summary: dict[str, int] = {}
    for row in rows:
        summary[row["status"]] = summary.get(row["status"], 0) + 1
    if fmt == "json":
        emit(json.dumps({"version": 1, "drift": rows, "summary": summary}, indent=2,
                        ensure_ascii=False), None)
        return
    if not rows:
        emit("No drift: the cloud matches the requests.", None)
        return
    lines = []
    for row in rows:
        lines.append(f"{row['status']:<14} {row['kind']:<17} {row['name']} "
                     f"(tenant {row['tenant']}, {row['request'] or 'unmanaged'})")
        for change in row["changes"]:
            lines.append(f"    {change['field']}: requested "
                         f"{json.dumps(change['requested'], ensure_ascii=False)}, actual "
                         f"{json.dumps(change['actual'], ensure_ascii=False)}")
    lines.append("Drift: " + ", ".join(f"{v} {k}" for k, v in sorted(summary.items())) + ".")
    emit("\n".join(lines), None)


__all__ = ["EXIT_USAGE", "register"]
