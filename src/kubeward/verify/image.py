"""`kubeward verify IMAGE...`: resolve each image, find its cosign evidence, apply policies."""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeward.verify._core import verify_evidence
from kubeward.verify._cosign import (
    Found,
    SbomLayer,
    legacy_attestations,
    legacy_sboms,
    legacy_signatures,
    referrer_bundles,
)
from kubeward.verify._errors import VerificationError
from kubeward.verify._model import ArtifactRef, SignerPolicy, VerifiedSignature
from kubeward.verify._statement import Statement, parse_statement
from kubeward.verify._trust import TrustedRoot
from kubeward.verify.policy import AttestationRequirement, Authority, ImagePolicy, SlsaConditions
from kubeward.verify.provenance import provenance_facts
from kubeward.verify.registry import ImageRef, RegistryClient, RegistryError, parse_image_ref

COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"


class Verdict(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    """The image could not be checked (registry down, malformed input)."""


@dataclass(frozen=True)
class Verified:
    """One piece of evidence that verified."""

    kind: str
    """`signature` or `attestation`."""
    where: str
    signer: str
    issuer: str | None
    times: tuple[str, ...]
    predicate_type: str | None = None


@dataclass(frozen=True)
class AttachedSbom:
    """An SBOM attached with `cosign attach sbom` (legacy `.sbom` tag): informational.

    Attaching signs nothing; `signed_by` is set when `cosign sign --attachment sbom` signed
    the `.sbom` manifest and that signature verifies for an authority of the image's policy.
    """

    where: str
    media_type: str
    digest: str
    size: int
    signed_by: str | None = None
    problems: tuple[str, ...] = ()
    """Why a signature over the SBOM did not verify (none when there was none)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "media_type": self.media_type,
            "digest": self.digest,
            "size": self.size,
            "signed_by": self.signed_by,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class ImageResult:
    """The verdict for one image and every reason behind it."""

    image: str
    digest: str | None
    verdict: Verdict
    reasons: tuple[str, ...]
    verified: tuple[Verified, ...] = ()
    sboms: tuple[AttachedSbom, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "digest": self.digest,
            "verdict": self.verdict.value,
            "reasons": list(self.reasons),
            "verified": [
                {
                    "kind": v.kind,
                    "where": v.where,
                    "signer": v.signer,
                    "issuer": v.issuer,
                    "times": list(v.times),
                    "predicate_type": v.predicate_type,
                }
                for v in self.verified
            ],
            "sboms": [s.to_json() for s in self.sboms],
        }


@dataclass
class _Evidence:
    """The image's evidence, fetched once and shared by all policies."""

    signatures: list[Found] = field(default_factory=list)
    attestations: list[Found] = field(default_factory=list)


def _same_repository(docker_reference: str, ref: ImageRef) -> bool:
    try:
        signed = parse_image_ref(docker_reference)
    except RegistryError:
        return False
    return (signed.registry, signed.repository) == (ref.registry, ref.repository)


def _check_simple_signing(payload: bytes, ref: ImageRef, digest: str) -> None:
    try:
        doc = json.loads(payload)
        critical = doc["critical"]
        signed_digest = critical["image"]["docker-manifest-digest"]
        docker_reference = critical["identity"]["docker-reference"]
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(
            "signature payload is not a cosign simple-signing document", kind="bad-payload"
        ) from exc
    if signed_digest != digest:
        raise VerificationError(
            f"signature is for {signed_digest}, not this image ({digest})", kind="subject-mismatch"
        )
    if not _same_repository(str(docker_reference), ref):
        raise VerificationError(
            f"signature's docker-reference {docker_reference} is not {ref.registry}/"
            f"{ref.repository}",
            kind="subject-mismatch",
        )


def _statement_for(
    found: Found, signer: SignerPolicy, root: TrustedRoot, digest: str
) -> tuple[Statement, VerifiedSignature]:
    assert found.evidence is not None
    signature = verify_evidence(found.evidence, root=root, policy=signer, artifact=None)
    if signature.payload_type is None or signature.payload is None:
        raise VerificationError("bundle is not an attestation (no DSSE envelope)")
    statement = parse_statement(signature.payload_type, signature.payload)
    if not statement.has_sha256(bytes.fromhex(digest.removeprefix("sha256:"))):
        raise VerificationError(
            f"{digest} is not a subject of the statement", kind="subject-mismatch"
        )
    return statement, signature


def _check_slsa(statement: Statement, conditions: SlsaConditions) -> None:
    if not conditions:
        return
    predicate = statement.predicate if isinstance(statement.predicate, dict) else {}
    builder = predicate.get("builder") or (predicate.get("runDetails") or {}).get("builder") or {}
    builder_id = str(builder.get("id", "")) if isinstance(builder, dict) else ""
    if conditions.builder_id is not None:
        matches = builder_id == conditions.builder_id or (
            "@" not in conditions.builder_id
            and builder_id.partition("@")[0] == conditions.builder_id
        )
        if not matches:
            raise VerificationError(
                f"provenance builder {builder_id!r} is not {conditions.builder_id!r}",
                kind="predicate-mismatch",
            )
    facts = provenance_facts(statement)
    if conditions.source_repository is not None:
        want = conditions.source_repository.removeprefix("git+").removeprefix("https://")
        have = facts.source.removeprefix("https://")
        if have != want:
            raise VerificationError(
                f"provenance source {facts.source!r} is not {conditions.source_repository!r}",
                kind="predicate-mismatch",
            )
    if conditions.ref is not None and facts.ref != conditions.ref:
        raise VerificationError(
            f"provenance ref {facts.ref!r} is not {conditions.ref!r}", kind="predicate-mismatch"
        )


def _signature_ok(
    authority: Authority,
    evidence: _Evidence,
    *,
    ref: ImageRef,
    digest: str,
    root: TrustedRoot,
    reasons: list[str],
) -> Verified | None:
    for found in evidence.signatures:
        if found.evidence is None:
            reasons.append(f"{found.where}: {found.problem}")
            continue
        try:
            if found.payload is not None:
                artifact = ArtifactRef(
                    sha256=hashlib.sha256(found.payload).digest(), data=found.payload
                )
                sig = verify_evidence(
                    found.evidence, root=root, policy=authority.signer, artifact=artifact
                )
                _check_simple_signing(found.payload, ref, digest)
            else:
                statement, sig = _statement_for(found, authority.signer, root, digest)
                if statement.predicate_type != COSIGN_SIGN_PREDICATE:
                    continue
        except VerificationError as exc:
            reasons.append(f"{found.where}: {exc.reason}")
            continue
        return Verified("signature", found.where, sig.signer, sig.issuer, sig.times)
    return None


def _attestation_ok(
    requirement: AttestationRequirement,
    authority: Authority,
    evidence: _Evidence,
    *,
    digest: str,
    root: TrustedRoot,
    reasons: list[str],
) -> Verified | None:
    seen = False
    for found in evidence.attestations:
        if found.evidence is None:
            reasons.append(f"{found.where}: {found.problem}")
            continue
        try:
            statement, sig = _statement_for(found, authority.signer, root, digest)
            if statement.predicate_type != requirement.predicate_type:
                continue
            seen = True
            _check_slsa(statement, requirement.slsa)
        except VerificationError as exc:
            reasons.append(f"{found.where}: {exc.reason}")
            continue
        return Verified(
            "attestation", found.where, sig.signer, sig.issuer, sig.times, statement.predicate_type
        )
    if not seen:
        reasons.append(
            f"no verified attestation of type {requirement.predicate_type} "
            f"({len(evidence.attestations)} attestation(s) found)"
        )
    return None


def _apply_authority(
    authority: Authority, evidence: _Evidence, *, ref: ImageRef, digest: str, root: TrustedRoot
) -> tuple[list[Verified], list[str]]:
    reasons: list[str] = []
    verified: list[Verified] = []
    if authority.require_signature:
        if not evidence.signatures:
            sig_reasons = ["no signature found (legacy .sig tag or cosign v3 bundle)"]
        else:
            sig_reasons = []
        hit = _signature_ok(
            authority, evidence, ref=ref, digest=digest, root=root, reasons=sig_reasons
        )
        if hit is None:
            return [], [f"signature by {authority.signer.describe()}: {r}" for r in sig_reasons]
        verified.append(hit)
    for requirement in authority.attestations:
        att_reasons: list[str] = []
        hit = _attestation_ok(
            requirement, authority, evidence, digest=digest, root=root, reasons=att_reasons
        )
        if hit is None:
            return [], [f"attestation {requirement.name}: {r}" for r in att_reasons]
        verified.append(hit)
    return verified, reasons


def _attached_sboms(
    client: RegistryClient,
    ref: ImageRef,
    digest: str,
    policies: Sequence[ImagePolicy],
    root: TrustedRoot,
) -> tuple[AttachedSbom, ...]:
    layers = legacy_sboms(client, ref, digest)
    if not layers:
        return ()
    signer, problems = _sbom_signer(client, ref, layers[0], policies, root)
    return tuple(
        AttachedSbom(
            where=layer.where,
            media_type=layer.media_type,
            digest=layer.digest,
            size=layer.size,
            signed_by=signer,
            problems=problems,
        )
        for layer in layers
    )


def _sbom_signer(
    client: RegistryClient,
    ref: ImageRef,
    layer: SbomLayer,
    policies: Sequence[ImagePolicy],
    root: TrustedRoot,
) -> tuple[str | None, tuple[str, ...]]:
    """Who signed the `.sbom` manifest, for any authority of the policies; else the reasons."""
    signatures = legacy_signatures(client, ref, layer.manifest_digest)
    if not signatures:
        return None, ()
    evidence = _Evidence(signatures=signatures)
    sbom_ref = ref.with_digest(layer.manifest_digest)
    reasons: list[str] = []
    for policy in policies:
        for authority in policy.authorities:
            hit = _signature_ok(
                authority,
                evidence,
                ref=sbom_ref,
                digest=layer.manifest_digest,
                root=root,
                reasons=reasons,
            )
            if hit is not None:
                return hit.signer, ()
    return None, tuple(dict.fromkeys(reasons))


def verify_image(
    image: str, *, policies: Sequence[ImagePolicy], client: RegistryClient, root: TrustedRoot
) -> ImageResult:
    """Verify one image against every policy that selects it."""
    client = client.with_deadline(client.options.image_deadline)
    try:
        ref = parse_image_ref(image)
        manifest = client.get_manifest(ref)
        if manifest is None:
            return ImageResult(image, None, Verdict.ERROR, (f"{ref}: manifest not found",))
        digest = manifest.digest
        selected = [p for p in policies if p.selects(image)]
        if not selected:
            return ImageResult(
                image, digest, Verdict.FAIL, ("no policy selects this image (fails closed)",)
            )
        evidence = _Evidence()
        evidence.signatures = legacy_signatures(client, ref, digest)
        bundles = referrer_bundles(client, ref, digest)
        evidence.attestations = legacy_attestations(client, ref, digest) + bundles
        evidence.signatures += [b for b in bundles if b.evidence is not None]
        verified: list[Verified] = []
        reasons: list[str] = []
        failed = False
        for policy in selected:
            if not policy.authorities:
                failed = True
                reasons.append(f"policy {policy.name}: no authorities (fails closed)")
                continue
            policy_reasons: list[str] = []
            for authority in policy.authorities:
                hits, why = _apply_authority(
                    authority, evidence, ref=ref.with_digest(digest), digest=digest, root=root
                )
                if hits:
                    verified += hits
                    reasons.append(f"policy {policy.name}: authority {authority.name} satisfied")
                    break
                policy_reasons += [f"authority {authority.name}: {r}" for r in why]
            else:
                failed = True
                reasons += [f"policy {policy.name}: {r}" for r in policy_reasons]
        verdict = Verdict.FAIL if failed else Verdict.PASS
        sboms = _attached_sboms(client, ref, digest, selected, root)
        return ImageResult(image, digest, verdict, tuple(reasons), tuple(verified), sboms)
    except RegistryError as exc:
        return ImageResult(image, None, Verdict.ERROR, (exc.reason,))
    except VerificationError as exc:
        return ImageResult(image, None, Verdict.ERROR, (exc.reason,))


def verify_images(
    images: Sequence[str],
    *,
    policies: Sequence[ImagePolicy],
    client: RegistryClient,
    root: TrustedRoot,
) -> list[ImageResult]:
    return [verify_image(i, policies=policies, client=client, root=root) for i in images]
