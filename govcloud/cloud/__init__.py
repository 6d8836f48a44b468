"""The one OpenStack adapter (openstacksdk): connect, read, carry out a plan.

``connect`` (``session.py``) opens a cloud from clouds.yaml with every HTTP call counted and
translates every failure into a ``CloudError`` with what to do; ``read_cloud`` (``read.py``)
reads the managed tenants with one list call per resource type (plan, drift, apply);
``live.read_live`` reads the whole cloud into Cloud* documents (audit); ``mappers.py`` holds
the one pure mapper per kind both use (and the planned state too); ``apply.Executor`` carries
out a ``govcloud.provision.Plan``. The pure diff lives in ``govcloud.provision``.
"""

from govcloud.cloud.read import Snapshot, read_cloud
from govcloud.cloud.session import CallCounter, Cloud, connect

__all__ = ["CallCounter", "Cloud", "Snapshot", "connect", "read_cloud"]
