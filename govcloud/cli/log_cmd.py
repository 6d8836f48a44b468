"""`govcloud log verify|keygen`: the tamper-evident audit log."""

from __future__ import annotations

from pathlib import Path

import typer

from govcloud.auditlog import default_log_path, generate_keypair, verify
from govcloud.auditlog.log import KEY_ENV, load_public_key
from govcloud.cli.common import command, note
from govcloud.errors import IntegrityError

log_app = typer.Typer(help="The tamper-evident audit log (SM3 hash chain, Ed25519-signed head).",
                      no_args_is_help=True)

FileArg = typer.Argument(None, help="The log (default: audit.log in the state folder).")
KeyOpt = typer.Option(None, "--key", help="Ed25519 public key (.pub): also check the signed "
                      "checkpoints and head, which catch a truncated tail.")
DirOpt = typer.Option(..., "--out", help="Folder for audit-signing.key (0600) and .pub.")


@log_app.command("verify")
@command
def verify_cmd(file: Path = FileArg, key: Path = KeyOpt) -> None:
    """Exit 0 if the log is intact; exit 4 naming the first bad entry."""
    path = file or default_log_path()
    result = verify(path, load_public_key(key) if key else None)
    if not result.ok:
        raise IntegrityError(f"{path}: {result.problem}",
                             hint="the log was modified; keep it as evidence and investigate")
    signed = "signed head verified" if result.head_checked else "no key given: chain only"
    note(f"ok: {path}: {result.entries} entries ({result.checkpoints} signed checkpoints), "
         f"hash chain intact; {signed}")


@log_app.command("keygen")
@command
def keygen_cmd(out: Path = DirOpt) -> None:
    """Create an Ed25519 key pair for signing the log's checkpoints and head."""
    private, public = generate_keypair(out)
    note(f"wrote {private} (keep it secret; set {KEY_ENV}={private}) and {public} "
         "(give it to verifiers)")


def register(app: typer.Typer) -> None:
    app.add_typer(log_app, name="log")
