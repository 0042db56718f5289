"""cosign-sign-by-tag: an image signed by tag rather than by digest."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._evidence import COSIGN_SIGN
from kubeward.slsa import ImageBuild


@rule(
    id="cosign-sign-by-tag",
    layer=Layer.SIGNING,
    severity=Severity.MEDIUM,
    references=(COSIGN_SIGN,),
    cross_file=True,
)
def cosign_sign_by_tag(b: ImageBuild) -> Iterator[Finding]:
    """Image is signed by tag rather than by digest.

    `cosign sign IMAGE:TAG` resolves the tag when it runs; if the tag moved between the push
    and the signature (a concurrent build, an attacker with registry access), the signature
    covers someone else's image. cosign itself warns about it.

    ## Why it matters
    The signature is the pipeline's statement "I built this"; it must name the exact digest the
    pipeline pushed.

    ## Remediation
    Sign the digest the build step reports:

        cosign sign --yes "$IMAGE@${{ steps.build.outputs.digest }}"
    """
    for e in b.of("sign"):
        if not e.by_digest:
            yield Finding(
                e.image_span or e.span,
                f"{e.how} {e.note or ''} signs a tag, not the pushed digest".replace("  ", " "),
            )
