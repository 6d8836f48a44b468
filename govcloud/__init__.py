"""govcloud: operate an OpenStack-based government cloud (政务云).

Declarative department requests, consolidation (集约化), JSON Schema policies,
MLPS 2.0 hardening and a tamper-evident audit trail.
"""

__version__ = "0.1.0"
API_VERSION = "govcloud/v1"
