"""The audit's HTML report renders in a real browser: headless Chromium (Debian's chromium
package, installed by scripts/audit-deps.sh) loads it from disk and takes a screenshot, kept as
a CI artifact under out/test-artifacts/. Chromium missing is a failure, not a skip.

The report audits documents only (the demo province, example requests and the live-kind policy
fixtures), so it needs no cloud; it also passes a strict HTML5 parse.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import html5lib
import pytest
from typer.testing import CliRunner

from govcloud.cli.app import app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "out" / "test-artifacts"
FIXTURES = ROOT / "policies" / "fixtures"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_audit_html_renders_in_headless_chromium(tmp_path, monkeypatch):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed: run `sudo bash scripts/audit-deps.sh` "
                    "(or `make system-deps`)", pytrace=False)
    monkeypatch.setenv("GOVCLOUD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("OS_CLOUD", raising=False)
    report = tmp_path / "audit.html"
    # Exported Cloud* documents are not requests: they join a copy of the inventory.
    inventory = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory", inventory)
    for policy in ("GC-NET-001", "GC-CLS-002", "GC-SOD-001"):
        shutil.copy(FIXTURES / policy / "fail.yaml", inventory / f"{policy}-fail.yaml")
    paths = [inventory, ROOT / "examples" / "requests"]
    result = CliRunner().invoke(app, ["audit", *map(str, paths), "--inventory", str(inventory),
                                      "--no-hardening", "-o", "html", "--output", str(report)])
    assert result.exit_code == 1, result.output  # the examples carry violations
    html5lib.HTMLParser(strict=True).parse(report.read_text(encoding="utf-8"))

    shot = tmp_path / "audit.png"
    profile = tmp_path / "chromium-profile"  # never the user's profile
    run = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1280,2000",
         report.as_uri()],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    data = shot.read_bytes()
    assert _png_size(data) == (1280, 2000)
    # A blank page compresses to a few KB; the report (cards, tables, CJK text) to far more.
    assert len(data) > 60_000, len(data)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "audit-report.png")
    shutil.copy(report, ARTIFACTS / "audit-report.html")
