"""The `running-image-unverified` rule: the digest that runs fails the signature policy."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.runtime import VerifiedRunning
from kubeward.registry import Finding, Layer, Related, Severity, rule


@rule(
    id="running-image-unverified",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    cis=("5.5.1",),
    references=("https://docs.sigstore.dev/cosign/verifying/verify/",),
)
def running_image_unverified(v: VerifiedRunning) -> Iterator[Finding]:
    """Running image digest has no signature or attestation that satisfies the policy.

    With `scan --cluster ... --verify-images`, the digest each container runs (`imageID`, in
    the repository the spec names) is verified in its registry against the policy given on
    the command line, as `kubeward verify` does: not the tag the spec names, which may have
    moved since. Offline, `--verify-results FILE` judges the running digests with the verdicts
    a `kubeward verify --format json` run recorded (digests it does not name are not judged).
    A running platform manifest passes through a passing index that lists it. The finding
    points at the `imageID` and lists why each piece of evidence was rejected, or says that
    there was none.

    ## Why it matters
    Admission verified some digest when the Pod was created; what matters now is the digest
    running. An unsigned running digest was never built by the pipeline the policy trusts, or
    got in around the gate: a moved tag, a side path, a policy that was not enforced.

    ## Remediation
    Find where the digest came from (`running-tag-moved`, `running-digest-not-admitted` often
    fire beside this one), roll the workload out on a signed digest pinned in the spec, and
    enforce the same policy at admission (`kubeward gate`, policy-controller, Kyverno
    `verifyImages` in `Enforce`).
    """
    result = v.result
    if result.verdict.value != "fail":
        return
    c = v.container
    reasons = "; ".join(result.reasons) or "no reason given"
    where = (Related(c.spec.image_span, "the image in the spec"),) if c.spec else ()
    yield Finding(
        c.span,
        f"{c.display} runs {v.image}, which is not verified: {reasons}",
        related=where,
        properties={"image": v.image, "verdict": result.verdict.value},
    )
