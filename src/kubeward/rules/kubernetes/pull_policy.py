from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import Container
from kubeward.registry import Finding, Layer, Related, Severity, rule


@rule(
    id="image-pull-policy-not-always",
    layer=Layer.REGISTRY,
    severity=Severity.MEDIUM,
    references=(
        "https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy",
        "https://kubernetes.io/docs/concepts/containers/images/#imagepullpolicy-defaulting",
    ),
)
def image_pull_policy_not_always(c: Container) -> Iterator[Finding]:
    """Mutable image tag with an `imagePullPolicy` other than `Always`.

    With `IfNotPresent` (the default for any tag but `latest`) or `Never`, a node runs
    whatever it cached under the tag, whenever and from wherever it was pulled. An image
    pinned by digest is exempt: the digest names the content, so any cached copy is the right
    one. With no `imagePullPolicy`, the API server defaults to `Always` for `latest` or no tag
    and to `IfNotPresent` otherwise; the finding then points at the image.

    ## Why it matters
    Nodes drift apart: one runs the image pushed last week, another the one pushed today, and
    an image planted in a node's cache (by a privileged pod, or a pre-pulled poisoned image)
    is used without asking the registry, so registry-side controls never see it.

    ## Remediation
    Pin the image by digest (best), or make every start ask the registry:

        image: ghcr.io/acme/shop:1.4.2@sha256:<64 hex>
        # or
        imagePullPolicy: Always
    """
    ref = c.image
    if ref is None or not ref.is_resolved or ref.digest is not None:
        return
    policy = c.pull_policy
    if policy is not None:
        value = policy.text
        if value is None or policy.is_templated or value == "Always":
            return
        yield Finding(
            policy.span,
            f"{c.display} pulls the mutable {ref.text} with imagePullPolicy {value}",
            related=(Related(c.image_span, "the image"),),
        )
    elif not ref.uses_latest:
        yield Finding(
            c.image_span,
            f"{c.display} pulls the mutable {ref.text} with the default imagePullPolicy "
            "IfNotPresent",
        )
