"""`govcloud devcloud up|down|status`: a real OpenStack on 127.0.0.1 for demo and tests."""

from __future__ import annotations

import json

import typer

from govcloud.cli.common import command
from govcloud.devcloud import ADMIN_CLOUD, USER_CLOUD, down, status, up

app = typer.Typer(
    help="A real OpenStack on 127.0.0.1 for demo and tests (not for production).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _progress(message: str) -> None:
    typer.echo(f"devcloud: {message}", err=True)


@app.command("up")
@command
def up_cmd(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the summary line."),
) -> None:
    """Install (first time) and start devcloud; a no-op when it already runs."""
    result = up(progress=(lambda _m: None) if quiet else _progress)
    if not result.started:
        typer.echo(f"devcloud: already running ({result.seconds:.1f} s check)", err=True)
    else:
        typer.echo(
            f"devcloud: up in {result.seconds:.1f} s; started {len(result.started)} services",
            err=True)
    typer.echo(f"devcloud: clouds '{ADMIN_CLOUD}' (admin) and '{USER_CLOUD}' in "
               f"{result.clouds_file}; state and logs in {result.root}", err=True)


@app.command("down")
@command
def down_cmd(
    purge: bool = typer.Option(
        False, "--purge", help="Also delete devcloud's folder and its clouds.yaml entries."),
) -> None:
    """Stop exactly the processes devcloud started (by pid file)."""
    killed = down(purge=purge)
    if killed:
        typer.echo(f"devcloud: killed after the grace period: {', '.join(killed)}", err=True)
    typer.echo("devcloud: stopped" + (" and purged" if purge else ""), err=True)


@app.command("status")
@command
def status_cmd(
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """What runs, its pid, memory (RSS of its process group), port and log."""
    st = status()
    if as_json:
        typer.echo(json.dumps(st.to_dict(), indent=1))
    elif not st.exists:
        typer.echo(f"devcloud: not installed ({st.root}); run `govcloud devcloud up`")
    else:
        typer.echo(f"{'service':<17}{'state':<9}{'pid':>8}{'procs':>6}{'RSS MiB':>9}  "
                   f"{'listen':<16}log")
        for s in st.services:
            listen = f"127.0.0.1:{s.port}" if s.port else ("unix socket" if s.name == "mariadb"
                                                           else "-")
            typer.echo(f"{s.name:<17}{'running' if s.running else 'stopped':<9}"
                       f"{s.pid or '-':>8}{s.processes:>6}{s.rss_bytes / 1024**2:>9.0f}  "
                       f"{listen:<16}{s.log}")
        typer.echo(f"{len(st.running)}/{len(st.services)} running, "
                   f"{st.rss_bytes / 1024**2:.0f} MiB RSS; state {st.root}; clouds "
                   f"'{ADMIN_CLOUD}', '{USER_CLOUD}' in {st.clouds_file}")
