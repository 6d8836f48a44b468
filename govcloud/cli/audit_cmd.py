"""`govcloud audit`, `govcloud evidence verify`, `govcloud approve` and `govcloud keys`."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from govcloud.cli.common import (
    InventoryOpt,
    OptionGroup,
    PoliciesOpt,
    ReportOptions,
    command,
    note,
    policies_in_force,
    report_options,
    wants_color,
)
from govcloud.errors import InputError, IntegrityError

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


@dataclass(frozen=True)
class EvidenceOptions:
    """``--evidence DIR --key KEY`` of `govcloud audit`: where a signed bundle goes, and the
    evidence role's key that signs it (only needed, and only checked, with --evidence)."""

    folder: Path | None
    key: Path | None

    def signing_key(self, inventory: Path | None) -> Any:
        return _signing_key(self.key, inventory) if self.folder is not None else None


def evidence_options() -> Any:
    return OptionGroup(lambda values: EvidenceOptions(values["evidence"], values["key"]),
                       evidence=(Path, EvidenceOpt), key=(Path, KeyOpt))


@dataclass(frozen=True)
class Approver:
    """``--as ROLE --key KEY`` of `govcloud approve`: one of the three roles (三员) and the key
    that must hold it in the inventory's signed roles."""

    role: str
    key: Path

    def holder(self, roles: Any, today: dt.date) -> tuple[Any, Any]:
        """The private key and its holder in ``roles``; InputError when the key does not hold
        the role, or holds it no longer."""
        from govcloud import signing

        private = signing.load_configured_key(self.key)
        holder = roles.by_fingerprint(private.fingerprint)
        if holder is None or holder.role != self.role:
            held = f"holds role {holder.role}" if holder else "holds no role"
            raise InputError(f"the key {self.key} ({private.fingerprint[:16]}…) {held} in "
                             f"{roles.source}, so it cannot approve as {self.role}",
                             hint="use your own role's key; the security office lists it in "
                             "roles.yaml")
        if holder.expired(today):
            raise InputError(f"{holder.describe()}'s {self.role} role expired on "
                             f"{holder.expires}", hint="ask the security office to renew it in "
                             "roles.yaml")
        return private, holder


def approver_options() -> Any:
    def parse(values: dict[str, Any]) -> Approver:
        from govcloud.approvals import ROLES

        if values["role"] not in ROLES:
            raise InputError(f"unknown role '{values['role']}'",
                             hint=f"use --as {'|'.join(ROLES)}")
        return Approver(values["role"], values["key"])

    return OptionGroup(parse, role=(str, _RoleOpt), key=(Path, _PrivateKeyOpt))


@dataclass(frozen=True)
class Authority:
    """``--policies DIR --inventory PATH`` of audit and the approval commands: the policies and
    the inventory (waivers, platforms, signed roles) that an audit or approval is made under."""

    policies: Path | None
    inventory: Path | None

    def documents(self) -> list[Any]:
        """The inventory's documents (none when there is no inventory)."""
        from govcloud.approvals import inventory_documents
        from govcloud.cli.common import resolve_inventory

        root = resolve_inventory(self.inventory)[0]
        return inventory_documents(root) if root else []

    def roles(self) -> Any:
        return _roles(self.inventory)

    def policy_digests(self) -> Any:
        from govcloud.approvals import policy_digests

        return policy_digests(self.policies)


def authority_options() -> Any:
    return OptionGroup(lambda values: Authority(values["policies"], values["inventory"]),
                       policies=(Path, PoliciesOpt), inventory=(Path, InventoryOpt))


@dataclass(frozen=True)
class TrustedKeys:
    """``--key PUB --inventory PATH`` of `govcloud evidence verify`: who may have signed."""

    key: Path | None
    inventory: Path | None

    def resolve(self) -> tuple[Any, Any, str]:
        """The given public key, or the evidence role keys of the inventory's signed roles (none
        readable: only self-consistency is checked), and how the signature is pinned, in words."""
        from govcloud import signing

        if self.key is not None:
            try:
                public = signing.load_verify_key(self.key.read_bytes())
            except (OSError, ValueError) as exc:
                raise InputError(f"--key {self.key}: {exc}",
                                 hint="pass the evidence key's .pub") from exc
            return public, None, "signature verified with the given key"
        try:
            roles = _roles(self.inventory)
        except InputError as exc:
            note(f"govcloud: warning: no trusted evidence keys ({exc.message})")
            return None, None, "signature matches the embedded key (pass --key to check who signed)"
        trusted = [h.key for h in roles.active("evidence", dt.date.today()) if h.key]
        return None, trusted, f"signed by an evidence role key of {roles.source}"


def trusted_keys_options() -> Any:
    return OptionGroup(lambda values: TrustedKeys(values["key"], values["inventory"]),
                       key=(Path, _PubKeyOpt), inventory=(Path, InventoryOpt))


