"""What an image is verified against: the policy set, the trust material, and a deadline.

`PolicySet.digest` and `Trust.digest` are SHA-256 digests of canonical content: equal for
policies and roots that say the same thing however they were written (YAML layout, comments,
key order, whitespace), different as soon as anything that can change a verdict differs. An
admission gate keys its decision cache on them, beside the image digest.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519

from kubeward.model.image import ImageRef
from kubeward.verify._errors import DeadlineExceeded, InputError
from kubeward.verify._model import SignerPolicy
from kubeward.verify._trust import (
    TrustedRoot,
    parse_trusted_root,
    production_trusted_root_bytes,
)
from kubeward.verify.policy import (
    AttestationRequirement,
    ImagePolicy,
    command_line_policy,
    load_policy_file,
    parse_policy_documents,
)

_POLICY_SCHEMA = "kubeward.dev/policy-set/v1"
_PUBLIC_KEYS = (
    dsa.DSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed448.Ed448PublicKey,
    ed25519.Ed25519PublicKey,
    rsa.RSAPublicKey,
    x448.X448PublicKey,
    x25519.X25519PublicKey,
)


def _sha256(canonical: object) -> str:
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def canonical(value: object) -> object:
    """A JSON value holding everything `value` says, whatever its Python shape.

    Dataclasses become objects named by their class, with the fields that take part in their
    equality; public keys their DER SubjectPublicKeyInfo. A type this function does not know
    raises `TypeError` rather than being left out: a digest that ignored part of a policy
    would let a cache serve a decision made under another policy.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"cannot take the digest of {value!r}")
        return value
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, re.Pattern):
        return {"pattern": canonical(value.pattern), "flags": value.flags}
    if isinstance(value, tuple | list):
        return [canonical(v) for v in value]
    if isinstance(value, frozenset | set):
        items = [canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, _PUBLIC_KEYS):
        der = value.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {"public-key": der.hex()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {"type": type(value).__name__}
        for f in dataclasses.fields(value):
            if f.compare:
                out[f.name] = canonical(getattr(value, f.name))
        return out
    raise TypeError(f"cannot take the digest of a value of type {type(value).__name__}")


@dataclass(frozen=True)
class PolicySet:
    """The image policies in force: every policy that selects an image must pass, and an
    image no policy selects fails closed (as Sigstore policy-controller decides).

    Build one from `ClusterImagePolicy` documents (`from_file`, `from_yaml`) or for one
    signer and every image (`for_signer`, what `kubeward verify --key` does).
    """

    policies: tuple[ImagePolicy, ...]
    source: str = field(default="api", compare=False)
    """Where the policies came from (a file name, `command line`), for people."""

    @classmethod
    def from_file(cls, path: Path) -> PolicySet:
        """Every `ClusterImagePolicy` of a YAML file; raises `InputError` naming the file."""
        return cls(tuple(load_policy_file(path)), source=str(path))

    @classmethod
    def from_yaml(cls, text: str, *, source: str) -> PolicySet:
        """Every `ClusterImagePolicy` of a YAML stream; raises `InputError` naming `source`."""
        return cls(tuple(parse_policy_documents(text, source=source)), source=source)

    @classmethod
    def for_signer(
        cls, signer: SignerPolicy, *, attestations: Iterable[AttestationRequirement] = ()
    ) -> PolicySet:
        """One policy over every image: signed by `signer`, with these attestations (which,
        as in cosign, replace the need for a signature when any are listed)."""
        return cls((command_line_policy(signer, attestations),), source="command line")

    def selecting(self, ref: ImageRef) -> tuple[ImagePolicy, ...]:
        """The policies whose image globs select `ref` (its name, tag and digest)."""
        return tuple(p for p in self.policies if p.selects(ref.canonical))

    @cached_property
    def digest(self) -> str:
        """`sha256:<hex>` of the policies' canonical content (not of `source`)."""
        return _sha256({"schema": _POLICY_SCHEMA, "policies": canonical(self.policies)})


@dataclass(frozen=True)
class Trust:
    """The Sigstore trust material signatures are verified against: Fulcio CAs, Rekor and CT
    log keys and timestamp authorities (a `trusted_root.json`). Build it with `production`,
    `from_file` or `from_json`; keys for key-based signatures belong to the policy."""

    root: TrustedRoot = field(compare=False)
    """The parsed root the verification engine reads."""
    digest: str
    """`sha256:<hex>` of the root's canonical JSON (keys sorted, no insignificant space)."""

    @classmethod
    def from_json(cls, data: str | bytes, *, source: str) -> Trust:
        """Parse a `trusted_root.json` document; raises `InputError` naming `source`."""
        root = parse_trusted_root(data, source=source)
        return cls(root=root, digest=_sha256(json.loads(data)))

    @classmethod
    def from_file(cls, path: Path) -> Trust:
        """Read a `trusted_root.json`; raises `InputError` naming the file."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read trusted root {path}: {exc.strerror}") from exc
        return cls.from_json(data, source=str(path))

    @classmethod
    def production(cls) -> Trust:
        """The Sigstore public-good root that ships with sigstore-python (offline: nothing is
        fetched)."""
        return cls.from_json(
            production_trusted_root_bytes(), source="sigstore production (offline)"
        )

    @property
    def source(self) -> str:
        return self.root.source


@dataclass(frozen=True)
class Deadline:
    """The moment (on the `time.monotonic()` clock) by which a verification must answer.

    One deadline can cover several images (all the containers of a Pod): each verification
    gets what is left of it.
    """

    at: float
    """A `time.monotonic()` value."""

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """The deadline `seconds` from now."""
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def check(self, doing: str) -> None:
        """Raise `DeadlineExceeded` when the deadline has passed; `doing` names the step."""
        if self.expired:
            raise DeadlineExceeded(f"deadline passed before {doing}")
