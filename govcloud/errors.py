"""Typed error tree. Each error carries the exit code of the spec; the CLI catches them once."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_EXECUTION = 3
EXIT_INTEGRITY = 4


class GovcloudError(Exception):
    """Base of every error govcloud raises on purpose. ``str(err)`` is one line for the user."""

    exit_code = EXIT_EXECUTION

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}: {self.hint}"
        return self.message


class InputError(GovcloudError):
    """Unreadable file, unparsable YAML, bad option value: exit 2."""

    exit_code = EXIT_USAGE


class PolicyError(GovcloudError):
    """A policy file that cannot be used (bad schema, duplicate id): exit 2."""

    exit_code = EXIT_USAGE


class CloudError(GovcloudError):
    """A cloud API call failed; names tenant, resource and step: exit 3."""

    exit_code = EXIT_EXECUTION


class ExecutionError(GovcloudError):
    """An external run (Ansible, a service) failed: exit 3."""

    exit_code = EXIT_EXECUTION


class IntegrityError(GovcloudError):
    """An audit log, evidence bundle or signature does not verify: exit 4."""

    exit_code = EXIT_INTEGRITY
