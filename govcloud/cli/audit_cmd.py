"""`govcloud audit`, `govcloud evidence verify`, `govcloud approve` and `govcloud keys`."""

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
    InventoryOpt,
    OutputOpt,
    PoliciesOpt,
    check_fail_on,
    command,
    emit,
    note,
    policies_in_force,
    resolve_format,
    wants_color,
)
from govcloud.errors import EXIT_USAGE, InputError, IntegrityError

PathsArg = typer.Argument(None, help="Requests and inventory to audit with the cloud (optional).")
CloudOpt = typer.Option(None, "--os-cloud", help="Admin cloud in clouds.yaml to read "
                        "(default: $OS_CLOUD; neither: audit the documents only).")
EvidenceOpt = typer.Option(None, "--evidence", help="Also write a signed evidence bundle into "
                           "this (new, empty) folder.")
EVIDENCE_KEY_ENV = "GOVCLOUD_EVIDENCE_KEY"
KeyOpt = typer.Option(None, "--key", help="Private key (PEM; SM2 or Ed25519) that signs the "
                      "evidence manifest: the evidence role's (default: $GOVCLOUD_EVIDENCE_KEY; "
                      "`govcloud keys generate --role evidence`).")

_AsOfOpt = typer.Option(None, "--as-of", help="Judge waiver expiry as of this date.")
_HardeningOpt = typer.Option(True, "--hardening/--no-hardening", help="Include the latest "
                             "`govcloud harden` results (default: yes, if any).")
_FolderArg = typer.Argument(..., help="The bundle folder.")
_PubKeyOpt = typer.Option(None, "--key", help="Public key (.pub) the manifest must be signed "
                          "with (default: the evidence role keys of the inventory's signed roles; "
                          "neither: only self-consistency is checked).")
_RequestArg = typer.Argument(..., help="YAML file holding the ResourceRequest(s).")
_RoleOpt = typer.Option(..., "--as", "--role", help="Approving role: department, ops or "
                        "security.")
_PrivateKeyOpt = typer.Option(..., "--key", help="Your private key (PEM, SM2 or Ed25519; "
                              "`govcloud keys generate --role ROLE`); it must hold the role in "
                              "the inventory's signed roles.yaml.")
_IdOpt = typer.Option(None, "--id", help="Only this request of the file.")
_ApproveCloudOpt = typer.Option(None, "--os-cloud", help="The cloud the approval is for "
                                "(default: $OS_CLOUD, else the cloud of the request's Platform in "
                                "the inventory: what apply would use).")


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


def _roles(inventory: Path | None) -> Any:
    """The signed roles of the inventory (``--inventory``, ``$GOVCLOUD_INVENTORY``, ./inventory)."""
    from govcloud.cli.common import resolve_inventory
    from govcloud.roles import load_roles

    return load_roles(resolve_inventory(inventory)[0])


def _not_the_log_key(path: Path, private: Any) -> None:
    """三员 even without roles: the evidence key is not the audit log's key."""
    from govcloud import signing
    from govcloud.cli.common import Settings

    loaded = getattr(Settings.audit_log, "key", None)  # the log's key, loaded before the work
    if loaded is not None and loaded.fingerprint == private.fingerprint:
        raise InputError(f"the evidence key {path} is the audit log's key",
                         hint="evidence and the audit log need separate keys (三员): "
                         "`govcloud keys generate --role evidence`")
    log_key = os.environ.get("GOVCLOUD_AUDIT_KEY")
    if not log_key:
        return
    same = Path(log_key).resolve() == path.resolve()
    if not same:
        try:
            passphrase = os.environ.get(signing.PASSPHRASE_ENV, "").encode() or None
            same = signing.load_signing_key(log_key, passphrase).fingerprint == private.fingerprint
        except signing.KeyUnusable:
            same = False  # the log's own command reports an unusable log key
    if same:
        raise InputError(f"the evidence key {path} is the audit log's key (GOVCLOUD_AUDIT_KEY)",
                         hint="evidence and the audit log need separate keys (三员): "
                         "`govcloud keys generate --role evidence`")


