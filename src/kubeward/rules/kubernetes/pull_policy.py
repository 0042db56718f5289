from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.image import ImageRef
from kubeward.model.images import ImageUse
from kubeward.model.k8s import Container
from kubeward.model.placeholders import placeholder
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule

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
def image_pull_policy_not_always(use: ImageUse, ctx: RuleContext) -> Iterator[Finding]:
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
    CKV_K8S_15, which flags every digest-less image without `Always`. The image judged is the
    effective one: where a Kustomize overlay's `images:` sets the image of a base's
    container, the finding is at that entry (with the base's policy line related), and an
    overlay that pins a digest clears it, as for the image rules.

    Helm values images (`image.repository`/`tag`, Bitnami's `registry/repository/tag/digest`)
    are judged by the `pullPolicy` written beside them, which the chart passes on as the
    container's `imagePullPolicy`: an explicit `IfNotPresent` or `Never` on an image without a
    digest is reported at the `pullPolicy` value, on a release tag too, as for containers (so
    Bitnami's `pullPolicy: IfNotPresent` with `digest: ""` is reported). A values image with a
    digest, with `pullPolicy: Always`, or with no, an empty or a templated `pullPolicy` (the
    chart's templates decide) passes.

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
    if use.origin not in _ORIGINS or placeholder(use, ctx.scan) is not None:
        return
    ref = use.ref
    if not ref.is_resolved or ref.digest is not None:
        return
    if use.origin == "helm-values":
        yield from _values_policy(use, ref)
        return
    floating = ref.tag is not None and not ref.uses_latest and not is_release_tag(ref.tag)
    if use.origin == "container" and use.container is not None:
        yield from _as_written(use.container, ref, floating=floating)
        return
    # Set by a Kustomize overlay: judged at the `images:` entry that set the image, with the
    # containers (and their policy lines) as related places.
    explicit: list[tuple[Container, str]] = []
    defaulted: list[Container] = []
    for c in use.all_containers:
        value = _explicit_policy(c)
        if value is not None and value != "Always":
            explicit.append((c, value))
        elif value is None and c.pull_policy is None and floating:
            defaulted.append(c)
    if not explicit and not defaulted:
        return
    if explicit:
        policies = sorted({v for _, v in explicit})
        why = f"imagePullPolicy {'/'.join(policies)} in its base"
    else:
        why = f"the default imagePullPolicy IfNotPresent on the floating tag '{ref.tag}'"
    related = [
        Related(c.pull_policy.span, f"imagePullPolicy {v} of {c.display}")
        for c, v in explicit
        if c.pull_policy is not None
    ]
    yield Finding(
        use.span,
        f"{use.where} pulls {ref.text}, set here, with {why}: each node keeps the copy it "
        "cached first",
        related=(*related, *use.related),
    )


_ORIGINS = ("container", "kustomize-image", "helm-values")


def _values_policy(use: ImageUse, ref: ImageRef) -> Iterator[Finding]:
    """A Helm values image map's explicit `pullPolicy` (what the chart writes as the
    container's `imagePullPolicy`); unset, empty or templated: the chart's templates decide."""
    policy = use.pull_policy
    if policy is None or not policy.is_scalar or policy.is_templated:
        return
    value = (policy.text or "").strip()
    if value in ("", "Always"):
        return
    yield Finding(
        policy.span,
        f"{use.where} pulls the mutable {ref.text} with pullPolicy {value}",
        related=(Related(use.span, "the image"), *use.related),
    )


def _explicit_policy(c: Container) -> str | None:
    """The written imagePullPolicy, "Always" when it cannot be judged (templated), else None."""
    policy = c.pull_policy
    if policy is None:
        return None
    if policy.text is None or policy.is_templated:
        return "Always"
    return policy.text


def _as_written(c: Container, ref: ImageRef, *, floating: bool) -> Iterator[Finding]:
    policy = c.pull_policy
    value = _explicit_policy(c)
    if policy is not None and value is not None:
        if value == "Always":
            return
        yield Finding(
            policy.span,
            f"{c.display} pulls the mutable {ref.text} with imagePullPolicy {value}",
            related=(Related(c.image_span, "the image"),),
        )
    elif floating:
        yield Finding(
            c.image_span,
            f"{c.display} pulls {ref.text} with the default imagePullPolicy IfNotPresent: "
            f"the floating tag '{ref.tag}' moves to new releases, and each node keeps the one "
            "it cached first",
        )
