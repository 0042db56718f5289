from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.images import ImageUse
from kubeward.registry import Finding, Layer, Severity, rule


@rule(
    id="image-unresolved",
    layer=Layer.REGISTRY,
    severity=Severity.LOW,
    references=(
        "https://github.com/distribution/reference/blob/main/reference.go",
        "https://kubernetes.io/docs/concepts/containers/images/#image-names",
    ),
)
def image_unresolved(image: ImageUse) -> Iterator[Finding]:
    """Image reference is templated or not a valid reference, so it cannot be judged.

    A low-confidence note, not an alarm: the other image rules stay silent on such a value
    (they cannot see through `{{ .Values.image }}` or `${IMAGE}`), and this rule says so, so
    that the gap is visible. A templated reference is reported at `info`; a literal that is
    not a valid reference at `low` (it fails to pull, or is a placeholder). An invalid digest
    is left to `image-not-pinned-by-digest`, which reports it.

    ## Why it matters
    Whatever the template renders is what runs: the digest, tag, registry and typosquat checks
    only apply to the rendered value. Render the manifests (`helm template`, `kustomize
    build`) and scan the output to judge it.

    ## Remediation
    Scan rendered manifests, or give the template a literal, pinned default:

        image: "{{ .Values.image | default \\"ghcr.io/acme/shop:1.4.2@sha256:<64 hex>\\" }}"
    """
    ref = image.ref
    if ref.templated:
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
