"""`govcloud audit`, `govcloud evidence verify` and `govcloud approve`."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import typer

from govcloud.cli.common import (
    FailOnOpt,
    FormatOpt,
    OutputOpt,
    PoliciesOpt,
    check_fail_on,
    command,
    emit,
    note,
    resolve_format,
    wants_color,
)
from govcloud.errors import EXIT_USAGE, InputError, IntegrityError

PathsArg = typer.Argument(None, help="Requests and inventory to audit with the cloud (optional).")
CloudOpt = typer.Option(None, "--os-cloud", help="Admin cloud in clouds.yaml to read "
                        "(default: $OS_CLOUD; neither: audit the documents only).")
EvidenceOpt = typer.Option(None, "--evidence", help="Also write a signed evidence bundle into "
                           "this (new, empty) folder.")
KeyOpt = typer.Option(None, "--key", help="Ed25519 private key (PEM) that signs the evidence "
                      "manifest (default: $GOVCLOUD_AUDIT_KEY; `govcloud log keygen`).")

_AsOfOpt = typer.Option(None, "--as-of", help="Judge waiver expiry as of this date.")
_HardeningOpt = typer.Option(True, "--hardening/--no-hardening", help="Include the latest "
                             "`govcloud harden` results (default: yes, if any).")
_FolderArg = typer.Argument(..., help="The bundle folder.")
_PubKeyOpt = typer.Option(None, "--key", help="Ed25519 public key (.pub) the manifest must be "
                          "signed with (without it, only self-consistency is checked).")
_RequestArg = typer.Argument(..., help="YAML file holding the ResourceRequest(s).")
_RoleOpt = typer.Option(..., "--as", help="Approving role: department, ops or security.")
_PrivateKeyOpt = typer.Option(..., "--key", help="Your Ed25519 private key (PEM; "
                              "`govcloud log keygen --out DIR`).")
_IdOpt = typer.Option(None, "--id", help="Only this request of the file.")


def _record(inputs: dict[str, str], result: Any) -> tuple[dict[str, Any] | None, Path | None]:
    """Append the audit to the audit log (common.append_entry: strict with an audit key)."""
    from govcloud.auditlog.log import canonical, sm3_hex
    from govcloud.cli.common import append_entry, audit_log

    entry = append_entry("audit", inputs, sm3_hex(canonical(result)))
    return entry, (audit_log().path if entry is not None else None)


def _file_digests(paths: list[Path]) -> dict[str, str]:
    from govcloud.auditlog.log import file_digest

    out: dict[str, str] = {}
    for item in paths:
        files = sorted(f for f in item.rglob("*") if f.is_file()) if item.is_dir() else [item]
        for f in files:
            try:
                out[str(f)] = file_digest(f)
            except OSError:
                out[str(f)] = "unreadable"
    return out


def _signing_key(key: Path | None) -> Any:
    from govcloud.auditlog.log import KEY_ENV, load_private_key

    path = key or (Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else None)
    if path is None:
        raise InputError("--evidence needs a signing key",
                         hint="pass --key FILE (create one with `govcloud log keygen --out DIR`)")
    return load_private_key(path)


def audit(
    paths: list[Path] = PathsArg,
    os_cloud: str = CloudOpt,
    fmt: str = FormatOpt,
    output: Path = OutputOpt,
    fail_on: str = FailOnOpt,
    evidence: Path = EvidenceOpt,
    key: Path = KeyOpt,
    policies: Path = PoliciesOpt,
    as_of: str = _AsOfOpt,
    hardening: bool = _HardeningOpt,
) -> None:
    """Live cloud + requests and inventory + hardening results in one compliance report."""
    from govcloud.audit import run_audit
    from govcloud.audit.html import render_audit_html
    from govcloud.auditlog.log import sm3_hex
    from govcloud.cli.app import _today, load_documents
    from govcloud.policy import load_policies
    from govcloud.report import render

    fail_on = check_fail_on(fail_on)
    fmt = resolve_format(fmt)
    signing_key = _signing_key(key) if evidence is not None else None
    policy_set = load_policies(policies)
    paths = list(paths or [])
    validated = load_documents(paths, 10 * 1024 * 1024) if paths else None
    cloud = os_cloud or os.environ.get("OS_CLOUD") or None
    snapshot = None
    if cloud:
        from govcloud.audit.live import connect, read_cloud

        note(f"audit: reading cloud '{cloud}'")
        snapshot = read_cloud(connect(cloud), cloud)
        note(f"audit: {snapshot.calls} API calls, "
             + ", ".join(f"{k} {v}" for k, v in sorted(snapshot.counts.items())))
    latest = controls = None
    latest_path: Path | None = None
    if hardening:
        from govcloud.hardening import load_controls, load_latest
        from govcloud.state import state_dir

        latest = load_latest()
        if latest is not None:
            latest_path = state_dir() / "hardening" / "latest.json"
            controls = load_controls()
    if not paths and snapshot is None and latest is None:
        raise InputError("nothing to audit: no cloud, no documents, no hardening results",
                         hint="pass --os-cloud NAME (or set OS_CLOUD) and/or PATH...")
    report = run_audit(validated, policy_set, today=_today(as_of), snapshot=snapshot,
                       hardening=latest, controls=controls)
    json_text = render(report, "json")
    text = render_audit_html(report) if fmt == "html" else (
        json_text if fmt == "json" else render(report, fmt, color=wants_color(output)))
    emit(text, output)

    inputs = _file_digests(paths)
    snapshot_bytes = None
    if snapshot is not None:
        snapshot_bytes = (json.dumps(snapshot.to_json(), indent=1, ensure_ascii=False,
                                     sort_keys=True) + "\n").encode()
        inputs[f"cloud:{cloud}"] = sm3_hex(snapshot_bytes)
    latest_bytes = None
    if latest_path is not None:
        latest_bytes = latest_path.read_bytes()
        inputs[str(latest_path)] = sm3_hex(latest_bytes)
    result = json.loads(json_text)
    entry, log_path = _record(inputs, result)
    if evidence is not None:
        from govcloud.audit.evidence import write_bundle

        files: dict[str, bytes] = {
            "report.json": json_text.encode() if json_text.endswith("\n")
            else (json_text + "\n").encode(),
            "report.html": render_audit_html(report).encode(),
        }
        if fmt not in ("json", "html", "table"):
            suffix = {"markdown": "md", "junit": "xml"}.get(fmt, fmt)
            files[f"report.{suffix}"] = (text if text.endswith("\n") else text + "\n").encode()
        if snapshot_bytes is not None:
            files["cloud-snapshot.json"] = snapshot_bytes
        if latest_bytes is not None:
            files["hardening-latest.json"] = latest_bytes
        write_bundle(evidence, files, key=signing_key, log_entry=entry, log_path=log_path,
                     cloud=cloud, inputs={"cloud": cloud, "digests": dict(sorted(inputs.items())),
                                          "as_of": _today(as_of).isoformat(),
                                          "generated": dt.datetime.now(dt.UTC).isoformat(
                                              timespec="seconds")})
        note(f"wrote evidence bundle {evidence} (verify: govcloud evidence verify {evidence})")
    summary = report.summary()
    note("audit: " + ", ".join(f"{k} {v}" for k, v in summary.items())
         + f", errors {len(report.errors)}")
    if validated is not None and validated.input_errors:
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(report.exit_code(fail_on))


evidence_app = typer.Typer(help="Signed evidence bundles written by `govcloud audit --evidence`.",
                           no_args_is_help=True)


@evidence_app.command("verify")
@command
def evidence_verify(
    folder: Path = _FolderArg,
    key: Path = _PubKeyOpt,
) -> None:
    """Exit 0 if the bundle is intact; exit 4 naming every bad file."""
    from govcloud.audit.evidence import verify_bundle
    from govcloud.auditlog.log import load_public_key

    problems = verify_bundle(folder, load_public_key(key) if key else None)
    if problems:
        raise IntegrityError(f"{folder}: " + "; ".join(problems),
                             hint="the bundle was modified: do not rely on it; keep it and "
                             "investigate")
    pinned = "signature verified with the given key" if key else (
        "signature matches the embedded key (pass --key to check who signed)")
    note(f"ok: {folder}: every file matches the signed manifest; {pinned}")


def approve(
    request_file: Path = _RequestArg,
    role: str = _RoleOpt,
    key: Path = _PrivateKeyOpt,
    request_id: str = _IdOpt,
) -> None:
    """Sign a request as one of the three roles (逐级审批, 三员); signatures go to
    <file>.approvals.json."""
    from govcloud.approvals import ROLES, add_approval, load_requests, sign_request
    from govcloud.auditlog.log import load_private_key
    from govcloud.cli.common import record

    if role not in ROLES:
        raise InputError(f"unknown role '{role}'", hint=f"use --as {'|'.join(ROLES)}")
    private = load_private_key(key)
    requests = [d for d in load_requests(request_file)
                if request_id is None or d.id == request_id]
    if not requests:
        what = f"request '{request_id}'" if request_id else "no ResourceRequest"
        raise InputError(f"{request_file}: {what} not found", hint="approve a request file")
    path = None
    for doc in requests:
        path = add_approval(request_file, sign_request(doc, role, private))
        note(f"approved {doc.ref} as {role}")
    record(f"approve --as {role}", [request_file], {"role": role,
                                                     "requests": [d.id for d in requests]})
    note(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("audit")(command(audit))
    app.command("approve")(command(approve))
    app.add_typer(evidence_app, name="evidence")
