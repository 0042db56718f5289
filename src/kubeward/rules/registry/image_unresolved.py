from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.images import ImageUse
from kubeward.model.placeholders import placeholder
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule


@rule(
    id="image-unresolved",
    layer=Layer.REGISTRY,
    severity=Severity.LOW,
    references=(
        "https://github.com/distribution/reference/blob/main/reference.go",
        "https://kubernetes.io/docs/concepts/containers/images/#image-names",
    ),
)
def image_unresolved(image: ImageUse, ctx: RuleContext) -> Iterator[Finding]:
    """Image reference is templated or not a valid reference, so it cannot be judged.

    A low-confidence note, not an alarm: the other image rules stay silent on such a value
    (they cannot see through `{{ .Values.image }}` or `${IMAGE}`), and this rule says so, so
    that the gap is visible. A templated reference is reported at `info`; a literal that is
    not a valid reference at `low` (it fails to pull, or is a placeholder). An invalid digest
    is left to `image-not-pinned-by-digest`, which reports it.

    Placeholders are noted at `info` too, and the other image rules leave them alone: image
    names a `skaffold.yaml` declares as build artifacts (Skaffold replaces them with the image
    it builds, in the manifests under that file's directory), and ALL-CAPS tokens that a
    `sed`, `envsubst` or CI step fills in (`gcr.io/PROJECT_ID/app:v1`, `app:IMAGE_TAG`), and
    documentation placeholders in angle brackets (`<image_url>`, as kubernetes/examples has).

    ## Why it matters
    Whatever the template renders is what runs: the digest, tag, registry and typosquat checks
    only apply to the rendered value. Render the manifests (`helm template`, `kustomize
    build`) and scan the output to judge it.

    ## Remediation
    Scan rendered manifests, or give the template a literal, pinned default:

        image: "{{ .Values.image | default \\"ghcr.io/acme/shop:1.4.2@sha256:<64 hex>\\" }}"
    """
    ref = image.ref
    why = placeholder(image, ctx.scan) if not ref.templated else None
    if why is not None:
        yield Finding(
            image.span,
            f"{ref.text.strip()} in {image.where} is {why}; image rules cannot judge it until "
            "it is filled in",
            severity=Severity.INFO,
            properties={"placeholder": True},
        )
    elif ref.templated:
        yield Finding(
            image.span,
            f"{ref.text.strip()} in {image.where} is templated; image rules cannot judge it "
            "until it is rendered",
            severity=Severity.INFO,
        )
    elif ref.error is not None and "digest" not in ref.error:
        yield Finding(
            image.span,
            f"{ref.text.strip()!r} in {image.where} is not a valid image reference: {ref.error}",
        )
