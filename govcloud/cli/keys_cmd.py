"""`govcloud keys generate|fingerprint|sign-roles|roles`: signing keys and the 三员 roles."""

from __future__ import annotations

import os
from pathlib import Path

import typer
import yaml

from govcloud.cli.common import command, emit, note
from govcloud.errors import InputError

keys_app = typer.Typer(help="Signing keys (SM2 by default, or Ed25519) and the inventory's "
                       "signed roles (三员).", no_args_is_help=True)

KEY_ROLES = ("department", "ops", "security", "audit", "evidence", "root")
_RoleOpt = typer.Option(..., "--role", help="What the key is for: department, ops, security "
                        "(approvals), audit (the audit log), evidence (evidence bundles), root "
                        "(signs roles.yaml).")
_AlgOpt = typer.Option("sm2", "--algorithm", help="sm2 (GB/T 32918 with SM3; default) or "
                       "ed25519.")
_OutOpt = typer.Option(..., "--out", help="Folder for <role>.key (0600) and <role>.pub.")
_HolderOpt = typer.Option(None, "--holder", help="Name of the person holding the role (for "
                          "the printed Role document).")
_AccountOpt = typer.Option(None, "--account", help="Their account (default: yours).")
_EncryptOpt = typer.Option(False, "--encrypt", help="Encrypt the private key with "
                           "$GOVCLOUD_KEY_PASSPHRASE (else asked on the terminal).")
_PubArg = typer.Argument(..., help="A public key (.pub, PEM) or private key file.")
_RootKeyOpt = typer.Option(..., "--key", help="The security office's root private key.")
_InventoryOpt = typer.Option(None, "--inventory", help="The inventory (default: "
                             "$GOVCLOUD_INVENTORY, else ./inventory).")


@keys_app.command("generate")
@command
def generate_cmd(role: str = _RoleOpt, algorithm: str = _AlgOpt, out: Path = _OutOpt,
                 holder: str = _HolderOpt, account: str = _AccountOpt,
                 encrypt: bool = _EncryptOpt) -> None:
    """Create a key pair for one role; print the Role document to add to roles.yaml."""
    from govcloud import signing
    from govcloud.approvals import os_account
    from govcloud.fsutil import write_atomic
    from govcloud.roles import role_document

    if role not in KEY_ROLES:
        raise InputError(f"unknown role '{role}'", hint=f"use --role {'|'.join(KEY_ROLES)}")
    if algorithm not in signing.ALGORITHMS:
        raise InputError(f"unknown algorithm '{algorithm}'",
                         hint=f"use --algorithm {'|'.join(signing.ALGORITHMS)}")
    passphrase = None
    if encrypt:
        passphrase = (os.environ.get(signing.PASSPHRASE_ENV) or "").encode() or _ask()
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    private, public = out / f"{role}.key", out / f"{role}.pub"
    if private.exists() or private.is_symlink():
        raise InputError(f"{private} exists", hint="keys are never overwritten; pick another "
                         "--out folder or remove the old key yourself")
    key = signing.generate(algorithm)
    write_atomic(private, signing.private_pem(key, passphrase), secret=True, replace=False)
    write_atomic(public, key.public_pem().encode(), replace=False)
    note(f"wrote {private} ({algorithm}{', encrypted' if passphrase else ''}; keep it secret) "
         f"and {public}; fingerprint {key.fingerprint}")
    if role == "root":
        note(f"pin it: echo {key.fingerprint} > /etc/govcloud/trust-root "
             f"(or GOVCLOUD_TRUST_ROOT={key.fingerprint})")
        return
    doc = role_document(role, holder or account or os_account(), account or os_account(), key)
    emit("---\n" + yaml.dump(doc, Dumper=_BlockDumper, allow_unicode=True, sort_keys=False),
         None)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (PEM keys) as literal blocks, as people write them."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def _ask() -> bytes:
    import getpass
    import sys

    if not sys.stdin.isatty():
        raise InputError("--encrypt needs a passphrase",
                         hint="set GOVCLOUD_KEY_PASSPHRASE or run on a terminal")
    first = getpass.getpass("passphrase for the new key: ")
    if not first or first != getpass.getpass("again: "):
        raise InputError("the passphrases are empty or differ", hint="try again")
    return first.encode()


@keys_app.command("fingerprint")
@command
def fingerprint_cmd(file: Path = _PubArg) -> None:
    """Print a key's fingerprint (SM3 of its public key's DER): what you pin or compare."""
    from govcloud import signing

    try:
        text = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}", hint="pass a .pub file") from exc
    if b"PRIVATE KEY" in text:
        key = signing.load_configured_key(file)
        emit(f"{key.fingerprint}  {key.algorithm}", None)
        return
    try:
        verify = signing.load_verify_key(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{file}: {exc}", hint="pass a PEM public key (.pub)") from exc
    emit(f"{verify.fingerprint}  {verify.algorithm}", None)


@keys_app.command("sign-roles")
@command
def sign_roles_cmd(key: Path = _RootKeyOpt, inventory: Path = _InventoryOpt) -> None:
    """Sign the inventory's roles.yaml with the root key (writes roles.yaml.sig)."""
    from govcloud import signing
    from govcloud.cli.common import record
    from govcloud.roles import load_roles, roles_path, sign_roles

    root = signing.load_configured_key(key)
    path = roles_path(inventory)
    if not path.is_file():
        raise InputError(f"{path} does not exist", hint="write the Role documents first")
    out = sign_roles(path, root)
    roles = load_roles(inventory, root=root.fingerprint)  # parses and checks one-key-one-role
    record("keys sign-roles", [path], {"root": root.fingerprint, "roles": len(roles.holders)})
    note(f"wrote {out}: {len(roles.holders)} roles signed by {root.fingerprint[:16]}…")


@keys_app.command("roles")
@command
def roles_cmd(inventory: Path = _InventoryOpt) -> None:
    """Check the inventory's roles against the pinned root and list who holds what."""
    import datetime as dt

    from govcloud.roles import load_roles

    roles = load_roles(inventory)
    today = dt.date.today()
    lines = [f"{'role':<11} {'holder':<16} {'account':<16} {'key':<18} status"]
    for h in roles.holders:
        key = f"{h.key.algorithm}:{h.key.fingerprint[:12]}" if h.key else "(no key)"
        status = f"expired {h.expires}" if h.expired(today) else "active"
        lines.append(f"{h.role:<11} {h.holder:<16} {h.account:<16} {key:<18} {status}")
    emit("\n".join(lines), None)
    note(f"ok: {roles.source} is signed by the pinned root {roles.root[:16]}…")
