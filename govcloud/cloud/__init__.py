"""The OpenStack side of provisioning (openstacksdk): connect, read, carry out a plan.

``connect`` opens a cloud from clouds.yaml with every HTTP call counted; ``read_cloud`` reads
the managed tenants with one list call per resource type; ``apply.Executor`` carries out a
``govcloud.provision.Plan``. The pure diff lives in ``govcloud.provision``.
"""

from govcloud.cloud.read import Snapshot, read_cloud
from govcloud.cloud.session import CallCounter, Cloud, connect

__all__ = ["CallCounter", "Cloud", "Snapshot", "connect", "read_cloud"]
