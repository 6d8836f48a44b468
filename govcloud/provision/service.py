"""Provisioning as a service: what `plan`, `apply`, `drift` and `destroy` do, without a console.

``ProvisionService`` holds what it reaches out through, passed in rather than imported by name,
so a test hands it a fake cloud and clock: ``connect`` (cloud name -> ``cloud.Cloud``), ``read``
(``cloud.read_cloud``), ``executor`` (``cloud.apply.Executor``), the clock (``today``, ``now``,
``sleep``), the state folder (per-cloud locks, credentials bundles), the policy loader, and two
callbacks for what a long run has to say while it runs (``progress``: one line per finished
action; ``notice``: a sentence, such as a resumed round). Every step returns a result (frozen
dataclasses) or raises a ``GovcloudError``; the CLI (``cli/provision_cmd.py``) prints, records
in the audit log and exits.

The steps, in the order apply takes them: ``gate_requests`` (policies on the requests),
``targets`` (requests grouped by cloud), ``approvals`` (MLPS >= 3), ``plan`` (read the cloud,
diff), ``gate_planned`` (live-cloud policies on the planned state), ``cloud_lock`` and
``execute`` (carry the plan out, resuming when an API drops a connection).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govcloud.documents import Document
from govcloud.errors import CloudError, InputError
from govcloud.provision.desired import Resource, desired_state
from govcloud.provision.plan import Action, Plan, diff, foreign_deletions, is_copy
from govcloud.validate import Validated

if TYPE_CHECKING:
    from govcloud.cloud.apply import Executor, Options, Outcome
    from govcloud.cloud.read import Snapshot
    from govcloud.model import Finding

RESUME_ROUNDS = 3  # an apply whose connection dropped re-reads the cloud and goes on
DEVCLOUD = "devcloud"  # the only cloud whose approvals --skip-approvals-on-devcloud skips


def _quiet(_message: str) -> None:
    return None


def _connect(name: str) -> Any:
    from govcloud.cloud import connect

    return connect(name)


def _read(cloud: Any, desired: list[Resource], managed: set[str], *, refresh: bool) -> Snapshot:
    from govcloud.cloud import read_cloud

    return read_cloud(cloud, desired, managed, refresh=refresh)


def _executor(cloud: Any, snap: Snapshot, options: Options,
              progress: Callable[[str], None]) -> Executor:
    from govcloud.cloud.apply import Executor

    return Executor(cloud, snap, options, progress)


def _load_policies(path: Path | None) -> Any:
    from govcloud.policy import load_policies

    return load_policies(path)


def _transient(exc: BaseException | None) -> bool:
    from govcloud.cloud.session import transient

    return transient(exc)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _state_dir() -> Path:
    from govcloud.state import state_dir

    return state_dir()


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Target:
    """The requests going to one cloud."""

    cloud: str
    requests: tuple[Document, ...]

    @property
    def ids(self) -> set[str]:
        return {r.id for r in self.requests}


@dataclass(frozen=True)
class Planned:
    """One cloud read and planned: the open connection (closed by ``ProvisionService.close``),
    what the requests ask for, what the cloud holds and the plan between them."""

    target: Target
    cloud: Any  # govcloud.cloud.Cloud
    desired: tuple[Resource, ...]
    snapshot: Any  # govcloud.cloud.read.Snapshot
    plan: Plan
    prune: bool = False
    destroy: bool = False

    @property
    def foreign_deletions(self) -> list[Action]:
        """Deletions of what no managed request made: named before anything is deleted."""
        return foreign_deletions(self.plan)


@dataclass(frozen=True)
class RequestGate:
    """The policies on the requests (and the consolidation rules): the gate record for the
    audit log, and the findings that refuse the run (empty: go on)."""

    requests: tuple[Document, ...]
    record: dict[str, Any]
    blocking: tuple[Finding, ...]
    fail_on: str

    @property
    def refused(self) -> list[str]:
        return sorted({f.target.partition("/")[2] for f in self.blocking})

    @property
    def hard(self) -> int:
        return sum(1 for f in self.blocking if f.hard)


@dataclass(frozen=True)
class Refusal:
    """A live-cloud policy finding on the state a plan leaves."""

    cloud: str
    finding: Finding
    text: str


@dataclass(frozen=True)
class ApprovalCheck:
    """MLPS >= 3 requests and their approvals: ``problems`` refuse the apply; ``skipped`` says
    the devcloud opt-out was used (the CLI records it)."""

    needed: tuple[str, ...] = ()
    skipped: bool = False
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Applied:
    """A plan carried out: the plan as reviewed, the one the last round ran (a resumed apply
    re-plans), what was done and the write calls the cloud counted."""

    target: Target
    plan: Plan
    last_plan: Plan
    outcome: Outcome
    writes: int
    rounds: int

    @property
    def passwords_written(self) -> list[str]:
        return list(self.outcome.passwords_written)


@dataclass(frozen=True)
class ExecuteOptions:
    workers: int = 8
    encrypted_volume_type: str = "encrypted"
    credentials_key_file: Path | None = None
    credentials_dir: Path | None = None  # default: <state>/credentials


# ---------------------------------------------------------------- the service


@dataclass(frozen=True)
class ProvisionService:
    """Plan, apply, drift and destroy for the CLI (or any caller), dependencies passed in."""

    connect: Callable[[str], Any] = _connect
    read: Callable[..., Snapshot] = _read
    executor: Callable[..., Executor] = _executor
    load_policies: Callable[[Path | None], Any] = _load_policies
    transient: Callable[[BaseException | None], bool] = _transient
    today: Callable[[], dt.date] = dt.date.today
    now: Callable[[], dt.datetime] = _utc_now
    sleep: Callable[[float], None] = time.sleep
    state: Callable[[], Path] = _state_dir  # holds locks/ and credentials/
    progress: Callable[[str], None] = _quiet
    notice: Callable[[str], None] = _quiet
    resume_rounds: int = RESUME_ROUNDS
    environ: dict[str, str] | None = field(default=None, repr=False)  # None: os.environ

    def reporting(self, progress: Callable[[str], None],
                  notice: Callable[[str], None]) -> ProvisionService:
        return replace(self, progress=progress, notice=notice)

    # ---- before any API call

    def gate_requests(self, validated: Validated, policy_set: Any, fail_on: str,
                      settings: Any) -> RequestGate:
        """Findings of the policies and rules on the requests at or above ``fail_on``, and any
        of a hard rule whatever ``fail_on``, ``--policies`` or waivers say, refuse the run
        before any call. ``settings`` is the ``gate.GateSettings`` to record."""
        from govcloud.check import run_check
        from govcloud.providers import builtin_providers

        requests = requests_of(validated)
        report = run_check(validated, policy_set, today=self.today(),
                           providers=builtin_providers())
        ids = {f"ResourceRequest/{r.id}" for r in requests}
        blocking = tuple(f for f in report.blocking(fail_on) if f.target in ids)
        return RequestGate(tuple(requests), settings.record(report, policy_set), blocking,
                           fail_on)

    def targets(self, validated: Validated, requests: Iterable[Document],
                os_cloud: str | None) -> list[Target]:
        """The requests by cloud: ``os_cloud``, else ``$OS_CLOUD``, else each request's
        Platform cloud."""
        environ = os.environ if self.environ is None else self.environ
        override = os_cloud or environ.get("OS_CLOUD")
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
        return [Target(c, tuple(sorted(r, key=lambda d: d.id)))
                for c, r in sorted(by_cloud.items())]

    def approvals(self, targets: Sequence[Target], validated: Validated, policy_set: Any,
                  inventory: Path | None, *, skip: bool) -> ApprovalCheck:
        """MLPS >= 3 requests need the three approvals (docs/audit.md), checked against the
        inventory's signed roles, for this cloud and the waivers and policies in force now.
        ``skip`` (devcloud only) skips them."""
        from govcloud.approvals import apply_problems, needs_approval, policy_set_digests
        from govcloud.roles import load_roles

        needed = tuple(r.id for t in targets for r in t.requests if needs_approval(r))
        if not needed:
            return ApprovalCheck()
        if skip:
            others = sorted({t.cloud for t in targets if t.cloud != DEVCLOUD})
            if others:
                raise InputError(f"--skip-approvals-on-devcloud cannot skip approvals for "
                                 f"cloud(s) {', '.join(others)}",
                                 hint="collect the signatures with `govcloud approve`")
            return ApprovalCheck(needed, skipped=True)
        problems = apply_problems([(t.cloud, t.requests) for t in targets],
                                  load_roles(inventory), validated.catalog.of_kind("Waiver"),
                                  policy_set_digests(policy_set), self.today())
        return ApprovalCheck(needed, problems=tuple(problems))

    # ---- reading and planning

    def plan(self, target: Target, validated: Validated, *, refresh: bool,
             destroy: bool = False, prune: bool = False) -> Planned:
        """Connect, read what the cloud holds for the target's projects, and diff."""
        cloud = self.connect(target.cloud)
        try:
            desired = desired_state(validated.catalog, list(target.requests))
            snap = self._read_target(target, cloud, desired, refresh=refresh)
        except BaseException:
            cloud.close()
            raise
        planned = Planned(target, cloud, tuple(desired), snap, Plan((), ""), prune, destroy)
        return replace(planned, plan=self._diff(planned, snap))

    def _read_target(self, target: Target, cloud: Any, desired: list[Resource], *,
                     refresh: bool) -> Snapshot:
        snap = self.read(cloud, desired, target.ids, refresh=refresh)
        if snap.conflicts:
            raise CloudError(f"cloud {target.cloud}: {snap.conflicts[0]}",
                             hint=f"{len(snap.conflicts)} conflict(s); nothing was changed")
        return snap

    @staticmethod
    def _diff(planned: Planned, snap: Snapshot) -> Plan:
        return diff([] if planned.destroy else list(planned.desired), snap.resources,
                    planned.target.ids, snap.broken, prune=planned.prune, copies=snap.copies)

    def gate_planned(self, planned: Sequence[Planned], validated: Validated, policy_set: Any,
                     fail_on: str) -> list[Refusal]:
        """Before any write: the live-cloud policies on the state the plan leaves (as audit
        would read it); a refusal means apply would make what audit flags."""
        from govcloud.provision.planned import check_planned, planned_documents

        refusals: list[Refusal] = []
        for p in planned:
            docs = planned_documents(p.desired, p.target.cloud, ids=p.snapshot.ids,
                                     images=p.snapshot.images)
            result = check_planned(validated.catalog, policy_set, docs, fail_on=fail_on,
                                   today=self.today())
            refusals.extend(Refusal(p.target.cloud, f, result.describe(f))
                            for f in result.blocking)
        return refusals

    @staticmethod
    def check_destroyable(planned: Planned) -> None:
        """Destroy removes only what the requests created: rules of a managed group go with it
        (the plan lists them); anything else govcloud did not create stops it."""
        deleting = {a.resource.key for a in planned.plan.actions}
        foreign = [r for r in planned.snapshot.resources
                   if r.request not in planned.target.ids and r.key not in deleting]
        if foreign:
            names = ", ".join(f"{r.kind} {r.name} (tenant {r.tenant})" for r in foreign[:10])
            raise CloudError(
                f"cloud {planned.target.cloud}: refusing to destroy: the projects hold "
                f"{len(foreign)} resource(s) govcloud did not create: {names}",
                hint="remove or move them first; destroy removes only what the requests created")

    @staticmethod
    def close(planned: Iterable[Planned]) -> None:
        for p in planned:
            p.cloud.close()

    # ---- writing

    @contextmanager
    def cloud_lock(self, cloud: str) -> Iterator[None]:
        """One apply/destroy per cloud at a time on this machine (``locks/<cloud>.lock``)."""
        locks = self.state() / "locks"
        locks.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = locks / f"{cloud}.lock"
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

    def execute(self, planned: Planned, options: ExecuteOptions | None = None) -> Applied:
        """Carry out the plan, under the cloud's lock. When an API drops a connection mid-call
        (a write cannot simply be sent again: it may have been done), read the cloud again,
        plan again and go on, as a re-run would: what the dropped call made is found by name
        and adopted, and an extra copy it left is deleted (``plan.DUPLICATE``)."""
        from govcloud.cloud.apply import Outcome

        options = options or ExecuteOptions()
        run_options = self._run_options(planned, options)
        total = Outcome()
        current = planned
        with self.cloud_lock(planned.target.cloud):
            for attempt in range(1, self.resume_rounds + 1):
                self._unlock_credentials(current.plan, run_options, options)
                executor = self.executor(current.cloud, current.snapshot, run_options,
                                         self.progress)
                try:
                    outcome = executor.run(current.plan)
                except CloudError as exc:
                    total.absorb(executor.outcome)
                    if attempt == self.resume_rounds or not self.transient(exc.__cause__):
                        raise
                    current = self._reread(current, exc, attempt)
                    continue
                total.absorb(outcome)
                if attempt > 1:
                    self._remove_copies(current, run_options, total)
                return Applied(planned.target, planned.plan, current.plan, total,
                               planned.cloud.counter.writes, attempt)
        raise AssertionError("unreachable: the last round returns or raises")

    def _remove_copies(self, planned: Planned, run_options: Options, total: Outcome) -> None:
        """A resumed apply may have made something twice: a dropped create that the cloud
        carried out after the re-read did not show it. Read once more and delete such copies
        now, rather than at the next run."""
        try:
            snap = self.read(planned.cloud, list(planned.desired), planned.target.ids,
                             refresh=False)
        except CloudError as exc:
            self.notice(f"cloud {planned.target.cloud}: not read again after resuming "
                        f"({exc.message}); a re-run removes any copy left")
            return
        plan = self._diff(planned, snap)
        copies = tuple(a for a in plan.actions if is_copy(a))
        if copies:
            self.notice(f"cloud {planned.target.cloud}: the resumed apply left {len(copies)} "
                        "second copy(ies) of a name (a create the cloud carried out although "
                        "its connection dropped): deleting them")
            executor = self.executor(planned.cloud, snap, run_options, self.progress)
            total.absorb(executor.run(Plan(copies, plan.fingerprint)))

    def _reread(self, planned: Planned, exc: CloudError, attempt: int) -> Planned:
        cloud = planned.target.cloud
        self.notice(f"cloud {cloud}: {exc.message}; the connection dropped: reading the cloud "
                    f"again and resuming (round {attempt + 1} of {self.resume_rounds})")
        self.sleep(2.0 * attempt)
        try:
            snap = self.read(planned.cloud, list(planned.desired), planned.target.ids,
                             refresh=True)
        except CloudError as again:  # the API is down, not blinking: say what failed first
            self.notice(f"cloud {cloud}: cannot read it again ({again.message})")
            raise exc from None
        if snap.conflicts:
            raise CloudError(f"cloud {cloud}: {snap.conflicts[0]}") from exc
        return replace(planned, snapshot=snap, plan=self._diff(planned, snap))

    def _run_options(self, planned: Planned, options: ExecuteOptions) -> Options:
        from govcloud.cloud.apply import Options

        return Options(workers=options.workers,
                       encrypted_volume_type=options.encrypted_volume_type,
                       departments={r.spec["tenant"]: r.spec["department"]
                                    for r in planned.target.requests})

    def _unlock_credentials(self, plan: Plan, run: Options, options: ExecuteOptions) -> None:
        """New users get initial passwords: load the key and check the bundles before the
        first cloud call (a rolled-back or unadopted bundle stops the run)."""
        from govcloud.provision import credentials

        if run.credentials_key is not None or not any(
                a.resource.kind == "user" and a.op in ("create", "replace")
                for a in plan.actions):
            return
        run.credentials_key = credentials.load_key(options.credentials_key_file)
        run.credentials_dir = options.credentials_dir or (self.state() / "credentials")
        for department in sorted({run.departments.get(a.resource.tenant, a.resource.tenant)
                                  for a in plan.actions if a.resource.kind == "user"}):
            credentials.check_writable(run.credentials_dir, run.credentials_key, department)


def requests_of(validated: Validated) -> list[Document]:
    requests = validated.requests()
    if not requests:
        raise InputError("no ResourceRequest under the given paths",
                         hint="point at request files (the inventory comes from --inventory)")
    return list(requests)
