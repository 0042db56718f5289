"""Errors raised by the verification engine."""

from __future__ import annotations


class VerificationError(Exception):
    """Verification failed; the message is a human-readable reason.

    `kind` is a stable kebab-case word for machine consumers (JSON/SARIF output and the
    slsa-verifier compatible error names of `verify-provenance`).
    """

    def __init__(self, reason: str, *, kind: str = "verification-failed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class InputError(VerificationError):
    """The input (bundle, key, trusted root, policy) is malformed or unreadable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, kind="invalid-input")


class DeadlineExceeded(VerificationError):
    """The verification's deadline passed before it could finish: not a definitive answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, kind="deadline-exceeded")
