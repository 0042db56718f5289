"""The types the gate's decisions are made of, and the protocol a verifier implements."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class Mode(enum.Enum):
    """A policy's mode, as policy-controller's `ClusterImagePolicy` `spec.mode`."""

    ENFORCE = "enforce"
    WARN = "warn"
    """A failure is reported as an admission warning; the image is admitted."""


class GateError(Exception):
    """An image could not be judged (registry down, bad reference); fails closed."""

    def __init__(self, reason: str, *, category: str = "registry-error") -> None:
        super().__init__(reason)
        self.reason = reason
        self.category = category


@dataclass(frozen=True)
class GateVerdict:
    """The judgment of one image digest against every policy that selects it."""

    allowed: bool
    reason: str
    digest: str | None
    policy_name: str | None
    """The policies that judged it, comma-separated (None when none selected it)."""
    mode: Mode
    """WARN when the verdict comes only from warn-mode policies."""
    category: str
    """A bounded word for metrics: verified, not-verified, no-policy, registry-error, ..."""
    definitive: bool = True
    """False when verification could not run to its end; such verdicts are never cached."""
    warnings: tuple[str, ...] = ()
    """Failures of warn-mode policies (the image is admitted)."""

    def to_json(self) -> dict[str, object]:
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "digest": self.digest,
            "policy_name": self.policy_name,
            "mode": self.mode.value,
            "category": self.category,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> GateVerdict:
        """The inverse of `to_json`; raises ValueError on anything else."""
        try:
            warnings = doc.get("warnings") or []
            digest, policy = doc.get("digest"), doc.get("policy_name")
            if not isinstance(warnings, list) or not isinstance(doc["allowed"], bool):
                raise ValueError("bad cached verdict")
            return cls(
                allowed=doc["allowed"],
                reason=str(doc["reason"]),
                digest=None if digest is None else str(digest),
                policy_name=None if policy is None else str(policy),
                mode=Mode(doc["mode"]),
                category=str(doc["category"]),
                warnings=tuple(str(w) for w in warnings),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError("bad cached verdict") from exc


@dataclass(frozen=True)
class Resolved:
    """An image reference, normalised: `registry/repository`, and its digest once known."""

    repository: str
    tag: str | None
    digest: str | None

    @property
    def pinned(self) -> str:
        """`registry/repository@sha256:…`: what the cache key and the verification use."""
        assert self.digest is not None
        return f"{self.repository}@{self.digest}"


class ImageVerifier(Protocol):
    """What the gate needs from the verification core. Calls block; deadlines are absolute
    `time.monotonic()` values that the verifier should respect as far as it can (the gate
    answers at the deadline whether or not the call has returned)."""

    @property
    def fingerprint(self) -> str:
        """A hash of the policies and the trust material; part of every cache key."""
        ...

    def parse(self, image: str) -> Resolved:
        """Normalise a reference without I/O; raises `GateError` (category bad-reference)."""
        ...

    def resolve(self, ref: Resolved, *, deadline: float) -> Resolved:
        """The digest the tag names now (ask the registry); raises `GateError`."""
        ...

    def verify(self, ref: Resolved, *, deadline: float) -> GateVerdict:
        """Judge `ref.pinned` against every policy that selects it."""
        ...
