from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.k8s import Container
from kubeward.registry import Finding, Layer, Related, Severity, rule

# A tag that names one release: three version numbers (`1.4.2`, `v2.10.0-alpine`,
# `2024.01.15`), or a commit-like hex id (`5c3dda6b`). Floating tags (`1.4`, `7-alpine`,
# `stable`, `main`) move to new releases as they come out.
_FIXED_TAG_RE = re.compile(
    r"^v?\d+\.\d+\.\d+(?:[-+._].*)?$"  # three version numbers, any suffix
    r"|^(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}$"  # a commit id
)


def is_release_tag(tag: str) -> bool:
    """Whether a tag names one release rather than a line of releases."""
    return bool(_FIXED_TAG_RE.match(tag))


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
    whatever it cached under the tag, whenever and from wherever it was pulled. Reported: an
    explicit `IfNotPresent` or `Never` on any image without a digest (at the policy line), and
    the default policy on a floating tag (`1.4`, `7-alpine`, `stable`: tags that move to new
    releases, so nodes run whichever release they cached first; at the image). Exempt: images
    pinned by digest (the digest names the content, so any cached copy is the right one),
    `latest` and untagged images (the API server defaults them to `Always`), and the default
    policy on a tag that names one release (`1.4.2`, `v2.10.0-alpine`, a commit id): such a
    tag moves at most for a rebuild of the same release, and `image-not-pinned-by-digest`
    already reports the image; a digest fixes both. This is narrower than Checkov's
    CKV_K8S_15, which flags every digest-less image without `Always`.

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
    elif ref.tag is not None and not ref.uses_latest and not is_release_tag(ref.tag):
        yield Finding(
            c.image_span,
            f"{c.display} pulls {ref.text} with the default imagePullPolicy IfNotPresent: "
            f"the floating tag '{ref.tag}' moves to new releases, and each node keeps the one "
            "it cached first",
        )
