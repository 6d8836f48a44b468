"""devcloud: a real OpenStack on 127.0.0.1 for govcloud's demo and integration tests.

keystone, placement, nova (fake virt driver), neutron (ML2, devcloud's no-op binding driver, no
agents), cinder (fake volume driver) and glance (file store) from PyPI in a venv under
``<state_dir>/devcloud``, with Debian's MariaDB and RabbitMQ. Not for production.
"""

from govcloud.devcloud.clouds import ADMIN_CLOUD, USER_CLOUD
from govcloud.devcloud.layout import Layout
from govcloud.devcloud.lifecycle import Status, UpResult, down, is_up, status, up

__all__ = ["ADMIN_CLOUD", "USER_CLOUD", "Layout", "Status", "UpResult", "down", "is_up",
           "status", "up"]
