"""`govcloud consolidation`: per-level shares, duplicates and the migration plan."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import typer

from govcloud.cli.common import (
    InventoryOpt,
    ReportOptions,
    command,
    note,
    record,
    report_options,
    resolve_inventory,
)
from govcloud.documents import Catalog
from govcloud.errors import InputError
from govcloud.model import Finding, Report
from govcloud.policy import apply_waivers
from govcloud.policy.waivers import EXPIRED_POLICY

PathsOpt = typer.Argument(None, help="Requests to include (the inventory is read from "
                          "--inventory: default $GOVCLOUD_INVENTORY, else ./inventory, else the "
                          "demo province shipped with govcloud).")
# A report, not a gate: consolidation fails a run only when --fail-on says so.
_FailOnOpt = typer.Option("never", "--fail-on", help="Exit 1 on consolidation findings at or "
                          "above this severity (default: never).")


def default_inventory(option: Path | None) -> Path:
    root, _ = resolve_inventory(option)
    if root is not None:
        return root
    from govcloud.policy.engine import default_policies_dir

    return default_policies_dir().parent / "inventory"


def _about(finding: Finding, rule_ids: set[str], catalog: Catalog) -> bool:
    """Consolidation findings, and expired waivers of consolidation rules (not other policies)."""
    if finding.policy in rule_ids:
        return True
    if finding.policy == EXPIRED_POLICY:
        waiver = catalog.get("Waiver", finding.target.partition("/")[2])
        return waiver is not None and waiver.spec["policy"] in rule_ids
    return False


def register(app: typer.Typer) -> None:
    @app.command()
    @command
    def consolidation(
        paths: list[Path] = PathsOpt,
        out: ReportOptions = report_options(_FailOnOpt),
        inventory: Path = InventoryOpt,
    ) -> None:
        """Duplicate machine rooms and systems, share of departments with independent rooms
        and own portals per level, and the migration plan (集约化)."""
        from govcloud.cli.app import load_documents
        from govcloud.consolidation import analyze, rules

        root = default_inventory(inventory)
        validated = load_documents(list(paths or []), 10 * 1024 * 1024, root,
                                   require_files=bool(paths))
        if not validated.files and not validated.input_errors:
            raise InputError("no YAML files found", hint="point --inventory at the inventory")
        result = analyze(validated.catalog)
        ours = {r.id for r in rules()}
        findings = [f for f in apply_waivers(result.findings, validated.catalog,
                                              dt.date.today(), {})
                    if _about(f, ours, validated.catalog)]
        report = Report(findings=tuple(findings), errors=validated.all_errors,
                        title="govcloud consolidation report / 政务云集约化报告",
                        sections={"consolidation": result.section()})
        if out.fmt == "json":
            # Exactly the analysis (with waivers applied, as in check); invalid documents are
            # an addition that appears only when there are some, each with file and line.
            data = replace(result, findings=tuple(findings)).to_json()
            if validated.all_errors:
                data["errors"] = [e.to_json() for e in validated.all_errors]
            out.write(report, text=json.dumps(data, indent=2, ensure_ascii=False))
        else:
            out.write(report)
        record("consolidation", [*(paths or []), root], result.to_json())
        shares = ", ".join(f"{lv.level} {lv.share_independent:.0%} rooms/"
                           f"{lv.share_portal:.0%} portals" for lv in result.levels)
        note(f"consolidation: {shares}; {len(result.duplicates)} duplicate group(s), "
             f"{len(result.plan)} room(s) in the migration plan")
        out.exit(report, input_errors=bool(validated.input_errors))

    del consolidation


