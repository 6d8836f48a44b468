"""Compliance audit: live cloud + inventory + requests + hardening results in one report.

- the cloud as Cloud* documents comes from the OpenStack adapter
  (``govcloud.cloud.live.read_live``), as a ``CloudSnapshot``;
- ``run.run_audit(...)``: the pure combination into one ``Report``;
- ``html.render_audit_html(report)``: the assessor's page;
- ``evidence.write_bundle`` / ``verify_bundle``: signed evidence folders.

Importing the package registers the ``tenants`` and ``families`` report sections.
"""

from govcloud.audit import sections as _sections  # noqa: F401  (registers the sections)
from govcloud.audit.run import run_audit

__all__ = ["run_audit"]
