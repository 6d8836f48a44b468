"""A ``ProvisionService`` on a fake cloud, for tests of the service and of the commands.

The CLI takes its service from typer's context object: ``CliRunner().invoke(app, args,
obj=FakeProvision(...).service)``; no module global is patched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govcloud.cloud.apply import Outcome
from govcloud.cloud.read import Snapshot
from govcloud.provision.desired import Resource
from govcloud.provision.plan import Action, Plan
from govcloud.provision.service import ProvisionService
from tests.unit.helpers import FakeCloud, policies_once


@dataclass
class FakeProvision:
    """A cloud holding ``actual`` (and ``images``); records what each apply would carry out.

    ``reads`` count the cloud reads; ``executed`` the actions of each executor run; ``on_run``
    (if set) is called before an executor run and may raise, as a failing write does."""

    actual: list[Resource] = field(default_factory=list)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: Path | None = None
    on_run: Callable[[Plan], None] | None = None
    snapshot: Callable[[], Snapshot] | None = None
    executed: list[list[tuple[str, str, str]]] = field(default_factory=list)
    reads: list[bool] = field(default_factory=list)
    clouds: list[str] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def _read(self, cloud: Any, desired: list[Resource], managed: set[str], *,
              refresh: bool) -> Snapshot:
        self.reads.append(refresh)
        if self.snapshot is not None:
            return self.snapshot()
        return Snapshot(resources=list(self.actual), images=dict(self.images))

    def _connect(self, name: str) -> FakeCloud:
        self.clouds.append(name)
        return FakeCloud()

    def _executor(self, cloud: Any, snap: Snapshot, options: Any,
                  progress: Callable[[str], None]) -> _Executor:
        return _Executor(self, progress)

    @property
    def service(self) -> ProvisionService:
        state = self.state
        return ProvisionService(
            connect=self._connect, read=self._read, executor=self._executor,
            load_policies=policies_once, sleep=self.sleeps.append,
            **({"state": lambda: state} if state is not None else {}))


class _Executor:
    def __init__(self, fake: FakeProvision, progress: Callable[[str], None]) -> None:
        self.fake, self.progress, self.outcome = fake, progress, Outcome()

    def run(self, plan: Plan) -> Outcome:
        if self.fake.on_run is not None:
            self.fake.on_run(plan)
        self.fake.executed.append([(a.op, a.resource.kind, a.resource.name)
                                   for a in plan.actions])
        for i, action in enumerate(plan.actions, 1):
            self.outcome.done.append(action)
            self.progress(f"[{i}/{len(plan.actions)}] {_said(action)}")
        return self.outcome


def _said(action: Action) -> str:
    r = action.resource
    return f"{action.op} {r.kind} {r.name} (tenant {r.tenant})"