def _signing_key(key: Path | None, inventory: Path | None = None) -> Any:
    """The evidence key; when the inventory's roles can be read, it must hold the evidence role
    (三员: not the audit log's key, not an approver's)."""
    import datetime as _dt

    from govcloud import signing

    path = key or (Path(os.environ[EVIDENCE_KEY_ENV]) if os.environ.get(EVIDENCE_KEY_ENV)
                   else None)
    if path is None:
        raise InputError("--evidence needs a signing key", hint="pass --key FILE or set "
                         f"{EVIDENCE_KEY_ENV} (`govcloud keys generate --role evidence`)")
    private = signing.load_configured_key(path)
    _not_the_log_key(path, private)
    try:
        roles = _roles(inventory)
    except InputError as exc:
        note(f"govcloud: warning: the evidence key is not checked against the inventory's roles "
             f"({exc.message})")
        return private
    holder = roles.by_fingerprint(private.fingerprint)
    if holder is None or holder.role != "evidence" or holder.expired(_dt.date.today()):
        held = f"holds role {holder.role}" if holder else "holds no role"
        raise InputError(f"the key {path} ({private.fingerprint[:16]}…) {held} in "
                         f"{roles.source}; evidence bundles are signed by the evidence role",
                         hint="use the evidence role's key (三员: one key, one role)")
    return private


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
    inventory: Path = InventoryOpt,
) -> None:
    """Live cloud + requests and inventory + hardening results in one compliance report."""
    from govcloud.audit import run_audit
    from govcloud.audit.html import render_audit_html
    from govcloud.auditlog.log import sm3_hex
    from govcloud.cli.app import _today, load_documents
    from govcloud.report import render

    fail_on = check_fail_on(fail_on)
    fmt = resolve_format(fmt)
    signing_key = _signing_key(key, inventory) if evidence is not None else None
    policy_set = policies_in_force(policies)
    paths = list(paths or [])
    validated = load_documents(paths, 10 * 1024 * 1024, inventory) if paths else None
    cloud = os_cloud or os.environ.get("OS_CLOUD") or None
    snapshot = None
    if cloud:
        from govcloud.cloud import connect
        from govcloud.cloud.live import read_live

        note(f"audit: reading cloud '{cloud}'")
        live = connect(cloud)
        try:
            snapshot = read_live(live)
        finally:
            live.close()
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
    from govcloud.providers import builtin_providers

    report = run_audit(validated, policy_set, today=_today(as_of),
                       providers=builtin_providers(), snapshot=snapshot,
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
    inventory: Path = InventoryOpt,
) -> None:
    """Exit 0 if the bundle is intact; exit 4 naming every bad file."""
    import datetime as _dt

    from govcloud import signing
    from govcloud.audit.evidence import verify_bundle

    public = trusted = None
    if key is not None:
        try:
            public = signing.load_verify_key(key.read_bytes())
        except (OSError, ValueError) as exc:
            raise InputError(f"--key {key}: {exc}", hint="pass the evidence key's .pub") from exc
        pinned = "signature verified with the given key"
    else:
        try:
            roles = _roles(inventory)
            trusted = [h.key for h in roles.active("evidence", _dt.date.today()) if h.key]
            pinned = f"signed by an evidence role key of {roles.source}"
        except InputError as exc:
            note(f"govcloud: warning: no trusted evidence keys ({exc.message})")
            pinned = "signature matches the embedded key (pass --key to check who signed)"
    problems = verify_bundle(folder, public, trusted)
    if problems:
        raise IntegrityError(f"{folder}: " + "; ".join(problems),
                             hint="the bundle was modified: do not rely on it; keep it and "
                             "investigate")
    note(f"ok: {folder}: every file matches the signed manifest; {pinned}")


