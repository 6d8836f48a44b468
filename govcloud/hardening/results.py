"""Turn ansible-runner events into per-host, per-control results and a govcloud Report.

Pure functions over plain dicts (the runner's event stream and stats), so they are unit-tested
without Ansible. Status of one task event, by mode:

==========================  =================  ==================
event                       audit (--check)    remediate
==========================  =================  ==================
ok, changed=false           compliant          compliant
ok, changed=true            non-compliant      remediated
failed, ignored assert      non-compliant      non-compliant
failed (anything else)      error              error
skipped "would have run"    non-compliant      (n/a)
skipped (condition false)   not counted        not counted
unreachable                 error (host)       error (host)
==========================  =================  ==================

A control's status is the worst of its tasks (error > non-compliant > remediated > compliant).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from govcloud.hardening.controls import Control, control_ids_of
from govcloud.i18n import _, current_language, pick
from govcloud.model import DocError, Finding, Report

STATUSES = ("compliant", "remediated", "non-compliant", "error")
_RANK = {s: i for i, s in enumerate(STATUSES)}
_FINAL_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable")
_ASSERT_ACTIONS = ("assert", "ansible.builtin.assert", "ansible.legacy.assert")


@dataclass
class ControlResult:
    status: str
    tasks: list[dict[str, str]] = field(default_factory=list)

    def add(self, task: str, status: str, detail: str = "") -> None:
        self.tasks.append({"task": task, "status": status, "detail": detail})
        if _RANK[status] > _RANK[self.status]:
            self.status = status

    @property
    def message(self) -> str:
        worst = [t for t in self.tasks if t["status"] == self.status]
        return "; ".join(
            f"{t['task']}" + (f": {t['detail']}" if t["detail"] else "") for t in worst
        )


@dataclass
class HostResult:
    name: str
    reachable: bool = True
    unreachable_msg: str = ""
    controls: dict[str, ControlResult] = field(default_factory=dict)
    other_failures: list[str] = field(default_factory=list)  # failed tasks with no control id
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def compliant(self) -> bool:
        return (
            self.reachable
            and not self.other_failures
            and all(c.status in ("compliant", "remediated") for c in self.controls.values())
        )

    @property
    def verdict(self) -> str:
        """One word for the host: unreachable, error, non-compliant, remediated or compliant."""
        if not self.reachable:
            return "unreachable"
        if self.other_failures:
            return "error"
        worst = max((c.status for c in self.controls.values()), key=_RANK.__getitem__,
                    default="compliant")
        return worst

    def to_json(self) -> dict[str, Any]:
        return {
            "reachable": self.reachable,
            "unreachable": self.unreachable_msg,
            "compliant": self.compliant,
            "controls": {
                cid: {
                    "status": c.status,
                    "message": c.message if c.status != "compliant" else "",
                    "tasks": c.tasks,
                }
                for cid, c in sorted(self.controls.items())
            },
            "failures": self.other_failures,
            "stats": self.stats,
        }


def _short(res: Mapping[str, Any]) -> str:
    """What went wrong, in one line, without dumping the module result (may hold file contents)."""
    for key in ("msg", "stderr", "reason"):
        val = res.get(key)
        if isinstance(val, str) and val.strip():
            return val.strip().splitlines()[0][:300]
    return ""


def task_status(event: Mapping[str, Any], check: bool) -> tuple[str | None, str]:
    """Status of one final task event (None = not counted) and a one-line detail."""
    kind = event.get("event")
    data = event.get("event_data", {})
    res = data.get("res") or {}
    if kind == "runner_on_ok":
        if res.get("changed"):
            return ("non-compliant" if check else "remediated"), _changed_detail(res)
        return "compliant", ""
    if kind == "runner_on_failed":
        if data.get("ignore_errors") and data.get("task_action") in _ASSERT_ACTIONS:
            return "non-compliant", _short(res)
        return "error", _short(res)
    if kind == "runner_on_skipped":
        if check and "would have run" in str(res.get("msg", "")):
            return "non-compliant", "would run a fix"
        return None, ""
    if kind == "runner_on_unreachable":
        return "error", _short(res) or "host unreachable"
    return None, ""


def _changed_detail(res: Mapping[str, Any]) -> str:
    if res.get("changed_keys"):
        return "settings " + ", ".join(map(str, res["changed_keys"]))
    if res.get("changed_files"):
        return "files " + ", ".join(map(str, res["changed_files"]))
    items = [r for r in res.get("results", []) if isinstance(r, dict) and r.get("changed")]
    if items:
        labels = [str(r.get("_ansible_item_label", r.get("item", "")))[:60] for r in items]
        return "items " + ", ".join(labels)
    return ""


def collect(events: Iterable[Mapping[str, Any]], check: bool) -> dict[str, HostResult]:
    """Per-host results from the runner's event stream (final task events only, not items)."""
    hosts: dict[str, HostResult] = {}
    for ev in events:
        if ev.get("event") not in _FINAL_EVENTS:
            continue
        data = ev.get("event_data", {})
        host = data.get("host")
        if not host:
            continue
        hr = hosts.setdefault(host, HostResult(name=host))
        task = str(data.get("task", ""))
        status, detail = task_status(ev, check)
        if ev["event"] == "runner_on_unreachable":
            hr.reachable = False
            hr.unreachable_msg = detail
            continue
        ids = control_ids_of(task)
        if status is None:
            # Skipped because the probe found nothing to fix (or an option is off): the control
            # was looked at and needs nothing.
            for cid in ids:
                hr.controls.setdefault(cid, ControlResult("compliant"))
            continue
        if not ids:
            if status == "error":
                hr.other_failures.append(f"{task}: {detail}")
            continue
        res = data.get("res") or {}
        per_control = res.get("changed_controls")
        for cid in ids:
            st, why = status, detail
            if isinstance(per_control, dict) and status in ("non-compliant", "remediated"):
                # one task serving several controls says which of them needed a change
                keys = per_control.get(cid)
                st, why = (
                    (status, "settings " + ", ".join(map(str, keys))) if keys else ("compliant", "")
                )
            hr.controls.setdefault(cid, ControlResult("compliant")).add(task, st, why)
    return hosts


