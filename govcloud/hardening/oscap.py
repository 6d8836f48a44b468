"""Independent verification with OpenSCAP: scan a target's root filesystem offline.

Uses bookworm's ``oscap-chroot`` with SSG 0.1.76 Debian 12 content unpacked by
scripts/hardening-deps.sh (bookworm's own SSG has no Debian 12 content). Offline scans judge
services as ``unknown`` and sysctls from config files only (see docs/hardening.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from govcloud.errors import ExecutionError
from govcloud.hardening.target.image import cache_dir

SSG_VERSION = "0.1.76"
ANSSI_INTERMEDIARY = "xccdf_org.ssgproject.content_profile_anssi_bp28_intermediary"
_XCCDF = "{http://checklists.nist.gov/xccdf/1.2}"
_RULE_PREFIX = "xccdf_org.ssgproject.content_rule_"
# The dpkginfo probe reads apt's binary cache named by the *host's* apt config; Docker-derived
# hosts set it to "" and every package check then goes wrong. Name it explicitly.
_APT_CONF = (
    'Dir::Etc::parts "/nonexistent";\nDir::Cache::pkgcache "pkgcache.bin";\n'
    'Dir::Cache::srcpkgcache "srcpkgcache.bin";\n'
)


@dataclass(frozen=True)
class ScanResult:
    results: dict[str, str]  # rule id (without the SSG prefix) -> pass|fail|notapplicable|...
    seconds: float

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(self.results.values()))

    def failing(self) -> list[str]:
        return sorted(r for r, v in self.results.items() if v == "fail")


def ssg_dir() -> Path:
    return cache_dir() / f"ssg-{SSG_VERSION}"


def datastream() -> Path:
    ds = ssg_dir() / "ssg-debian12-ds.xml"
    if not ds.exists():
        raise ExecutionError(
            f"SSG Debian 12 content not found at {ds}", hint="run scripts/hardening-deps.sh"
        )
    return ds


def parse_results(xml_path: Path) -> dict[str, str]:
    out = {}
    for rr in ET.parse(xml_path).iter(f"{_XCCDF}rule-result"):
        result = rr.find(f"{_XCCDF}result")
        out[rr.get("idref", "").removeprefix(_RULE_PREFIX)] = (
            result.text if result is not None and result.text else ""
        )
    return out


def scan_rootfs(
    rootfs: Path, profile: str = ANSSI_INTERMEDIARY, report_html: Path | None = None
) -> ScanResult:
    """Evaluate ``profile`` on the tree at ``rootfs`` (exit 2 = some rule failed: normal)."""
    import time

    if shutil.which("oscap-chroot") is None:
        raise ExecutionError("oscap-chroot is not installed", hint="run scripts/hardening-deps.sh")
    with tempfile.TemporaryDirectory(prefix="gc-oscap-") as tmp:
        conf = Path(tmp) / "apt.conf"
        conf.write_text(_APT_CONF)
        results = Path(tmp) / "results.xml"
        cmd = [
            "oscap-chroot",
            str(rootfs),
            "xccdf",
            "eval",
            "--profile",
            profile,
            "--results",
            str(results),
        ]
        if report_html:
            cmd += ["--report", str(report_html)]
        started = time.monotonic()
        proc = subprocess.run(
            [*cmd, str(datastream())],
            capture_output=True,
            text=True,
            env={**os.environ, "APT_CONFIG": str(conf)},
            timeout=600,
        )
        took = time.monotonic() - started
        if proc.returncode not in (0, 2) or not results.exists():
            raise ExecutionError(
                f"oscap failed (exit {proc.returncode})", hint=proc.stderr.strip()[-300:]
            )
        return ScanResult(parse_results(results), took)
