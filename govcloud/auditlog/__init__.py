"""The tamper-evident audit log: one JSON line per command, chained with SM3, signed heads.

Each entry carries the SM3 hash of the previous line, so changing, deleting, inserting or
reordering a line breaks the chain at that point. With the audit key (审计管理员's key, SM2 by
default, from ``$GOVCLOUD_AUDIT_KEY`` or ``--audit-key``) every append also rewrites a signed
*head* file (``audit.log.head``: last seq, hash and size) and every ``CHECKPOINT_EVERY`` lines a
signed checkpoint line is added; before appending, the file is checked against its head and an
append over anything the head does not vouch for is refused. Witnesses outside the state folder
(a file, the system journal) keep a copy of every head, so that an older copy of log and head
put back is caught too. docs/audit-log.md has the threat model.
"""

from govcloud.auditlog.log import (
    CHECKPOINT_EVERY,
    KEY_ENV,
    AuditLog,
    append,
    default_log_path,
    generate_keypair,
    keygen,
    sm3_hex,
)
from govcloud.auditlog.verify import VerifyResult, verify

__all__ = [
    "CHECKPOINT_EVERY",
    "KEY_ENV",
    "AuditLog",
    "VerifyResult",
    "append",
    "default_log_path",
    "generate_keypair",
    "keygen",
    "sm3_hex",
    "verify",
]
