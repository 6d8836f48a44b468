"""A fleet in one run: an inventory of groups, forks, and per-host results (ansible-runner faked).

``run_baseline`` runs for real down to ansible-runner; the runner object is replaced by one that
replays the events a 4-host run with forks interleaves, so the inventory walk, the results of
each host, the saved record and the CLI's exit code are the real ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from govcloud.cli import harden_cmd
from govcloud.errors import ExecutionError, InputError
from govcloud.hardening import load_latest, run_baseline
from govcloud.hardening import runner as hrunner
from govcloud.hardening.controls import default_playbooks_dir
from govcloud.hardening.target import fleet, fleet_inventory, machine

INVENTORY = {
    "all": {
        "hosts": {"bastion": {"ansible_host": "10.0.0.2"}},
        "children": {
            "prod": {
                "children": {
                    "web": {"hosts": {"web-1": {}, "web-2": {}}},
                    "db": {"hosts": {"db-1": {}, "web-1": {}}},  # a host in two groups
                }
            },
            "spare": {"hosts": {"spare-1": {}}},
        },
    }
}


def ev(kind: str, host: str, task: str, **res) -> dict:
    return {"event": kind, "event_data": {"host": host, "task": task, "task_action": "x",
                                          "res": res}}


# What forks=4 produces: hosts interleaved task by task. web-1 is compliant, web-2 would need a
# fix, db-1 is unreachable, bastion fails a task outside any control, spare-1 never reports
# (the run ended before it was reached).
EVENTS = [
    ev("runner_on_ok", "web-1", "MLPS3-AC-02 | sshd", changed=False),
    ev("runner_on_unreachable", "db-1", "Gathering Facts", msg="ssh: connect timed out"),
    ev("runner_on_ok", "web-2", "MLPS3-AC-02 | sshd", changed=True),
    ev("runner_on_failed", "bastion", "Refuse to lock out the management connection",
       msg="Ansible logs in as root"),
    ev("runner_on_ok", "web-1", "MLPS3-IA-04 | idle timeout", changed=False),
    ev("runner_on_ok", "web-2", "MLPS3-IA-04 | idle timeout", changed=False),
]
STATS = {"ok": {"web-1": 2, "web-2": 2}, "changed": {"web-2": 1}, "dark": {"db-1": 1},
         "failures": {"bastion": 1}}


class FakeRunner:
    def __init__(self, handler, events, stats) -> None:
        self.handler, self.events, self.stats = handler, events, stats
        self.status, self.rc = "failed", 2

    def run(self) -> None:
        for event in self.events:
            self.handler(event)


@pytest.fixture()
def fake_ansible(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path / "state"))
    seen: dict = {"events": EVENTS, "stats": STATS}

    def prepare_runner(pdd, playbooks, inventory, **kw):
        seen.update(kw, inventory=inventory)
        return FakeRunner(kw["event_handler"], seen["events"], seen["stats"])

    monkeypatch.setattr(hrunner, "prepare_runner", prepare_runner)
    inv = tmp_path / "fleet.yml"
    inv.write_text(yaml.safe_dump(INVENTORY))
    return inv, seen


def test_every_host_of_every_group_gets_its_own_result(fake_ansible):
    inv, seen = fake_ansible
    run = run_baseline(inv, check=True, forks=4)
    assert seen["forks"] == 4
    verdicts = {name: host.verdict for name, host in run.hosts.items()}
    assert verdicts == {"web-1": "compliant", "web-2": "non-compliant", "db-1": "unreachable",
                        "bastion": "error", "spare-1": "error"}
    # a failed or unreachable host hides nothing of the others
    assert {c: r.status for c, r in run.hosts["web-1"].controls.items()} == {
        "MLPS3-AC-02": "compliant", "MLPS3-IA-04": "compliant"}
    assert run.hosts["web-2"].controls["MLPS3-AC-02"].status == "non-compliant"
    assert [f.target for f in run.report.findings] == ["Host/web-2"]
    erred = {e.path.split("#")[0] for e in run.report.errors}
    assert erred == {"Host/bastion", "Host/db-1", "Host/spare-1"}
    assert "ended before it ran a task" in run.hosts["spare-1"].other_failures[0]
    assert run.report.exit_code("low") == 1
    assert run.report.sections["hardening"]["forks"] == 4
    # saved per host for `govcloud audit`
    latest = load_latest()
    assert latest is not None and latest["forks"] == 4
    assert latest["hosts"]["web-1"]["compliant"] is True
    assert latest["hosts"]["db-1"]["reachable"] is False
    assert latest["hosts"]["web-2"]["controls"]["MLPS3-AC-02"]["status"] == "non-compliant"


def test_a_run_that_ended_without_its_summary_leaves_no_host_compliant(fake_ansible):
    inv, seen = fake_ansible
    seen["events"] = [ev("runner_on_ok", h, "MLPS3-AC-02 | sshd", changed=False)
                      for h in ("web-1", "web-2")]
    seen["stats"] = None  # ansible-runner's stats when the run was stopped or timed out
    run = run_baseline(inv, check=True, forks=2)
    assert not [h for h in run.hosts.values() if h.compliant]
    assert run.hosts["web-1"].controls["MLPS3-AC-02"].status == "compliant"  # kept as seen
    assert run.hosts["web-1"].controls["MLPS3-IA-01"].status == "error"  # never reached
    assert run.report.exit_code("never") == 1


def test_a_run_in_which_no_host_ran_a_task_is_an_execution_error(fake_ansible):
    inv, seen = fake_ansible
    seen["events"], seen["stats"] = [], None  # e.g. Ansible refused the playbook or inventory
    with pytest.raises(ExecutionError, match="no host results") as err:
        run_baseline(inv, check=True, forks=4)
    assert err.value.exit_code == 3


@pytest.mark.parametrize("forks", [0, -1, hrunner.MAX_FORKS + 1])
def test_forks_out_of_range_is_an_input_error_before_anything_runs(fake_ansible, forks):
    inv, seen = fake_ansible
    with pytest.raises(InputError, match="forks"):
        run_baseline(inv, check=True, forks=forks)
    assert "inventory" not in seen


def test_forks_reach_ansible_playbook(tmp_path):
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump(INVENTORY))
    pdd = tmp_path / "pdd"
    pdd.mkdir(mode=0o700)
    prepared = hrunner.prepare_runner(pdd, default_playbooks_dir().resolve(), inv, limit=None,
                                      cmdline=[], extravars={}, event_handler=lambda e: True,
                                      timeout=60, forks=4)
    command = prepared.config.command
    assert command[command.index("--forks") + 1] == "4"
    (tmp_path / "pdd2").mkdir(mode=0o700)
    default = hrunner.prepare_runner(tmp_path / "pdd2", default_playbooks_dir().resolve(), inv,
                                     limit=None, cmdline=[], extravars={},
                                     event_handler=lambda e: True, timeout=60)
    assert "--forks" not in default.config.command  # Ansible's own default (5)


@pytest.fixture()
def app():
    a = typer.Typer()

    @a.callback()
    def _root() -> None:
        pass

    harden_cmd.register(a)
    return a


def test_cli_forks_a_fleet_and_says_each_host(fake_ansible, app):
    inv, seen = fake_ansible
    result = CliRunner().invoke(app, ["harden", "--check", "-i", str(inv), "--forks", "4",
                                      "-o", "json"])
    assert result.exit_code == 1, result.output
    assert seen["forks"] == 4
    doc = json.loads(result.stdout)
    assert set(doc["hosts"]) == {"web-1", "web-2", "db-1", "bastion", "spare-1"}
    assert doc["hosts"]["web-1"]["compliant"] is True
    assert "harden: db-1: unreachable" in result.stderr
    assert "harden: web-2: non-compliant" in result.stderr


def test_cli_bad_forks_is_a_usage_error(fake_ansible, app):
    inv, _ = fake_ansible
    result = CliRunner().invoke(app, ["harden", "-i", str(inv), "--forks", "0"])
    assert result.exit_code == 2, result.output
    assert "forks" in result.output and "Traceback" not in result.output


def _target(tmp_path: Path, name: str, index: int) -> machine.Target:
    folder = tmp_path / name
    folder.mkdir()
    t = machine.Target(name=name, mode="nspawn", index=index, address=f"10.213.{index}.2",
                       pid=1, netns=f"gc-{name}", dir=str(folder))
    machine._write_inventory(t)
    return t


def test_fleet_inventory_is_one_group_of_the_targets_own_hosts(tmp_path):
    targets = [_target(tmp_path, f"f{i}", 80 + i) for i in range(1, 5)]
    path = fleet_inventory(targets, tmp_path / "fleet.yml")
    doc = yaml.safe_load(path.read_text())
    hosts = doc["all"]["children"]["fleet"]["hosts"]
    assert sorted(hosts) == ["f1", "f2", "f3", "f4"]
    addresses = {h["ansible_host"] for h in hosts.values()}
    assert addresses == {f"10.213.{80 + i}.2" for i in range(1, 5)}
    assert len({h["ansible_ssh_private_key_file"] for h in hosts.values()}) == 4  # own keys
    assert hrunner._inventory_hosts(path) == ["f1", "f2", "f3", "f4"]
    assert path.stat().st_mode & 0o777 == 0o600


def test_fleet_refuses_repeated_or_existing_names_and_touches_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path / "state"))
    with pytest.raises(InputError, match="repeat"), fleet(["a1", "a1"]):
        pass
    existing = machine.targets_dir() / "a2"
    existing.mkdir()
    (existing / "target.json").write_text("{}")
    with pytest.raises(InputError, match="already exist"), fleet(["a1", "a2"]):
        pass
    assert (existing / "target.json").read_text() == "{}"  # not torn down
    assert sorted(p.name for p in machine.targets_dir().iterdir()) == ["a2"]  # a1 never made
