"""Waivers: a time-boxed, approved exception for one policy on one target.

A waiver in force (``issued`` <= today <= ``expires``) marks matching findings as waived. One out
of its term waives nothing and is reported itself, so that nobody relies on it by accident. A
non-waivable (hard) policy ignores waivers and says so in its finding. Who may approve a waiver,
its reason and its longest term are checked when the inventory is validated (``authority.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from govcloud.documents import Catalog, Document
from govcloud.i18n import _, pick
from govcloud.model import DocError, Finding

EXPIRED_POLICY = "GC-WAIVER-001"
EXPIRED_TITLE = "Waiver has expired / 豁免已过期"
PENDING_POLICY = "GC-WAIVER-002"
PENDING_TITLE = "Waiver not yet in force / 豁免尚未生效"
WAIVER_RULE_IDS = (EXPIRED_POLICY, PENDING_POLICY)
# GB/T 22239-2019 8.1.7.3 (授权和审批) c): review approved items regularly and keep what needs
# approval, and who approves it, up to date. An expired waiver is an approval nobody reviewed.
CLAUSE = "GB/T 22239-2019 8.1.7.3"


def _date(doc: Document, field: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(doc.spec.get(field)))
    except ValueError:
        return None


def waiver_errors(catalog: Catalog, known_policies: Iterable[str],
                  hard_policies: Iterable[str] = ()) -> list[DocError]:
    """Waivers naming a policy that does not exist, or one that cannot be waived.

    (Approver, reason, term and dates are checked when the inventory is validated; a waiver
    failing those is not in the catalog.)
    """
    known, hard = set(known_policies), set(hard_policies)
    out = []
    for doc in catalog.of_kind("Waiver"):
        policy = doc.spec["policy"]
        where = (doc.file, doc.line_of("/spec/policy"), "/spec/policy")
        if policy not in known:
            out.append(DocError(*where, _("{ref}: policy '{policy}' does not exist; "
                                          "`govcloud policies` lists the ids").format(
                                              ref=doc.ref, policy=policy)))
        elif policy in hard:
            out.append(DocError(*where, _("{ref}: policy '{policy}' is a hard rule (not "
                                          "waivable): this waiver waives nothing; fix the "
                                          "finding instead").format(ref=doc.ref, policy=policy)))
    return out


def apply_waivers(
    findings: Iterable[Finding],
    catalog: Catalog,
    today: dt.date,
    waivable: dict[str, bool],
) -> list[Finding]:
    """Findings with the waivers in force applied (issued <= today <= expires), plus one
    finding per waiver out of its term (expired, or not yet issued)."""
    active: dict[tuple[str, str], Document] = {}
    out: list[Finding] = []
    for doc in catalog.of_kind("Waiver"):
        issued, expires = _date(doc, "issued"), _date(doc, "expires")
        if issued is None or expires is None:
            continue  # an invalid waiver is not in a validated catalog; never active
        if issued <= today <= expires:
            active[(doc.spec["policy"], doc.spec["target"])] = doc
        elif today > expires:
            out.append(_out_of_term(
                doc, EXPIRED_POLICY, EXPIRED_TITLE, "medium", "/spec/expires",
                _("waiver for {policy} on {target} expired on {date}; it waives nothing").format(
                    policy=doc.spec["policy"], target=doc.spec["target"],
                    date=expires.isoformat()),
                _("Fix the finding it covered, or have a security officer review it and issue "
                  "a new waiver (new approval, issue date and expiry)"),
                f"expires: {expires.isoformat()}, today: {today.isoformat()}"))
        else:
            out.append(_out_of_term(
                doc, PENDING_POLICY, PENDING_TITLE, "low", "/spec/issued",
                _("waiver for {policy} on {target} is issued on {date}, after today; it waives "
                  "nothing until then").format(policy=doc.spec["policy"],
                                               target=doc.spec["target"],
                                               date=issued.isoformat()),
                _("Check the issue date: a waiver is recorded once it is approved"),
                f"issued: {issued.isoformat()}, today: {today.isoformat()}"))
    for finding in findings:
        waiver = active.get((finding.policy, finding.target))
        if waiver is None:
            out.append(finding)
        elif finding.hard or not waivable.get(finding.policy, True):
            out.append(
                dataclasses.replace(
                    finding,
                    message=finding.message + _(" (waiver {id} ignored: this policy is not "
                                                "waivable)").format(id=waiver.id),
                )
            )
        else:
            out.append(dataclasses.replace(finding, waived=True, waiver=waiver.id))
    return out


def _out_of_term(doc: Document, policy: str, title: str, severity: str, path: str,
                 message: str, remediation: str, evidence: str) -> Finding:
    return Finding(
        policy=policy,
        title=pick(title, title.rpartition(" / ")[2]),
        severity=severity,
        target=doc.ref,
        message=message,
        file=doc.file,
        line=doc.line_of(path),
        path=path,
        remediation=remediation,
        references=(f"{CLAUSE} c)",),
        evidence=evidence,
        family="WAIVER",
    )
