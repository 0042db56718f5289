"""image-push-unsigned: a pipeline pushes an image but never signs it."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._evidence import COSIGN_SIGN, describe_push, evidence_elsewhere
from kubeward.slsa import ImageBuild


@rule(
    id="image-push-unsigned",
    layer=Layer.SIGNING,
    severity=Severity.HIGH,
    references=(COSIGN_SIGN,),
    cross_file=True,
)
def image_push_unsigned(b: ImageBuild) -> Iterator[Finding]:
    """Pipeline pushes an image but never signs it.

    Without a signature nothing downstream (an admission policy, `cosign verify`) can tell the
    image this pipeline built from one pushed by anyone else holding registry credentials.
    `cosign sign` or `notation sign` anywhere in the same pipeline counts, when it signs this
    image: a pipeline that pushes several images and signs some of them (by repository name,
    or by the digest output of the push step or job) is reported for the unsigned ones.

    ## Why it matters
    Registry credentials leak; a signature bound to the pipeline's identity is what lets the
    cluster refuse images that did not come from it.

    ## Remediation
    Sign the pushed digest, keyless, in the job that pushes (needs `id-token: write`):

        - run: cosign sign --yes "ghcr.io/acme/app@${{ steps.build.outputs.digest }}"
    """
    if not b.of("sign"):
        tail, related = evidence_elsewhere(b, "sign")
        yield Finding(
            b.push_span,
            f"{describe_push(b)} is never signed"
            + (tail or " (no cosign sign or notation sign in the pipeline)"),
            related=related,
        )