def finalize(
    hosts: dict[str, HostResult],
    controls: Mapping[str, Control],
    stats: Mapping[str, Mapping[str, int]] | None,
    inventory_hosts: Iterable[str] = (),
) -> dict[str, HostResult]:
    """Add silent hosts, per-host stats, and the controls a stopped run never reached.

    Each host is judged on its own events: one host unreachable or failed never changes another's
    results. A host of the inventory without any event, and every host of a run that ended
    without its summary (``stats`` None: stopped, timed out), is an error, never compliant.
    """
    ended = stats is not None
    stats = stats or {}
    for name in inventory_hosts:
        if name not in hosts:
            silent = not (stats.get("dark") or {}).get(name)  # else: unreachable, said below
            hosts[name] = HostResult(name=name, other_failures=[
                "no result from this host: the run ended before it ran a task"] if silent else [])
    if not ended:
        for hr in hosts.values():
            hr.other_failures.append("the run ended before its summary (stopped or timed out): "
                                     "results may be incomplete")
    for name, hr in hosts.items():
        hr.stats = {k: int((v or {}).get(name, 0)) for k, v in stats.items() if isinstance(v, dict)}
        if (stats.get("dark") or {}).get(name):
            hr.reachable = False
            hr.unreachable_msg = hr.unreachable_msg or "host unreachable"
        stopped = (
            (not hr.reachable)
            or bool(hr.other_failures)
            or any(c.status == "error" for c in hr.controls.values())
        )
        if stopped:
            why = "host unreachable" if not hr.reachable else "run stopped before this control"
            for cid in controls:
                if cid not in hr.controls:
                    hr.controls[cid] = ControlResult(
                        "error", [{"task": "(not evaluated)", "status": "error", "detail": why}]
                    )
    return hosts


def to_report(
    hosts: Mapping[str, HostResult],
    controls: Mapping[str, Control],
    mode: str,
    run: Mapping[str, Any] | None = None,
) -> Report:
    """Findings for non-compliant controls, errors for failed or unreachable hosts."""
    findings: list[Finding] = []
    errors: list[DocError] = []
    for host in sorted(hosts):
        hr = hosts[host]
        target = f"Host/{host}"
        if not hr.reachable:
            errors.append(
                DocError(
                    None,
                    None,
                    target,
                    _("unreachable: {reason}; check address, SSH key and that the "
                      "management account can log in").format(reason=hr.unreachable_msg),
                )
            )
        for failure in hr.other_failures:
            errors.append(DocError(None, None, target,
                                   _("task failed: {failure}").format(failure=failure)))
        for cid, cr in sorted(hr.controls.items()):
            ctl = controls.get(cid)
            if cr.status == "error" and hr.reachable:
                errors.append(DocError(None, None, f"{target}#{cid}",
                                       _("error: {error}").format(error=cr.message)))
            if cr.status != "non-compliant":
                continue
            findings.append(
                Finding(
                    policy=cid,
                    title=pick(ctl.title, ctl.title_zh) if ctl else cid,
                    severity=ctl.severity if ctl else "medium",
                    target=target,
                    message=_non_compliant(ctl, cr.message),
                    remediation=(pick(ctl.remediation, ctl.remediation_zh) if ctl else "")
                    + _(" (run `govcloud harden` without --check)"),
                    references=(ctl.clause,) if ctl and ctl.clause else (),
                    evidence=cr.message,
                    family=ctl.family if ctl else "",
                )
            )
    section = {
        "mode": mode,
        "hosts": {h: hosts[h].to_json() for h in sorted(hosts)},
    }
    if run:
        section.update({k: v for k, v in run.items() if k not in section})
    return Report(
        findings=tuple(findings),
        errors=tuple(errors),
        title="govcloud hardening report / 等保2.0三级主机加固报告",
        sections={
            "hosts": section["hosts"],
            "hardening": {k: v for k, v in section.items() if k != "hosts"},
        },
    )


def summary_counts(hosts: Mapping[str, HostResult]) -> dict[str, int]:
    out = dict.fromkeys(STATUSES, 0)
    for hr in hosts.values():
        for cr in hr.controls.values():
            out[cr.status] += 1
    return out


def _non_compliant(ctl: Control | None, detail: str) -> str:
    """English keeps the bilingual "中文标题 / non-compliant: ..." it always had; Chinese says
    the control's Chinese title once."""
    if current_language() == "zh":
        return _("non-compliant: {detail}").format(detail=detail)
    zh = ctl.title_zh + " / " if ctl and ctl.title_zh else ""
    return f"{zh}non-compliant: {detail}"
