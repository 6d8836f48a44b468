"""The adversarial corpus (tests/adversarial/): every case's stated verdict, through the real CLI.

See tests/adversarial/README.md for the header format. Each case is checked against the
repository's own inventory (authority data never comes from the request file).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govcloud.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "adversarial"
INVENTORY = ROOT / "inventory"
SEVERE = {"critical", "high"}


@dataclass
class Case:
    path: Path
    what: str = ""
    expect: str = ""
    findings: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    exit: int | None = None
    error: str = ""
    command: str = "check"
    args: list[str] = field(default_factory=list)


def _ids(value: str) -> list[str]:
    return [v for v in re.split(r"[,\s]+", value.strip()) if v]


def parse_case(path: Path) -> Case:
    case = Case(path)
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            if line.strip() in ("", "---"):
                continue
            break
        match = re.match(r"#\s*(case|expect|findings|absent|exit|error|command|args):\s*(.*)$",
                         line)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if key == "case":
            case.what = value
        elif key == "expect":
            case.expect = value
        elif key in ("findings", "absent"):
            getattr(case, key).extend(_ids(value))
        elif key == "exit":
            case.exit = int(value)
        elif key == "error":
            case.error = value
        elif key == "command":
            case.command = value
        elif key == "args":  # a path under tests/ is the repository's (any working directory)
            case.args = [str(ROOT / a) if a.startswith("tests/") else a for a in value.split()]
    return case


CASES = sorted(CORPUS.rglob("*.yaml"))


def test_corpus_is_large_enough_and_every_case_states_a_verdict():
    assert len(CASES) >= 40, f"the corpus has {len(CASES)} cases, the issue asks for at least 40"
    for path in CASES:
        case = parse_case(path)
        assert case.expect in ("refused", "accepted"), f"{path}: no '# expect:' line"
        assert case.what, f"{path}: no '# case:' line"


def _run(case: Case, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GOVCLOUD_INVENTORY", str(INVENTORY))
    monkeypatch.delenv("OS_CLOUD", raising=False)
    args = [case.command, str(INVENTORY), str(case.path), "-o", "json", *case.args]
    return CliRunner().invoke(app, args)


def _mine(item: dict, path: Path) -> bool:
    return Path(str(item.get("file") or "")).resolve() == path.resolve()


@pytest.mark.parametrize("path", CASES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_case(path: Path, monkeypatch: pytest.MonkeyPatch):
    case = parse_case(path)
    result = _run(case, monkeypatch)
    output = result.stdout
    stderr = result.stderr if result.stderr_bytes is not None else ""
    try:
        report = json.loads(output) if output.strip() else None
    except json.JSONDecodeError:
        report = None
    findings = [f for f in (report or {}).get("findings", []) if _mine(f, path)]
    errors = [e for e in (report or {}).get("errors", []) if _mine(e, path)]
    open_ids = {f["policy"] for f in findings if not f.get("waived")}
    severe = [f for f in findings if not f.get("waived") and f["severity"] in SEVERE]
    where = f"{case.what}\nexit {result.exit_code}\nstderr: {stderr}\nfindings: {sorted(open_ids)}"

    if case.exit is not None:
        assert result.exit_code == case.exit, where
    refused = bool(severe or errors or result.exit_code not in (0, 1))
    assert refused == (case.expect == "refused"), where
    for rule in case.findings:
        assert rule in open_ids, f"{rule} not reported\n{where}"
    for rule in case.absent:
        assert rule not in open_ids, f"{rule} reported\n{where}"
    if case.error:
        texts = [e.get("message", "") for e in errors] + [stderr]
        assert any(case.error in t for t in texts), f"error '{case.error}' not said\n{where}"
