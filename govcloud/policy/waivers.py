"""Waivers: a time-boxed, approved exception for one policy on one target.

An active waiver marks matching findings as waived. An expired one waives nothing and is
reported itself, so that nobody relies on it by accident. A non-waivable policy ignores waivers
and says so in its finding.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from govcloud.documents import Catalog, Document
from govcloud.model import DocError, Finding

EXPIRED_POLICY = "GC-WAIVER-001"
EXPIRED_TITLE = "Waiver has expired / 豁免已过期"


def _expiry(doc: Document) -> dt.date:
    return dt.date.fromisoformat(doc.spec["expires"])


def waiver_errors(catalog: Catalog, known_policies: Iterable[str]) -> list[DocError]:
    """Waivers naming a policy that does not exist, or a date that is not a date."""
    known = set(known_policies)
    out = []
    for doc in catalog.of_kind("Waiver"):
        if doc.spec["policy"] not in known:
            out.append(
                DocError(
                    doc.file,
                    doc.line_of("/spec/policy"),
                    "/spec/policy",
                    f"{doc.ref}: policy '{doc.spec['policy']}' does not exist; "
                    "`govcloud policies` lists the ids",
                )
            )
        try:
            _expiry(doc)
        except ValueError:
            out.append(
                DocError(
                    doc.file,
                    doc.line_of("/spec/expires"),
                    "/spec/expires",
                    f"{doc.ref}: '{doc.spec['expires']}' is not a real date",
                )
            )
    return out


def apply_waivers(
    findings: Iterable[Finding],
    catalog: Catalog,
    today: dt.date,
    waivable: dict[str, bool],
) -> list[Finding]:
    """Findings with waivers applied, plus one finding per expired waiver."""
    active: dict[tuple[str, str], Document] = {}
    out: list[Finding] = []
    for doc in catalog.of_kind("Waiver"):
        try:
            expires = _expiry(doc)
        except ValueError:
            continue  # reported by waiver_errors
        if expires >= today:
            active[(doc.spec["policy"], doc.spec["target"])] = doc
        else:
            out.append(
                Finding(
                    policy=EXPIRED_POLICY,
                    title=EXPIRED_TITLE,
                    severity="medium",
                    target=doc.ref,
                    message=(
                        f"waiver for {doc.spec['policy']} on {doc.spec['target']} expired on "
                        f"{expires.isoformat()}; it waives nothing"
                    ),
                    file=doc.file,
                    line=doc.line_of("/spec/expires"),
                    path="/spec/expires",
                    remediation="Fix the finding it covered, or renew the waiver with a new "
                    "approval and expiry date",
                    references=("GB/T 22239-2019 8.1.10.4",),
                    evidence=f"expires: {expires.isoformat()}, today: {today.isoformat()}",
                    family="WAIVER",
                )
            )
    for finding in findings:
        waiver = active.get((finding.policy, finding.target))
        if waiver is None:
            out.append(finding)
        elif not waivable.get(finding.policy, True):
            out.append(
                dataclasses.replace(
                    finding,
                    message=f"{finding.message} (waiver {waiver.id} ignored: this policy is not "
                    "waivable)",
                )
            )
        else:
            out.append(dataclasses.replace(finding, waived=True, waiver=waiver.id))
    return out
