"""``--format json``: exactly the contract's object (``Report.to_json()``), UTF-8, indent 2."""

from __future__ import annotations

from govcloud.model import Report
from govcloud.report.common import report_document, to_json_text


def render_json(report: Report, *, color: bool = False) -> str:
    # Chinese names stay readable (ensure_ascii=False); sections go through their JSON renderer.
    return to_json_text(report_document(report))
