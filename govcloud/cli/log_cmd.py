"""`govcloud log verify|keygen`: the tamper-evident audit log."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from govcloud.auditlog import default_log_path, keygen, verify
from govcloud.auditlog.log import KEY_ENV, load_verify_key_file
from govcloud.auditlog.witness import configured
from govcloud.cli.common import command, note
from govcloud.errors import InputError, IntegrityError
from govcloud.fsutil import read_regular
from govcloud.signing import ALGORITHMS, DEFAULT_ALGORITHM, PASSPHRASE_ENV

log_app = typer.Typer(help="The tamper-evident audit log (SM3 hash chain, SM2-signed head and "
                      "checkpoints, witnesses).", no_args_is_help=True)

FileArg = typer.Argument(None, help="The log (default: audit.log in the state folder).")
KeyOpt = typer.Option(None, "--key", help="The audit key's public half (.pub, SM2 or Ed25519): "
                      "also check the signed head, the checkpoints and every line's shape, which "
                      "catch a cut, extended or rewritten log.")
DirOpt = typer.Option(..., "--out", help="Folder for audit-signing.key (0600) and .pub.")
AlgorithmOpt = typer.Option(DEFAULT_ALGORITHM, "--algorithm",
                            help=f"Signature algorithm: {' or '.join(ALGORITHMS)}.")
EncryptOpt = typer.Option(False, "--encrypt", help=f"Encrypt the private key with a passphrase "
                          f"(${PASSPHRASE_ENV}, else asked on the terminal).")


def _key_from_roles(path: Path) -> tuple[Any, str] | None:
    """Without --key: the audit administrator's public key from the inventory's signed roles
    (the one the head names), when roles are in force; None otherwise."""
    import json

    from govcloud import roles
    from govcloud.cli.common import resolve_inventory

    try:
        roles.pinned_root()
        role_set = roles.load_roles(resolve_inventory(None)[0])
    except InputError:
        return None
    try:
        signer = json.loads(read_regular(path.with_name(path.name + ".head"),
                                         max_bytes=64 * 1024)).get("key")
    except (OSError, ValueError, AttributeError):
        return None  # no readable head: verify reports it
    holder = role_set.by_fingerprint(str(signer))
    if holder is None or holder.role != "audit" or holder.key is None:
        raise IntegrityError(f"{path}: the head is signed by key {str(signer)[:16]}…, which no "
                             f"audit administrator holds in {role_set.source}",
                             hint="the log was signed with another key; investigate")
    return holder.key, holder.describe()


@log_app.command("verify")
@command
def verify_cmd(file: Path = FileArg, key: Path = KeyOpt) -> None:
    """Exit 0 if the log is intact; exit 4 naming the first bad entry."""
    path = file or default_log_path()
    witnesses = configured()
    public = load_verify_key_file(key) if key else None
    if public is None:
        found = _key_from_roles(path)
        if found is not None:
            public = found[0]
            note(f"key: the audit administrator's, from the inventory's roles: {found[1]}")
    result = verify(path, public, witnesses)
    for message in result.notes:
        note(f"note: {message}")
    if not result.ok:
        raise IntegrityError(f"{path}: {result.problem}",
                             hint="the log was modified; keep it as evidence and investigate")
    signed = ("signed head verified" if result.head_checked
              else "no key given and no roles in force: chain only (pass --key)")
    if result.witness_checked:
        seen = "witness agrees"
    elif witnesses:
        seen = "no witness record of this log yet"
    else:
        seen = "no witness configured: an older copy put back would not be noticed"
    note(f"ok: {path}: {result.entries} lines ({result.checkpoints} signed checkpoints), "
         f"hash chain intact; {signed}; {seen}")


def _new_passphrase() -> bytes:
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env.encode()
    if not sys.stdin.isatty():
        raise InputError("--encrypt needs a passphrase",
                         hint=f"set ${PASSPHRASE_ENV} or run on a terminal")
    first = typer.prompt("passphrase for the new key", hide_input=True)
    if typer.prompt("again", hide_input=True) != first or not first:
        raise InputError("the passphrases differ or are empty", hint="run keygen again")
    return str(first).encode()


@log_app.command("keygen")
@command
def keygen_cmd(out: Path = DirOpt, algorithm: str = AlgorithmOpt,
               encrypt: bool = EncryptOpt) -> None:
    """Create the audit key pair (审计管理员: signs the log's head and checkpoints)."""
    if algorithm not in ALGORITHMS:
        raise InputError(f"unknown algorithm '{algorithm}'", hint=f"use {' or '.join(ALGORITHMS)}")
    private, public = keygen(out, algorithm, _new_passphrase() if encrypt else None)
    note(f"wrote {private} ({algorithm}; keep it secret; set {KEY_ENV}={private}) and {public} "
         "(give it to verifiers: `govcloud log verify --key`)")


def register(app: typer.Typer) -> None:
    app.add_typer(log_app, name="log")
