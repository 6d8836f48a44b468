"""One WSGI entry point for devcloud's API services, chosen by ``DEVCLOUD_WSGI``.

The services' own ``wsgi.api`` modules let oslo.config parse ``sys.argv``; under gunicorn that is
gunicorn's command line and they die with "unrecognized arguments". So argv is reset first.
cinder reads its config file only from argv, hence ``DEVCLOUD_WSGI_ARGS``.
"""

import importlib
import os
import sys

_MODULES = {
    "keystone": "keystone.wsgi.api",
    "placement": "placement.wsgi.api",
    "nova": "nova.wsgi.osapi_compute",
    "neutron": "neutron.wsgi.api",
    "cinder": "cinder.wsgi.api",
    "glance": "glance.wsgi.api",
}

sys.argv = [sys.argv[0], *os.environ.get("DEVCLOUD_WSGI_ARGS", "").split()]
application = importlib.import_module(_MODULES[os.environ["DEVCLOUD_WSGI"]]).application
