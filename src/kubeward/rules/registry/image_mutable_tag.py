from collections.abc import Iterator

from kubeward.model.images import ImageUse
from kubeward.model.placeholders import placeholder
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule


@rule(
    id="image-mutable-tag",
    layer=Layer.REGISTRY,
    severity=Severity.MEDIUM,
    title="Image uses the latest tag or no tag at all",
    references=(
        "https://kubernetes.io/docs/concepts/configuration/overview/#container-images",
        "https://kubernetes.io/docs/concepts/containers/images/#image-names",
    ),
)
def image_mutable_tag(image: ImageUse, ctx: RuleContext) -> Iterator[Finding]:
    """Image uses the `latest` tag, or no tag (which means `latest`).

    `latest` is whatever was pushed last: nobody can say which version runs, roll back to a
    known one, or tell whether two nodes run the same code. An image with a digest is exempt
    (`name@sha256:...` and `name:latest@sha256:...` are pinned).

    ## Why it matters
    The Kubernetes configuration best practices advise against `:latest` in production: it
    makes the running version unknowable and lets any push reach the cluster on the next
    restart.

    ## Remediation
    Name an explicit version and pin its digest:

        image: redis:7.4.1@sha256:<64 hex>

    ## Example
        # bad
        image: redis
        image: redis:latest
        # good
        image: redis:7.4.1
    """
    if placeholder(image, ctx.scan) is not None:
        return  # left to image-unresolved
    ref = image.ref
    if not ref.is_resolved or ref.digest is not None:
        return
    if ref.tag == "latest":
        yield Finding(
            image.span,
            f"{ref.text} in {image.where} uses the mutable 'latest' tag",
            related=image.related,
        )
    elif ref.tag is None:
        yield Finding(
            image.span,
            f"{ref.text} in {image.where} has no tag, so it pulls 'latest'",
            related=image.related,
        )
