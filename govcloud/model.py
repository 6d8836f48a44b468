"""The result model shared by every command: findings, errors and the report that holds them.

Every renderer (table, JSON, SARIF, JUnit, Markdown, HTML) takes a ``Report``; nothing else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from govcloud.i18n import _

# The one severity ranking, worst first: critical 4, high 3, medium 2, low 1. Sorting, the
# "worst first" order of reports and every --fail-on threshold read it from here.
SEVERITIES = ("critical", "high", "medium", "low")
SEVERITY_RANK = {sev: len(SEVERITIES) - i for i, sev in enumerate(SEVERITIES)}
FAIL_ON_CHOICES = (*SEVERITIES, "never")


def severity_word(word: str) -> str:
    """A severity (or ``waived``) as the reader's language says it; the canonical word in
    machine formats and English."""
    words = {"critical": _("critical"), "high": _("high"), "medium": _("medium"),
             "low": _("low"), "waived": _("waived")}
    return words.get(word, word)


def severity_rank(severity: str) -> int:
    """For ordering: 4 for critical down to 1 for low; 0 for anything else."""
    return SEVERITY_RANK.get(severity, 0)


def at_or_above(severity: str, fail_on: str) -> bool:
    """Whether ``severity`` reaches the ``--fail-on`` threshold (``never``: nothing does).

    Both must be known: an unknown severity or threshold raises ``KeyError`` rather than pass.
    """
    rank = SEVERITY_RANK[severity]
    return fail_on != "never" and rank >= SEVERITY_RANK[fail_on]

# Bilingual labels for what a security officer reads (English / 中文).
LABELS = {
    "critical": "Critical / 严重",
    "high": "High / 高",
    "medium": "Medium / 中",
    "low": "Low / 低",
    "waived": "Waived / 已豁免",
    "policy": "Policy / 策略",
    "title": "Title / 标题",
    "severity": "Severity / 严重性",
    "target": "Target / 对象",
    "message": "Message / 说明",
    "location": "Location / 位置",
    "remediation": "Remediation / 整改建议",
    "references": "References / 依据",
    "evidence": "Evidence / 证据",
    "errors": "Errors / 错误",
    "findings": "Findings / 发现项",
    "summary": "Summary / 汇总",
    "report": "govcloud compliance report / 政务云合规报告",
    "no_findings": "No findings / 无发现项",
    "status": "Status / 状态",
    "open": "Open / 未整改",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One policy or rule violation on one target document."""

    policy: str
    title: str
    severity: str
    target: str  # "<Kind>/<id>"
    message: str
    file: str | None = None
    line: int | None = None
    path: str = ""  # JSON Pointer into the document
    waived: bool = False
    waiver: str | None = None
    remediation: str = ""
    references: tuple[str, ...] = ()
    evidence: str = ""  # what was seen, for the assessor
    family: str = ""  # control family, for grouping in reports
    hard: bool = False  # of a non-waivable policy: fails the gate whatever --fail-on says

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "title": self.title,
            "severity": self.severity,
            "target": self.target,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "waived": self.waived,
            "waiver": self.waiver,
            "remediation": self.remediation,
            "references": list(self.references),
            "evidence": self.evidence,
            "hard": self.hard,
        }

    def order(self) -> tuple[int, str, str, str]:
        """Sort key of a report: worst severity first, then policy, target and JSON path."""
        return (-severity_rank(self.severity), self.policy, self.target, self.path)

    @property
    def location(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class DocError:
    """An invalid document or input: what is wrong, where, and what to do."""

    file: str | None
    line: int | None
    path: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line:
            where = f"{where}:{self.line}"
        path = f" at {self.path}" if self.path else ""
        return f"{where}:{path} {self.message}" if path else f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Report:
    """Findings and errors of one run, plus named extra sections (consolidation, hosts...)."""

    findings: tuple[Finding, ...] = ()
    errors: tuple[DocError, ...] = ()
    title: str = LABELS["report"]
    sections: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        open_counts = Counter(f.severity for f in self.findings if not f.waived)
        out = {sev: open_counts.get(sev, 0) for sev in SEVERITIES}
        out["waived"] = sum(1 for f in self.findings if f.waived)
        return out

    def failing(self, fail_on: str) -> list[Finding]:
        return [f for f in self.findings if not f.waived and at_or_above(f.severity, fail_on)]

    def blocking(self, fail_on: str) -> list[Finding]:
        """The gate's decision (check, plan, apply): open findings at or above ``fail_on``, and
        every open finding of a hard (non-waivable) policy, whatever ``fail_on`` says."""
        return [f for f in self.findings
                if not f.waived and (f.hard or at_or_above(f.severity, fail_on))]

    def gate_exit_code(self, fail_on: str) -> int:
        return 1 if self.errors or self.blocking(fail_on) else 0

    def exit_code(self, fail_on: str) -> int:
        return 1 if self.errors or self.failing(fail_on) else 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": 1,
            "summary": self.summary(),
            "findings": [f.to_json() for f in self.findings],
            "errors": [e.to_json() for e in self.errors],
        }
        for name, section in self.sections.items():
            out.setdefault(name, section)  # a section never overrides a contract key
        return out