def _record(inputs: dict[str, str], result: Any) -> tuple[dict[str, Any] | None, Path | None]:
    """Append the audit to the audit log (common.append_entry: strict with an audit key)."""
    from govcloud.auditlog.log import canonical, sm3_hex
    from govcloud.cli.common import append_entry, audit_log

    entry = append_entry("audit", inputs, sm3_hex(canonical(result)))
    return entry, (audit_log().path if entry is not None else None)


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
    out: ReportOptions = report_options(),
    evidence: EvidenceOptions = evidence_options(),
    authority: Authority = authority_options(),
    as_of: str = _AsOfOpt,
    hardening: bool = _HardeningOpt,
) -> None:
    """Live cloud + requests and inventory + hardening results in one compliance report."""
    from govcloud.audit import run_audit
    from govcloud.audit.html import render_audit_html
    from govcloud.auditlog.log import input_digests, sm3_hex
    from govcloud.cli.app import _today, load_documents
    from govcloud.report import render

    signing_key = evidence.signing_key(authority.inventory)
    policy_set = policies_in_force(authority.policies)
    paths = list(paths or [])
    validated = load_documents(paths, 10 * 1024 * 1024, authority.inventory) if paths else None
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
    text = render_audit_html(report) if out.fmt == "html" else (
        json_text if out.fmt == "json" else render(report, out.fmt, color=wants_color(out.output)))
    out.write(report, text=text)

    inputs = input_digests(paths)
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
    if evidence.folder is not None:
        from govcloud.audit.evidence import write_bundle

        files: dict[str, bytes] = {
            "report.json": json_text.encode() if json_text.endswith("\n")
            else (json_text + "\n").encode(),
            "report.html": render_audit_html(report).encode(),
        }
        if out.fmt not in ("json", "html", "table"):
            suffix = {"markdown": "md", "junit": "xml"}.get(out.fmt, out.fmt)
            files[f"report.{suffix}"] = (text if text.endswith("\n") else text + "\n").encode()
        if snapshot_bytes is not None:
            files["cloud-snapshot.json"] = snapshot_bytes
        if latest_bytes is not None:
            files["hardening-latest.json"] = latest_bytes
        write_bundle(evidence.folder, files, key=signing_key, log_entry=entry, log_path=log_path,
                     cloud=cloud, inputs={"cloud": cloud, "digests": dict(sorted(inputs.items())),
                                          "as_of": _today(as_of).isoformat(),
                                          "generated": dt.datetime.now(dt.UTC).isoformat(
                                              timespec="seconds")})
        note(f"wrote evidence bundle {evidence.folder} (verify: govcloud evidence verify "
             f"{evidence.folder})")
    summary = report.summary()
    note("audit: " + ", ".join(f"{k} {v}" for k, v in summary.items())
         + f", errors {len(report.errors)}")
    out.exit(report, input_errors=validated is not None and bool(validated.input_errors))


evidence_app = typer.Typer(help="Signed evidence bundles written by `govcloud audit --evidence`.",
                           no_args_is_help=True)


@evidence_app.command("verify")
@command
def evidence_verify(folder: Path = _FolderArg, trust: TrustedKeys = trusted_keys_options()
                    ) -> None:
    """Exit 0 if the bundle is intact; exit 4 naming every bad file."""
    from govcloud.audit.evidence import verify_bundle

    public, trusted, pinned = trust.resolve()
    problems = verify_bundle(folder, public, trusted)
    if problems:
        raise IntegrityError(f"{folder}: " + "; ".join(problems),
                             hint="the bundle was modified: do not rely on it; keep it and "
                             "investigate")
    note(f"ok: {folder}: every file matches the signed manifest; {pinned}")


def approve(
    request_file: Path = _RequestArg,
    approver: Approver = approver_options(),
    request_id: str = _IdOpt,
    os_cloud: str = _ApproveCloudOpt,
    authority: Authority = authority_options(),
) -> None:
    """Sign a request as one of the three roles (逐级审批, 三员); signatures go to
    <file>.approvals.json. The approval signs you, your role, the time, the request, the
    waivers and policies in force and the target cloud."""
    from govcloud.approvals import (
        Context,
        add_approval,
        load_requests,
        request_cloud,
        sign_request,
        waivers_in_force,
    )
    from govcloud.cli.common import record

    role = approver.role
    today = dt.date.today()
    private, holder = approver.holder(authority.roles(), today)
    requests = [d for d in load_requests(request_file)
                if request_id is None or d.id == request_id]
    if not requests:
        what = f"request '{request_id}'" if request_id else "no ResourceRequest"
        raise InputError(f"{request_file}: {what} not found", hint="approve a request file")
    documents = authority.documents()
    waivers = [d for d in documents if d.kind == "Waiver"]
    policy_set = authority.policy_digests()
    path = None
    for doc in requests:
        # as apply picks it: --os-cloud, else $OS_CLOUD, else the Platform's cloud
        cloud = os_cloud or os.environ.get("OS_CLOUD") or request_cloud(doc, documents)
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
    authority: Authority = authority_options(),
) -> None:
    """Exit 0 when every MLPS >= 3 request is approved for its cloud as apply would require;
    1 naming every problem otherwise (4: the roles do not verify)."""
    from govcloud.approvals import apply_problems, load_requests, needs_approval, request_cloud

    documents = authority.documents()
    targets: list[tuple[str, list[Any]]] = []
    checked = 0
    for request_file in request_files:
        for doc in load_requests(request_file):
            cloud = os_cloud or os.environ.get("OS_CLOUD") or request_cloud(doc, documents)
            if not cloud:
                raise InputError(f"{doc.ref}: no cloud (its platform is not in the inventory)",
                                 hint="pass --os-cloud NAME")
            targets.append((cloud, [doc]))
            checked += needs_approval(doc)
    roles = authority.roles() if checked else None
    problems = apply_problems(targets, roles, [d for d in documents if d.kind == "Waiver"],
                              authority.policy_digests(), dt.date.today())
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
