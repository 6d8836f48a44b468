"""``govcloud harden`` (MLPS 2.0 level-3 baseline via Ansible) and ``govcloud target`` (test hosts).

Wiring: ``harden_cmd.register(app)`` adds ``harden`` and the ``target up|down|status`` group
(``target_app``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from govcloud.cli.common import ReportOptions, command, note, record, report_options
from govcloud.errors import InputError
from govcloud.i18n import _

_CheckOpt = typer.Option(False, "--check", help="Audit only: change nothing, report state.")
_LimitOpt = typer.Option(None, "--limit", help="Only these hosts (Ansible pattern).")
_InventoryOpt = typer.Option(
    None, "--inventory", "-i", help="Ansible inventory (default: running test targets)."
)
_TagsOpt = typer.Option(
    [], "--tags", help="Only these controls or families, e.g. MLPS3-AC-02 or audit."
)
_ExtraOpt = typer.Option(
    [], "--extra-var", "-e", help="Set a baseline variable, KEY=VALUE (repeatable)."
)
_PlaybooksOpt = typer.Option(
    None, "--playbooks", help="Baseline folder (default: the one shipped with govcloud)."
)
_FailOnOpt = typer.Option(
    "low", "--fail-on", help="Exit 1 on non-compliant controls at or above this severity."
)
_NamesArg = typer.Argument(None, help="Targets to stop (default: all).")
_ForksOpt = typer.Option(
    None, "--forks", "-f", help="Hosts hardened at once (Ansible forks; default 5)."
)


def _extravars(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise InputError(_("-e '{pair}' is not KEY=VALUE").format(pair=pair),
                             hint=_("e.g. -e hardening_pw_minlen=12"))
        out[key.strip()] = value
    return out


def _default_inventory() -> Path:
    from govcloud.hardening.target.machine import aggregate_inventory, list_targets

    if list_targets():
        return aggregate_inventory()
    raise InputError(
        "no --inventory given and no test target is running",
        hint="pass --inventory FILE (a YAML Ansible inventory) or boot one: govcloud target up",
    )


def harden(
    check: bool = _CheckOpt,
    limit: str = _LimitOpt,
    inventory: Path = _InventoryOpt,
    tags: list[str] = _TagsOpt,
    extra: list[str] = _ExtraOpt,
    playbooks: Path = _PlaybooksOpt,
    forks: int = _ForksOpt,
    out: ReportOptions = report_options(_FailOnOpt),
) -> None:
    """Run the MLPS 2.0 level-3 hardening baseline (--check: audit, change nothing)."""
    from govcloud.hardening import run_baseline

    tag_list = [t.strip() for item in tags for t in item.split(",") if t.strip()]
    inv = inventory or _default_inventory()
    note(_("harden: {mode} with inventory {inventory}").format(
        mode=_("audit (--check)") if check else _("remediation"), inventory=inv))
    run = run_baseline(
        inv,
        check=check,
        limit=limit,
        tags=tag_list,
        extravars=_extravars(extra),
        playbooks_dir=playbooks,
        forks=forks,
    )
    out.write(run.report, color=False)
    record("harden --check" if check else "harden", [inv], run.report.to_json())
    counts = run.report.sections["hardening"].get("counts", {})
    note(
        _("harden: {hosts} host(s) in {seconds}s, changed={changed}; ").format(
            hosts=len(run.hosts), seconds=f"{run.duration_s:.1f}", changed=run.changed)
        + ", ".join(f"{k}={v}" for k, v in counts.items())
        + _("; results saved to {path}").format(path=run.record)
    )
    if len(run.hosts) > 1:
        for name, host in sorted(run.hosts.items()):
            note(f"harden: {name}: {host.verdict}")
    out.exit(run.report)


def register(app: typer.Typer) -> None:
    """Add ``harden`` and the ``target`` group (test hosts) to the govcloud app."""
    app.command(name="harden")(command(harden))
    app.add_typer(target_app, name="target")


target_app = typer.Typer(
    help="Disposable Debian 12 test hosts for hardening (systemd-nspawn in a netns).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@target_app.command("up")
@command
def target_up(
    name: str = typer.Argument("t1", help="Target name: 1-10 of [a-z0-9]."),
    mode: str = typer.Option("nspawn", "--mode", help="nspawn (booted systemd) or chroot."),
) -> None:
    """Boot a fresh copy of the cached Debian 12 image (builds it once, ~1.5 min)."""
    from govcloud.hardening.target import up
    from govcloud.hardening.target.machine import aggregate_inventory

    t = up(name, mode=mode)
    note(f"target {t.name}: {t.mode} pid {t.pid} at {t.address}")
    typer.echo(str(aggregate_inventory()))


@target_app.command("down")
@command
def target_down(
    names: list[str] = _NamesArg,
) -> None:
    """Stop targets by their recorded pid and delete their copies and keys."""
    from govcloud.hardening.target import down, list_targets

    todo = names or [t.name for t in list_targets()]
    for name in todo:
        note(f"target {name}: {'stopped' if down(name) else 'not running'}")


@target_app.command("status")
@command
def target_status() -> None:
    """List targets: name, mode, pid, alive, address, inventory."""
    from govcloud.hardening.target import list_targets

    for t in list_targets():
        state = "running" if t.alive() else "dead"
        typer.echo(f"{t.name}\t{t.mode}\t{t.pid}\t{state}\t{t.address}\t{t.inventory}")