def approve(
    request_file: Path = _RequestArg,
    role: str = _RoleOpt,
    key: Path = _PrivateKeyOpt,
    request_id: str = _IdOpt,
    os_cloud: str = _ApproveCloudOpt,
    policies: Path = PoliciesOpt,
    inventory: Path = InventoryOpt,
) -> None:
    """Sign a request as one of the three roles (逐级审批, 三员); signatures go to
    <file>.approvals.json. The approval signs you, your role, the time, the request, the
    waivers and policies in force and the target cloud."""
    import datetime as _dt

    from govcloud import signing
    from govcloud.approvals import (
        ROLES,
        Context,
        add_approval,
        inventory_documents,
        load_requests,
        policy_digests,
        request_cloud,
        sign_request,
        waivers_in_force,
    )
    from govcloud.cli.common import record, resolve_inventory

    if role not in ROLES:
        raise InputError(f"unknown role '{role}'", hint=f"use --as {'|'.join(ROLES)}")
    inventory_root = resolve_inventory(inventory)[0]
    roles = _roles(inventory)
    private = signing.load_configured_key(key)
    today = _dt.date.today()
    holder = roles.by_fingerprint(private.fingerprint)
    if holder is None or holder.role != role:
        held = f"holds role {holder.role}" if holder else "holds no role"
        raise InputError(f"the key {key} ({private.fingerprint[:16]}…) {held} in "
                         f"{roles.source}, so it cannot approve as {role}",
                         hint="use your own role's key; the security office lists it in "
                         "roles.yaml")
    if holder.expired(today):
        raise InputError(f"{holder.describe()}'s {role} role expired on {holder.expires}",
                         hint="ask the security office to renew it in roles.yaml")
    requests = [d for d in load_requests(request_file)
                if request_id is None or d.id == request_id]
    if not requests:
        what = f"request '{request_id}'" if request_id else "no ResourceRequest"
        raise InputError(f"{request_file}: {what} not found", hint="approve a request file")
    authority = inventory_documents(inventory_root) if inventory_root else []
    waivers = [d for d in authority if d.kind == "Waiver"]
    policy_set = policy_digests(policies)
    path = None
    for doc in requests:
        # as apply picks it: --os-cloud, else $OS_CLOUD, else the Platform's cloud
        cloud = os_cloud or os.environ.get("OS_CLOUD") or request_cloud(doc, authority)
        if not cloud:
            raise InputError(f"{doc.ref}: no cloud to approve it for (its platform "
                             f"{doc.spec.get('platform')!r} is not in the inventory)",
                             hint="pass --os-cloud NAME")
        context = Context(cloud, waivers_in_force(doc, waivers, today), policy_set)
        path = add_approval(request_file, sign_request(doc, role, private, holder, context))
        note(f"approved {doc.ref} as {role} ({holder.describe()}) for cloud {cloud} "
             f"with {len(context.waivers)} waiver(s) and {len(policy_set)} policies in force")
    record(f"approve --as {role}", [request_file], {
        "role": role, "signer": holder.account, "key": private.fingerprint,
        "requests": [d.id for d in requests]})
    note(f"wrote {path}")


approvals_app = typer.Typer(help="Approvals of requests (逐级审批, 三员).", no_args_is_help=True)
_RequestFilesArg = typer.Argument(..., help="Request files (their .approvals.json beside them).")


@approvals_app.command("verify")
@command
def approvals_verify(
    request_files: list[Path] = _RequestFilesArg,
    os_cloud: str = _ApproveCloudOpt,
    policies: Path = PoliciesOpt,
    inventory: Path = InventoryOpt,
) -> None:
    """Exit 0 when every MLPS >= 3 request is approved for its cloud as apply would require;
    1 naming every problem otherwise (4: the roles do not verify)."""
    import datetime as _dt

    from govcloud.approvals import (
        apply_problems,
        inventory_documents,
        load_requests,
        needs_approval,
        policy_digests,
        request_cloud,
    )
    from govcloud.cli.common import resolve_inventory

    inventory_root = resolve_inventory(inventory)[0]
    authority = inventory_documents(inventory_root) if inventory_root else []
    targets: list[tuple[str, list[Any]]] = []
    checked = 0
    for request_file in request_files:
        for doc in load_requests(request_file):
            cloud = os_cloud or os.environ.get("OS_CLOUD") or request_cloud(doc, authority)
            if not cloud:
                raise InputError(f"{doc.ref}: no cloud (its platform is not in the inventory)",
                                 hint="pass --os-cloud NAME")
            targets.append((cloud, [doc]))
            checked += needs_approval(doc)
    roles = _roles(inventory) if checked else None
    problems = apply_problems(targets, roles, [d for d in authority if d.kind == "Waiver"],
                              policy_digests(policies), _dt.date.today())
    for problem in problems:
        note(f"  {problem}")
    if problems:
        note(f"govcloud: {len(problems)} approval problem(s)")
        raise typer.Exit(1)
    note(f"ok: {checked} request(s) of MLPS >= 3 approved by department, ops and security; "
         f"{len(targets) - checked} need no approval")


def register(app: typer.Typer) -> None:
    app.command("audit")(command(audit))
    app.command("approve")(command(approve))
    app.add_typer(evidence_app, name="evidence")
    from govcloud.cli.keys_cmd import keys_app

    app.add_typer(keys_app, name="keys")
    app.add_typer(approvals_app, name="approvals")
