"""Verify one image: resolve it, find its cosign evidence, apply the policies that select it.

`verify_image` is the verification core that `kubeward verify`, `scan --verify-images` and an
admission gate share; its inputs (`PolicySet`, `Trust`, `Deadline`) are in
`kubeward.verify._inputs` and everything is exported from `kubeward.verify`.
"""

from __future__ import annotations

import enum
import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from kubeward.model.image import ImageRef, parse_image
from kubeward.verify._core import verify_evidence
from kubeward.verify._cosign import (
    Found,
    SbomLayer,
    legacy_attestations,
    legacy_sboms,
    legacy_signatures,
    referrer_bundles,
)
from kubeward.verify._errors import DeadlineExceeded, VerificationError
from kubeward.verify._inputs import Deadline, PolicySet, Trust
from kubeward.verify._model import ArtifactRef, SignerPolicy, VerifiedSignature
from kubeward.verify._statement import Statement, parse_statement
from kubeward.verify._trust import TrustedRoot
from kubeward.verify.policy import AttestationRequirement, Authority, ImagePolicy, SlsaConditions
from kubeward.verify.provenance import provenance_facts
from kubeward.verify.registry import RegistryClient, RegistryError, parse_image_ref

COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"


class Verdict(enum.Enum):
    """The outcome for one image."""

    PASS = "pass"
    """Every policy that selects the image is satisfied."""
    FAIL = "fail"
    """A definitive no: no policy selects the image, or one that does is not satisfied."""
    ERROR = "error"
    """The image could not be checked (registry down, malformed input, deadline passed): not
    a definitive answer, so not one to cache."""


@dataclass(frozen=True)
class Verified:
    """One piece of evidence that verified."""

    kind: str
    """`signature` or `attestation`."""
    where: str
    """Where it was found: the tag or referrer digest."""
    signer: str
    """The certificate identity (SAN), or the name of the key."""
    issuer: str | None
    """The OIDC issuer of a keyless signature."""
    times: tuple[str, ...]
    """The verified signing times, with their source (tlog, tsa)."""
    predicate_type: str | None = None
    """For attestations: the in-toto predicate type."""


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


@dataclass(frozen=True)
class PolicyOutcome:
    """How one policy that selects the image judged it."""

    policy: str
    """The policy's name (`metadata.name` of its `ClusterImagePolicy`)."""
    passed: bool
    authority: str | None = None
    """The authority that satisfied the policy (None when it failed)."""
    reasons: tuple[str, ...] = ()
    """Why each authority was not satisfied, when the policy failed."""


@dataclass(frozen=True)
class ImageVerdict:
    """The verdict for one image and every reason behind it."""

    image: str
    """The reference as given."""
    digest: str | None
    """The manifest digest the reference resolved to (None when it could not be resolved)."""
    verdict: Verdict
    reasons: tuple[str, ...]
    """Every reason, for people: which authority satisfied each policy, or why none did."""
    verified: tuple[Verified, ...] = ()
    sboms: tuple[AttachedSbom, ...] = ()
    policies: tuple[PolicyOutcome, ...] = ()
    """Each policy that selected the image, in the policy set's order."""
    error: str | None = None
    """For `Verdict.ERROR`: a stable kebab-case kind (`registry-error`, `invalid-input`,
    `deadline-exceeded`...)."""
    resolved: ImageRef | None = None
    """The reference pinned to the digest it resolved to (`name:tag@sha256:...`)."""

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    @property
    def definitive(self) -> bool:
        """PASS or FAIL: an answer about the image, not about reaching it."""
        return self.verdict is not Verdict.ERROR


@dataclass(frozen=True)
class VerificationReport:
    """What `kubeward verify` renders: the verdicts and what they were judged against."""

    verdicts: tuple[ImageVerdict, ...]
    version: str
    """kubeward's version."""
    policy_source: str
    policy_digest: str
    trust_source: str
    trust_digest: str


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


class _Progress:
    """The step a verification has reached, checked against its deadline at every step."""

    def __init__(self, deadline: Deadline | None) -> None:
        self.deadline = deadline
        self.doing = "starting"

    def step(self, doing: str) -> None:
        self.doing = doing
        if self.deadline is not None:
            self.deadline.check(doing)


def _apply_policy(
    policy: ImagePolicy, evidence: _Evidence, *, ref: ImageRef, digest: str, root: TrustedRoot
) -> tuple[PolicyOutcome, list[Verified]]:
    if not policy.authorities:
        return PolicyOutcome(policy.name, False, reasons=("no authorities (fails closed)",)), []
    reasons: list[str] = []
    for authority in policy.authorities:
        hits, why = _apply_authority(authority, evidence, ref=ref, digest=digest, root=root)
        if hits:
            return PolicyOutcome(policy.name, True, authority=authority.name), hits
        reasons += [f"authority {authority.name}: {r}" for r in why]
    return PolicyOutcome(policy.name, False, reasons=tuple(reasons)), []


def _outcome_reasons(outcome: PolicyOutcome) -> list[str]:
    if outcome.passed:
        return [f"policy {outcome.policy}: authority {outcome.authority} satisfied"]
    return [f"policy {outcome.policy}: {r}" for r in outcome.reasons]


