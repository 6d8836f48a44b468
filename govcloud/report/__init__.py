"""One Report, many renderers: ``render(report, fmt)`` for every ``--format``.

Each format lives in its own module and registers below; extra report sections (consolidation,
audit tenants, hardening hosts...) register with ``register_section`` a function that turns
their data into neutral blocks (``report/blocks.py``), which every format draws and escapes.
"""

from __future__ import annotations

from collections.abc import Callable

from govcloud.errors import InputError
from govcloud.i18n import _
from govcloud.model import Report
from govcloud.report.html import render_html
from govcloud.report.json_report import render_json
from govcloud.report.junit import render_junit
from govcloud.report.markdown import render_markdown
from govcloud.report.sarif import render_sarif, sarif_log
from govcloud.report.sections import (
    SectionRenderer,
    register_section,
    section_renderer,
    unregister_section,
)
from govcloud.report.table import render_table

Renderer = Callable[..., str]

_RENDERERS: dict[str, Renderer] = {
    "table": render_table,
    "json": render_json,
    "sarif": render_sarif,
    "junit": render_junit,
    "html": render_html,
    "markdown": render_markdown,
}
FORMATS: tuple[str, ...] = tuple(_RENDERERS)


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    """``report`` as text in ``fmt``; ``color`` adds ANSI colours to the table format only."""
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise InputError(_("unknown format '{fmt}'").format(fmt=fmt),
                         hint=_("use one of {choices}").format(choices=", ".join(FORMATS)))
    return renderer(report, color=color)


__all__ = [
    "FORMATS",
    "SectionRenderer",
    "render",
    "register_section",
    "sarif_log",
    "section_renderer",
    "unregister_section",
]
