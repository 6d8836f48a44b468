"""Run the baseline through ansible-runner: the only module of govcloud that imports it.

Each run gets a fresh 0700 private_data_dir under ``<state>/hardening/runs/<run-id>/``
(ansible-runner persists ``env/cmdline`` and would silently reuse ``--check`` on a later run);
``suppress_env_files`` keeps variables out of ``env/``; results come from the event stream and
``stats``, never from stdout. ``artifacts/`` stays as evidence, minus the controller environment
that ansible-runner copies into ``artifacts/<id>/command``.

**Environment.** Ansible gets an allow-list, never the controller's whole environment (which may
hold ``OS_PASSWORD``, ``GOVCLOUD_CREDENTIALS_KEY``, ``GOVCLOUD_AUDIT_KEY``...): ``PATH``, ``HOME``,
``USER``/``LOGNAME``, ``LANG``/``LANGUAGE``/``LC_*``, ``TZ``, ``TMPDIR``, ``SSH_AUTH_SOCK``, the
``ANSIBLE_*`` settings govcloud chooses (``_ANSIBLE_ENV``) and the few variables ansible-runner
sets for its own event callback (``_RUNNER_VARS``). A user's own ``ANSIBLE_*`` variables are not
passed (they could switch host-key checking off or load plugins): settings go in the inventory.

**Host keys** are checked (``ANSIBLE_HOST_KEY_CHECKING=True``): a host must be in the user's
``~/.ssh/known_hosts`` (or a ``UserKnownHostsFile`` the inventory names). The only exception is
govcloud's own throw-away test targets (``govcloud target up``, under ``<state>/targets/``): the
inventory govcloud writes for them marks each host ``govcloud_test_target: true`` and gives it
its own ``ansible_ssh_common_args`` without checking (they get fresh host keys at every boot and
are reached only over a private network namespace on this machine).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from govcloud.errors import ExecutionError, InputError
from govcloud.fsutil import read_regular, write_atomic
from govcloud.hardening.controls import default_playbooks_dir, load_controls
from govcloud.hardening.results import HostResult, collect, finalize, summary_counts, to_report
from govcloud.model import Report
from govcloud.state import ensure_state_subdir

PLAYBOOK = "site.yml"
_MAX_INVENTORY_BYTES = 10 * 1024 * 1024
MAX_FORKS = 256  # Ansible's own default is 5; a controller rarely serves more hosts at once
# The Ansible settings govcloud chooses.
_ANSIBLE_ENV = {
    "ANSIBLE_PIPELINING": "True",  # one SSH round trip per module instead of three
    "ANSIBLE_HOST_KEY_CHECKING": "True",  # test targets opt out in their own inventory
    "ANSIBLE_RETRY_FILES_ENABLED": "False",
    "ANSIBLE_NOCOLOR": "True",
    "ANSIBLE_FORCE_COLOR": "False",
    "ANSIBLE_DEPRECATION_WARNINGS": "False",
}


# What Ansible (and ssh, which it runs) needs from the controller environment.
_CONTROLLER_VARS = frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR",
                              "SSH_AUTH_SOCK"})
_CONTROLLER_PREFIXES = ("LC_",)
# What ansible-runner sets for its event-stream callback (kept with ansible-runner's values).
_RUNNER_VARS = frozenset({"ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_RETRY_FILES_ENABLED",
                          "ANSIBLE_CACHE_PLUGIN", "ANSIBLE_CACHE_PLUGIN_CONNECTION",
                          "AWX_ISOLATED_DATA_DIR", "RUNNER_OMIT_EVENTS",
                          "RUNNER_ONLY_FAILED_EVENTS"})


def ansible_env(controller: Mapping[str, str], prepared: Mapping[str, str],
                ours: Mapping[str, str], callback_dir: str) -> dict[str, str]:
    """The environment Ansible runs with: the allow-list, never the whole controller env.

    ``controller``: our own environment; ``prepared``: what ansible-runner built (a copy of the
    controller's plus its own); ``ours``: the settings govcloud chooses (they win).
    """
    env = {k: v for k, v in controller.items()
           if k in _CONTROLLER_VARS or k.startswith(_CONTROLLER_PREFIXES)}
    env.update({k: v for k, v in prepared.items() if k in _RUNNER_VARS})
    # ansible-runner prepends a controller ANSIBLE_CALLBACK_PLUGINS; only its own folder counts
    env["ANSIBLE_CALLBACK_PLUGINS"] = callback_dir
    env.update(ours)
    return env


@dataclass
class HardenRun:
    run_id: str
    mode: str  # "audit" | "remediate"
    hosts: dict[str, HostResult]
    report: Report
    duration_s: float
    changed: int
    status: str
    rc: int
    record: Path


def _inventory_hosts(inventory: Path) -> list[str]:
    """Host names of a YAML inventory (used to report hosts that produced no event at all)."""
    try:
        data = yaml.safe_load(read_regular(inventory, max_bytes=_MAX_INVENTORY_BYTES))
    except (OSError, yaml.YAMLError):
        return []
    names: set[str] = set()

    def walk(group: Any) -> None:
        if not isinstance(group, dict):
            return
        names.update((group.get("hosts") or {}).keys())
        for child in (group.get("children") or {}).values():
            walk(child)

    if isinstance(data, dict):
        for group in data.values():
            walk(group)
    return sorted(names)


def run_baseline(
    inventory: Path,
    *,
    check: bool,
    limit: str | None = None,
    tags: Sequence[str] = (),
    extravars: Mapping[str, Any] | None = None,
    playbooks_dir: Path | None = None,
    timeout: int = 1800,
    forks: int | None = None,
) -> HardenRun:
    """Run the baseline (audit when ``check``), save the results, return them with a Report.

    Every host of the inventory (all its groups) is hardened in this one ansible-playbook run,
    ``forks`` of them at a time (None: Ansible's default, 5); each gets its own results.
    """
    if forks is not None and not 1 <= forks <= MAX_FORKS:
        raise InputError(f"forks {forks} is out of range", hint=f"use 1 to {MAX_FORKS}")
    playbooks = (playbooks_dir or default_playbooks_dir()).resolve()
    if not (playbooks / PLAYBOOK).is_file():
        raise InputError(f"no {PLAYBOOK} in {playbooks}", hint="pass --playbooks DIR")
    inventory = inventory.resolve()
    if not inventory.is_file():  # is_file: a regular file (a FIFO or device is refused)
        raise InputError(
            f"inventory {inventory} not found (or not a regular file)",
            hint="pass --inventory FILE or boot a target: govcloud target up",
        )
    controls = load_controls(playbooks)
    mode = "audit" if check else "remediate"
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{mode}"
    runs = ensure_state_subdir("hardening") / "runs"
    runs.mkdir(mode=0o700, exist_ok=True)
    pdd = runs / run_id
    pdd.mkdir(mode=0o700)

    cmdline = ["--check", "--diff"] if check else []
    if tags:
        cmdline += ["--tags", ",".join(tags)]
    events: list[dict[str, Any]] = []

    def keep(ev: dict[str, Any]) -> bool:
        events.append(ev)
        return True

    started = time.monotonic()
    # ssh master connections of this run only (a short path: a socket path has ~100 bytes): a
    # run never rides on a connection an earlier run opened under other settings (host-key
    # checking included), and leaves none behind for a later one.
    control_dir = tempfile.mkdtemp(prefix="gc-ssh-")
    try:
        r = prepare_runner(pdd, playbooks, inventory, limit=limit, cmdline=cmdline,
                           extravars=extravars, event_handler=keep, timeout=timeout,
                           ssh_control_dir=control_dir, forks=forks)
        r.run()
    except Exception as err:  # ansible-runner raises bare exceptions for setup problems
        raise ExecutionError(
            f"ansible-runner could not start the baseline run: {err}", hint=f"artifacts in {pdd}"
        ) from err
    finally:
        _close_masters(control_dir)
    duration = time.monotonic() - started
    _scrub_artifacts(pdd)

    seen = collect(events, check)
    if not seen:  # not one host ran a task: Ansible itself failed (a failed host is exit 1)
        raise ExecutionError(
            f"the baseline run produced no host results (status {r.status}, rc {r.rc})",
            hint=f"check the inventory and --limit; ansible output in {pdd}/artifacts/run/stdout",
        )
    hosts = finalize(seen, controls, r.stats, _inventory_hosts(inventory) if not limit else ())
    changed = sum((r.stats or {}).get("changed", {}).values()) if r.stats else 0
    run_info = {
        "run_id": run_id,
        "mode": mode,
        "duration_s": round(duration, 2),
        "changed": changed,
        "ansible_status": r.status,
        "ansible_rc": r.rc,
        "inventory": str(inventory),
        "limit": limit,
        "forks": forks,
        "tags": list(tags),
        "counts": summary_counts(hosts),
        "artifacts": str(pdd / "artifacts" / "run"),
    }
    report = to_report(hosts, controls, mode, run_info)
    record = save_results(run_info, hosts)
    return HardenRun(
        run_id=run_id,
        mode=mode,
        hosts=hosts,
        report=report,
        duration_s=duration,
        changed=changed,
        status=r.status,
        rc=r.rc,
        record=record,
    )


def _close_masters(control_dir: str) -> None:
    """Stop this run's ssh master connections and remove their folder."""
    for socket_path in Path(control_dir).iterdir():
        try:
            subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "x"],
                           capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            pass  # the master ends on its own after ControlPersist
    shutil.rmtree(control_dir, ignore_errors=True)


def prepare_runner(pdd: Path, playbooks: Path, inventory: Path, *, limit: str | None,
                   cmdline: Sequence[str], extravars: Mapping[str, Any] | None,
                   event_handler: Any, timeout: int, ssh_control_dir: str | None = None,
                   forks: int | None = None) -> Any:
    """An ansible-runner ``Runner``, configured and ready to ``run()``, whose environment is the
    allow-list (``ansible_env``): ansible-runner itself would copy all of ``os.environ``."""
    from ansible_runner.interface import init_runner  # deferred: ~0.3 s other commands skip
    from ansible_runner.utils import get_callback_dir

    ours = dict(_ANSIBLE_ENV)
    ours["ANSIBLE_LOCAL_TEMP"] = str(pdd / "tmp")
    ours["PATH"] = _path_with_ansible()
    if ssh_control_dir is not None:
        ours["ANSIBLE_SSH_CONTROL_PATH_DIR"] = ssh_control_dir
    runner = init_runner(
        private_data_dir=str(pdd),
        project_dir=str(playbooks),
        playbook=PLAYBOOK,
        inventory=str(inventory),
        limit=limit,
        forks=forks,
        cmdline=" ".join(cmdline) or None,
        extravars=dict(extravars or {}),
        envvars=ours,
        ident="run",
        event_handler=event_handler,
        quiet=True,
        suppress_env_files=True,
        timeout=timeout,
    )
    runner.config.env = ansible_env(os.environ, runner.config.env, ours, get_callback_dir())
    return runner


def _path_with_ansible() -> str:
    """PATH with the folder of ansible-playbook: the venv's bin when govcloud runs from a venv."""
    path = os.environ.get("PATH", "/usr/bin:/bin")
    venv_bin = str(Path(sys.executable).parent)
    if shutil.which("ansible-playbook", path=venv_bin) and venv_bin not in path.split(os.pathsep):
        return venv_bin + os.pathsep + path
    return path


def _tail(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no output"
    return " | ".join(lines[-3:])[-400:]


def _scrub_artifacts(pdd: Path) -> None:
    """Drop the controller environment ansible-runner copies into artifacts/<id>/command."""
    cmd_file = pdd / "artifacts" / "run" / "command"
    try:
        data = json.loads(cmd_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    data["env"] = {
        k: v for k, v in (data.get("env") or {}).items() if k in _ANSIBLE_ENV or k == "PATH"
    }
    write_atomic(cmd_file, json.dumps(data).encode("utf-8"), secret=True)


def save_results(run_info: Mapping[str, Any], hosts: Mapping[str, HostResult]) -> Path:
    """Write the run's results for ``govcloud audit`` (``latest.json`` is the newest run)."""
    folder = ensure_state_subdir("hardening")
    doc = {
        "version": 1,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        **run_info,
        "hosts": {h: hosts[h].to_json() for h in sorted(hosts)},
    }
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    path = folder / f"{run_info['run_id']}.json"
    for target in (path, folder / "latest.json"):
        write_atomic(target, text.encode("utf-8"), secret=True)
    return path


def load_latest() -> dict[str, Any] | None:
    """The newest saved hardening results (for ``govcloud audit``), or None if never run."""
    path = ensure_state_subdir("hardening") / "latest.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise InputError(f"{path} is not valid JSON", hint=f"delete it and rerun: {err}") from None
