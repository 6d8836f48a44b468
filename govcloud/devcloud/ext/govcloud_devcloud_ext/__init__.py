"""Code devcloud installs into its service venv (never imported by govcloud itself).

- ``mech_driver``: the ML2 mechanism driver that binds every port (there are no agents).
- ``wsgi``: one WSGI entry point for every API service run under gunicorn.
- ``register``: idempotent registration of users, flavors, networks and images (openstacksdk).
"""
