"""Two real Debian 12 targets hardened in one run (audit, forks 2), as a fleet is.

Each target is its own systemd-nspawn machine in its own network namespace, reached over its own
SSH key; one inventory group names both. A target that cannot boot FAILS the test with the reason
(run scripts/hardening-deps.sh as root). About a minute: boot two, two audits.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from govcloud.cli import harden_cmd

pytestmark = pytest.mark.integration
NAMES = ("fleeta", "fleetb")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    from govcloud.hardening.target import fleet, fleet_inventory

    with pytest.MonkeyPatch.context() as mp, ExitStack() as stack:
        state = tmp_path_factory.mktemp("state")
        mp.setenv("GOVCLOUD_STATE_DIR", str(state))
        try:
            targets = stack.enter_context(fleet(NAMES))
        except Exception as err:  # noqa: BLE001 - the reason is the test result
            pytest.fail(f"cannot boot the two Debian 12 targets: {err}", pytrace=False)
        yield targets, fleet_inventory(targets, state / "fleet.yml")


def harden(*args: str):
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    harden_cmd.register(app)
    return CliRunner().invoke(app, ["harden", *args])


@pytest.fixture(scope="module")
def audit(pair):
    _, inventory = pair
    return harden("--check", "-i", str(inventory), "--forks", "2", "-o", "json")


def _runs(state: Path) -> list[Path]:
    return sorted((state / "hardening" / "runs").iterdir())


def test_one_run_audits_both_hosts_each_with_its_own_results(audit):
    assert audit.exit_code == 1, audit.output  # fresh hosts are non-compliant
    doc = json.loads(audit.stdout)
    assert doc["errors"] == []
    assert set(doc["hosts"]) == set(NAMES)
    for name in NAMES:
        controls = doc["hosts"][name]["controls"]
        assert controls["MLPS3-AC-02"]["status"] == "non-compliant", name
        assert len(controls) >= 20, name  # every control evaluated on every host
        assert f"harden: {name}: non-compliant" in audit.stderr
    bad = {(f["target"], f["policy"]) for f in doc["findings"]}
    assert {("Host/fleeta", "MLPS3-AC-02"), ("Host/fleetb", "MLPS3-AC-02")} <= bad
    assert doc["hardening"]["forks"] == 2


def test_the_two_hosts_ran_at_the_same_time(audit, pair):
    assert audit.exit_code == 1, audit.output
    state = Path(os.environ["GOVCLOUD_STATE_DIR"])
    run = _runs(state)[-1]
    command = json.loads((run / "artifacts/run/command").read_text())["command"]
    assert command[command.index("--forks") + 1] == "2"
    spans: dict[str, list[datetime]] = {}
    for path in (run / "artifacts/run/job_events").glob("*.json"):
        event = json.loads(path.read_text())
        host = (event.get("event_data") or {}).get("host")
        if host in NAMES and event.get("event", "").startswith("runner_on_"):
            spans.setdefault(host, []).append(datetime.fromisoformat(event["created"]))
    a, b = (sorted(spans[n]) for n in NAMES)
    # each host's tasks began before the other host's tasks were over: one run, not two in turn
    assert a[0] < b[-1] and b[0] < a[-1]


def test_a_host_that_is_gone_hides_nothing_of_the_other(audit, pair):
    assert audit.exit_code == 1, audit.output
    from govcloud.hardening.target import down

    assert down("fleetb")
    res = harden("--check", "-i", str(pair[1]), "--forks", "2", "--tags", "MLPS3-AC-02",
                 "-o", "json")
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    assert doc["hosts"]["fleetb"]["reachable"] is False
    assert [e["path"] for e in doc["errors"]][:1] == ["Host/fleetb"]
    assert not [e for e in doc["errors"] if "fleeta" in (e["path"] or "")]
    assert doc["hosts"]["fleeta"]["reachable"] is True
    assert doc["hosts"]["fleeta"]["controls"]["MLPS3-AC-02"]["status"] == "non-compliant"
    assert "harden: fleetb: unreachable" in res.stderr
