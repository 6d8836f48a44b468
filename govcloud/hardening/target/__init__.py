"""A real Debian 12 target for hardening tests and demos: image build, boot, tear-down.

Nothing here imports ansible_runner; it only prepares hosts that Ansible reaches over SSH.
"""

from govcloud.hardening.target.fleet import fleet, fleet_inventory
from govcloud.hardening.target.image import build_image, cache_dir, image_path
from govcloud.hardening.target.machine import Target, down, list_targets, up

__all__ = [
    "Target",
    "build_image",
    "cache_dir",
    "down",
    "fleet",
    "fleet_inventory",
    "image_path",
    "list_targets",
    "up",
]
