"""Render devcloud's config files from the templates shipped as package data.

Files are rewritten on every ``up`` (cheap, and a changed template takes effect on the next start);
all of them hold passwords, so they are written 0600.
"""

from __future__ import annotations

import getpass
from importlib import resources
from string import Template

from govcloud.devcloud.layout import PORTS, SERVICE_HOST, Layout
from govcloud.devcloud.secrets import write_private

# template name -> path under etc/ (nova, neutron, placement and glance read a config *dir*).
FILES = {
    "keystone.conf": "keystone/keystone.conf",
    "placement.conf": "placement/placement.conf",
    "nova.conf": "nova/nova.conf",
    "neutron.conf": "neutron/neutron.conf",
    "ml2_conf.ini": "neutron/plugins/ml2/ml2_conf.ini",
    "cinder.conf": "cinder/cinder.conf",
    "glance-api.conf": "glance/glance-api.conf",
    "my.cnf": "mariadb/my.cnf",
    "rabbitmq.conf": "rabbitmq/rabbitmq.conf",
    "enabled_plugins": "rabbitmq/enabled_plugins",
}


def _template(name: str) -> str:
    return resources.files("govcloud.devcloud").joinpath("templates", name).read_text("utf-8")


def values(layout: Layout, passwords: dict[str, str]) -> dict[str, str]:
    """Every ``${name}`` the templates use."""
    vals = {
        "data": str(layout.data),
        "run": str(layout.run),
        "logs": str(layout.logs),
        "venv": str(layout.venv),
        "db_socket": str(layout.db_socket),
        "db_url": f"mysql+pymysql://devcloud:{passwords['db']}@localhost",
        "db_query": f"?unix_socket={layout.db_socket}&charset=utf8mb4",
        "transport_url": (
            f"rabbit://devcloud:{passwords['rabbit']}@127.0.0.1:{PORTS['rabbitmq']}/"
        ),
        "rabbit_port": str(PORTS["rabbitmq"]),
        "rabbit_password": passwords["rabbit"],
        "keystone_port": str(PORTS["keystone"]),
        "service_password": passwords["service"],
        "fixed_key": passwords["keymgr"],
        "service_host": SERVICE_HOST,
        "os_user": getpass.getuser(),
    }
    vals["auth"] = Template(_template("auth.fragment")).substitute(vals).strip()
    return vals


def render_all(layout: Layout, passwords: dict[str, str]) -> None:
    vals = values(layout, passwords)
    for name, rel in FILES.items():
        target = layout.etc / rel
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = Template(_template(name)).substitute(vals)
        if not target.exists() or target.read_text("utf-8") != text:
            write_private(target, text)
    # nova-api takes the first file of its config dir as paste config: it needs api-paste.ini
    # beside nova.conf; neutron likewise. Copied (not linked) so the venv may be rebuilt.
    for service in ("nova", "neutron"):
        src = layout.venv / "etc" / service / "api-paste.ini"
        dst = layout.etc / service / "api-paste.ini"
        if src.exists() and (not dst.exists() or dst.read_bytes() != src.read_bytes()):
            dst.write_bytes(src.read_bytes())
