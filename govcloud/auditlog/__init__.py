"""The tamper-evident audit log: one JSON line per command, chained with SM3, signed heads.

Each entry carries the SM3 hash of the previous line, so changing, deleting, inserting or
reordering a line breaks the chain at that point. With a signing key (Ed25519, from
``$GOVCLOUD_AUDIT_KEY`` or ``--key``) every entry also rewrites a signed *head* file
(``audit.log.head``: last sequence number and hash) and every ``CHECKPOINT_EVERY`` entries a signed
checkpoint line is added, so cutting the tail off the log, or forging a line and re-hashing the
chain after it, does not verify either.
"""

from govcloud.auditlog.log import (
    CHECKPOINT_EVERY,
    AuditLog,
    VerifyResult,
    append,
    default_log_path,
    generate_keypair,
    sm3_hex,
    verify,
)

__all__ = [
    "CHECKPOINT_EVERY",
    "AuditLog",
    "VerifyResult",
    "append",
    "default_log_path",
    "generate_keypair",
    "sm3_hex",
    "verify",
]
