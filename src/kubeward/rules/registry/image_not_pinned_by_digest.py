from collections.abc import Iterator

from kubeward.model.images import ImageUse
from kubeward.model.placeholders import placeholder
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule


@rule(
    id="image-not-pinned-by-digest",
    layer=Layer.REGISTRY,
    severity=Severity.HIGH,
    references=(
        "https://kubernetes.io/docs/concepts/containers/images/#image-names",
        "https://github.com/distribution/reference/blob/main/reference.go",
        "https://slsa.dev/spec/v1.0/threats#g-compromise-package-repo",
    ),
)
def image_not_pinned_by_digest(image: ImageUse, ctx: RuleContext) -> Iterator[Finding]:
    """Image is referenced by a mutable tag, not by its content digest.

    A tag is a pointer the registry can move: whoever can push to the repository (or
    compromise the registry) changes what runs, with no change to the manifest. Only a digest
    (`@sha256:` and 64 hex characters) names the exact bytes that were reviewed, scanned and
    signed; `name:tag@sha256:...` keeps the tag for people and the digest for the runtime.
    A bare `@` or a short hash is not a digest.

    ## Why it matters
    Signature verification, vulnerability scans and provenance all speak about a digest. A pod
    that pulls a tag may get different content on each node and each restart (SLSA v1.0
    threat G: compromise package repo).

    ## Remediation
    Resolve the tag to its digest (`crane digest IMAGE:TAG`, or `docker buildx imagetools
    inspect`) and pin it, keeping the tag for readability:

        image: ghcr.io/acme/shop:1.4.2@sha256:<64 hex>

    Let a bot (Renovate, Dependabot) keep the digests current.

    ## Example
        # bad
        image: nginx:1.27
        # good
        image: nginx:1.27@sha256:0a3c7b9e1e4e4e5b1d6c1e1b7b0c59c2c1f0e1c7c9e0f4c2a7b4d6e8f0a1b2c3
    """
    if placeholder(image, ctx.scan) is not None:
        return  # left to image-unresolved
    ref = image.ref
    if ref.templated:
        return
    if ref.error is not None:
        if "digest" in ref.error:
            yield Finding(
                image.span, f"{ref.text} in {image.where}: {ref.error}", related=image.related
            )
        return
    if ref.digest is None:
        yield Finding(
            image.span,
            f"{ref.text} in {image.where} is not pinned by digest; pin it as "
            f"{ref.familiar_name}:{ref.tag or 'TAG'}@sha256:<digest>",
            related=image.related,
        )
