"""The evidence model shared by bundles and cosign's legacy OCI signatures."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


@dataclass(frozen=True)
class InclusionProof:
    log_index: int
    tree_size: int
    root_hash: bytes
    hashes: tuple[bytes, ...]
    checkpoint: str | None


@dataclass(frozen=True)
class TlogEntry:
    """One Rekor entry, from a bundle or from cosign's `dev.sigstore.cosign/bundle`."""

    log_index: int
    log_id: bytes
    kind: str
    version: str
    body: bytes
    integrated_time: int | None
    signed_entry_timestamp: bytes | None
    inclusion_proof: InclusionProof | None


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope (payload decoded)."""

    payload_type: str
    payload: bytes
    signatures: tuple[bytes, ...]


@dataclass(frozen=True)
class Evidence:
    """Everything a signature comes with, whatever container it arrived in."""

    certificate: x509.Certificate | None
    """The signing certificate; None for key-based signatures."""
    message_signature: bytes | None = None
    message_digest: tuple[str, bytes] | None = None
    """(algorithm, digest) the bundle claims for the signed artifact."""
    envelope: Envelope | None = None
    tlog_entries: tuple[TlogEntry, ...] = ()
    timestamps: tuple[bytes, ...] = ()
    """DER RFC 3161 timestamp responses."""
    require_inclusion_proof: bool = False
    require_inclusion_promise: bool = False
    origin: str = "bundle"

    @property
    def signature(self) -> bytes:
        if self.envelope is not None:
            return self.envelope.signatures[0]
        assert self.message_signature is not None
        return self.message_signature


@dataclass(frozen=True)
class IdentityPolicy:
    """Keyless: the certificate SAN and OIDC issuer, each exact or as a regular expression
    (Go RE2, unanchored, as cosign: see `kubeward.policy.identity`).

    With `alternatives`, this pair or any one of those pairs is accepted, always as a pair
    (policy-controller `keyless.identities`, cosign's `CheckOpts.Identities`): a subject of
    one pair with the issuer of another is not.
    """

    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None
    extensions: tuple[tuple[str, str], ...] = ()
    """Extra Fulcio extension OIDs (dotted) and the exact value each must hold."""
    alternatives: tuple[IdentityPolicy, ...] = ()
    """Further (identity, issuer) pairs, each accepted on its own; their `extensions` and
    `alternatives` are not used."""

    @property
    def pairs(self) -> tuple[IdentityPolicy, ...]:
        """Every accepted (identity, issuer) pair, this one first."""
        return (replace(self, alternatives=()), *self.alternatives)

    def describe_pair(self) -> str:
        who = self.identity or f"/{self.identity_regexp}/"
        by = self.issuer or f"/{self.issuer_regexp}/"
        return f"identity {who} from issuer {by}"

    def describe(self) -> str:
        return " or ".join(p.describe_pair() for p in self.pairs)


@dataclass(frozen=True)
class KeyPolicy:
    """Key-based: one of these public keys must have made the signature."""

    keys: tuple[PublicKeyTypes, ...]
    name: str = "key"

    def describe(self) -> str:
        return f"public key {self.name}"


SignerPolicy = IdentityPolicy | KeyPolicy


@dataclass(frozen=True)
class ArtifactRef:
    """What was signed: the bytes, or only their SHA-256."""

    sha256: bytes
    data: bytes | None = None


@dataclass(frozen=True)
class VerifiedSignature:
    """The outcome of a successful verification."""

    signer: str
    """The certificate identity (SAN) or the key name."""
    issuer: str | None
    times: tuple[str, ...]
    """Verified times, with their source (tlog, tsa)."""
    payload_type: str | None = None
    payload: bytes | None = None
    notes: tuple[str, ...] = field(default=())
