"""Verify one Sigstore bundle against an artifact: the `verify-bundle` command's engine."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from pathlib import Path

from kubeward.verify import _sigstore_python
from kubeward.verify._bundle import parse_bundle
from kubeward.verify._core import verify_evidence
from kubeward.verify._errors import InputError, VerificationError
from kubeward.verify._model import ArtifactRef, SignerPolicy, VerifiedSignature
from kubeward.verify._statement import parse_statement, require_subject
from kubeward.verify._trust import load_trusted_root, production_trusted_root_bytes


class Engine(enum.Enum):
    """Which implementation verifies a bundle."""

    AUTO = "auto"
    """kubeward's own engine always, and sigstore-python as well where it supports the
    bundle: both must accept. (Mutation testing found sigstore-python accepting a Rekor v2
    entry whose log id names no log of the trusted root, which sigstore-go refuses.)"""
    SIGSTORE = "sigstore"
    OWN = "own"


@dataclass(frozen=True)
class BundleVerdict:
    """The verified signature and the engine that verified it."""

    signature: VerifiedSignature
    engine: Engine


def artifact_from_input(value: str) -> ArtifactRef:
    """Conformance-protocol input: `sha256:<hex>` (if no such file exists) or a file path."""
    path = Path(value)
    if value.startswith("sha256:") and not path.exists():
        hexdigest = value.removeprefix("sha256:")
        try:
            digest = bytes.fromhex(hexdigest)
        except ValueError as exc:
            raise InputError(f"{value!r} is not a sha256 digest") from exc
        if len(digest) != 32:
            raise InputError(f"{value!r} is not a sha256 digest (needs 64 hex digits)")
        return ArtifactRef(sha256=digest)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read artifact {value}: {exc.strerror}") from exc
    return ArtifactRef(sha256=hashlib.sha256(data).digest(), data=data)


def verify_bundle(
    *,
    bundle_json: bytes,
    artifact: ArtifactRef,
    policy: SignerPolicy,
    trusted_root: Path | None,
    engine: Engine = Engine.AUTO,
) -> BundleVerdict:
    """Verify the bundle, its log entry and its signer, and that it covers `artifact`.

    For a DSSE envelope the artifact must be a subject of the in-toto statement.
    Raises `VerificationError` (or `InputError`) with the reason.
    """
    evidence = parse_bundle(bundle_json)
    root = load_trusted_root(trusted_root)
    use = engine
    if engine is not Engine.SIGSTORE:
        signature = verify_evidence(evidence, root=root, policy=policy, artifact=artifact)
        if engine is Engine.AUTO and _sigstore_python.supports(evidence, policy):
            use = Engine.SIGSTORE
        else:
            use = Engine.OWN
    if use is Engine.SIGSTORE:
        from kubeward.verify._model import IdentityPolicy

        if not isinstance(policy, IdentityPolicy):
            raise VerificationError("sigstore-python cannot verify key-based bundles")
        if trusted_root is None:
            root_json = production_trusted_root_bytes()
        else:
            root_json = trusted_root.read_bytes()
        dsse = _sigstore_python.verify(
            bundle_json=bundle_json, root_json=root_json, policy=policy, artifact=artifact
        )
        if engine is Engine.SIGSTORE:
            signature = VerifiedSignature(
                signer=policy.identity or "",
                issuer=policy.issuer,
                times=(),
                payload_type=dsse[0] if dsse else None,
                payload=dsse[1] if dsse else None,
            )
    if signature.payload_type is not None:
        assert signature.payload is not None
        statement = parse_statement(signature.payload_type, signature.payload)
        require_subject(statement, artifact.sha256, what="artifact")
    return BundleVerdict(signature=signature, engine=use)
