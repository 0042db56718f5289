from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.images import ImageUse
from kubeward.model.placeholders import placeholder
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.registry._prefix import matches_prefix


@rule(
    id="image-registry-not-allowed",
    layer=Layer.REGISTRY,
    severity=Severity.HIGH,
    references=(
        "https://slsa.dev/spec/v1.0/threats#g-compromise-package-repo",
        "https://kubernetes.io/docs/concepts/containers/images/#image-names",
    ),
)
def image_registry_not_allowed(image: ImageUse, ctx: RuleContext) -> Iterator[Finding]:
    """Image comes from a registry outside the configured allowlist.

    Off until `allowed-registries` is set in `.kubeward.yaml`. Each entry is a registry host
    or a host with a path prefix, matched on whole path segments: `registry.example.com`
    admits `registry.example.com/team/app` but not `registry.example.com.evil.io/app` nor
    `registry.example.commerce/app`; `ghcr.io/acme` admits `ghcr.io/acme/app` but not
    `ghcr.io/acmeevil/app`. Docker Hub names are normalised first (`nginx` is
    `docker.io/library/nginx`, `bitnami` means `docker.io/bitnami`). Templated references
    are left to `image-unresolved`.

    ## Why it matters
    Each registry is a party that can serve any bytes under a tag. An allowlist keeps the
    cluster's supply chain to the registries you mirror, scan and sign, and stops a pasted
    manifest from pulling from anywhere.

    ## Remediation
    Mirror the image into an allowed registry and reference the mirror, or add the registry to
    the allowlist deliberately:

        # .kubeward.yaml
        allowed-registries:
          - registry.example.com
          - ghcr.io/acme

        image: registry.example.com/mirror/redis:7.4.1@sha256:<64 hex>
    """
    if placeholder(image, ctx.scan) is not None:
        return  # left to image-unresolved
    allowed = ctx.param("allowed-registries")
    ref = image.ref
    if not allowed or not ref.is_resolved:
        return
    if any(matches_prefix(ref, p) for p in allowed):
        return
    yield Finding(
        image.span,
        f"{ref.text} in {image.where} comes from {ref.registry}, which no entry of "
        f"allowed-registries admits ({', '.join(allowed)})",
        properties={"registry": ref.registry, "name": ref.name},
    )