def _parse(ref: ImageRef | str) -> ImageRef:
    parsed = parse_image(ref) if isinstance(ref, str) else ref
    if parsed.templated:
        raise VerificationError(
            f"{parsed.text!r} is a template; its value is not known", kind="invalid-input"
        )
    if parsed.error is not None:
        raise VerificationError(
            f"{parsed.text!r} is not a valid image reference: {parsed.error}",
            kind="invalid-input",
        )
    return parsed


def _verify(
    image: str,
    ref: ImageRef | str,
    policy: PolicySet,
    *,
    client: RegistryClient,
    root: TrustedRoot,
    progress: _Progress,
) -> ImageVerdict:
    try:
        parsed = _parse(ref)
        progress.step(f"resolving {parsed}")
        manifest = client.get_manifest(parsed)
        if manifest is None:
            return ImageVerdict(
                image,
                None,
                Verdict.ERROR,
                (f"{parsed}: manifest not found",),
                error="manifest-not-found",
            )
        digest = manifest.digest
        pinned = parsed.with_digest(digest)
        selected = policy.selecting(parsed)
        if not selected:
            return ImageVerdict(
                image,
                digest,
                Verdict.FAIL,
                ("no policy selects this image (fails closed)",),
                resolved=pinned,
            )
        progress.step(f"fetching the signatures and attestations of {pinned}")
        evidence = _Evidence()
        evidence.signatures = legacy_signatures(client, parsed, digest)
        bundles = referrer_bundles(client, parsed, digest)
        evidence.attestations = legacy_attestations(client, parsed, digest) + bundles
        evidence.signatures += [b for b in bundles if b.evidence is not None]
        outcomes: list[PolicyOutcome] = []
        verified: list[Verified] = []
        for image_policy in selected:
            progress.step(f"verifying {pinned} for policy {image_policy.name}")
            outcome, hits = _apply_policy(
                image_policy, evidence, ref=pinned, digest=digest, root=root
            )
            outcomes.append(outcome)
            verified += hits
        progress.step(f"fetching the SBOMs attached to {pinned}")
        sboms = _attached_sboms(client, parsed, digest, selected, root)
        return ImageVerdict(
            image,
            digest,
            Verdict.PASS if all(o.passed for o in outcomes) else Verdict.FAIL,
            tuple(r for o in outcomes for r in _outcome_reasons(o)),
            tuple(verified),
            sboms,
            policies=tuple(outcomes),
            resolved=pinned,
        )
    except VerificationError as exc:  # RegistryError, InputError, DeadlineExceeded among them
        error = exc
        if progress.deadline is not None and progress.deadline.expired:
            # A request cut short by the deadline (a socket timeout, the registry client's
            # own deadline): one kind of answer, whichever noticed first.
            error = DeadlineExceeded(f"deadline passed while {progress.doing}")
        return ImageVerdict(image, None, Verdict.ERROR, (error.reason,), error=error.kind)


def _within(
    deadline: Deadline, image: str, work: Callable[[], ImageVerdict], progress: _Progress
) -> ImageVerdict:
    """`work()`, or an ERROR verdict as soon as the deadline passes.

    The work runs on a daemon thread that the caller stops waiting for at the deadline; it
    gives up at its next step (each checks the deadline), and what it returns then is dropped.
    """
    answer: Future[ImageVerdict] = Future()

    def run() -> None:
        try:
            answer.set_result(work())
        except BaseException as exc:  # handed to the caller, who re-raises it
            answer.set_exception(exc)

    threading.Thread(target=run, name=f"verify {image}", daemon=True).start()
    try:
        return answer.result(timeout=deadline.remaining())
    except FutureTimeout:
        return _deadline_verdict(image, DeadlineExceeded(f"deadline passed while {progress.doing}"))


def verify_image(
    ref: ImageRef | str,
    policy: PolicySet,
    *,
    client: RegistryClient,
    trust: Trust,
    deadline: Deadline | None = None,
) -> ImageVerdict:
    """Verify one image against every policy of `policy` that selects it.

    Never raises for a bad image, registry or evidence: those are in the verdict (`FAIL` when
    the answer is no, `ERROR` when there is no answer). With a `deadline`, the verdict comes
    back by then: an `ERROR` of kind `deadline-exceeded` if the verification has not finished.
    """
    image = ref if isinstance(ref, str) else ref.text
    # The registry client ends its own requests by the same moment (and by its per-image
    # budget), so work cut off at the deadline does not linger on a slow registry.
    seconds = client.options.image_deadline
    if deadline is not None:
        left = deadline.remaining()
        seconds = left if seconds is None else min(seconds, left)
    client = client.with_deadline(seconds)
    progress = _Progress(deadline)
    if deadline is None:
        return _verify(image, ref, policy, client=client, root=trust.root, progress=progress)
    if deadline.expired:
        return _deadline_verdict(image, DeadlineExceeded(f"deadline passed before {image}"))

    def work() -> ImageVerdict:
        return _verify(image, ref, policy, client=client, root=trust.root, progress=progress)

    return _within(deadline, image, work, progress)


def _deadline_verdict(image: str, exc: DeadlineExceeded) -> ImageVerdict:
    return ImageVerdict(image, None, Verdict.ERROR, (exc.reason,), error=exc.kind)
