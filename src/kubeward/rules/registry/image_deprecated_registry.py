from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from typing import Any

from kubeward.model.images import ImageUse
from kubeward.model.placeholders import placeholder
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.registry._prefix import matches_prefix


@lru_cache(maxsize=1)
def deprecated_registries() -> list[dict[str, Any]]:
    """The data file's entries: prefix, status, replacement, sources."""
    f = resources.files("kubeward").joinpath("data", "deprecated_registries.json")
    entries: list[dict[str, Any]] = json.loads(f.read_text("utf-8"))["registries"]
    return entries


@rule(
    id="image-deprecated-registry",
    layer=Layer.REGISTRY,
    severity=Severity.MEDIUM,
    references=(
        "https://kubernetes.io/blog/2023/03/10/image-registry-redirect/",
        "https://docs.github.com/packages/working-with-a-github-packages-registry/working-with-the-docker-registry",
    ),
)
def image_deprecated_registry(image: ImageUse, ctx: RuleContext) -> Iterator[Finding]:
    """Image comes from a frozen, redirected or replaced registry (`k8s.gcr.io`...).

    The registries and their status come from package data (`deprecated_registries.json`)
    with a source for each: `k8s.gcr.io` (frozen in April 2023, redirected to
    `registry.k8s.io`) and GitHub's `docker.pkg.github.com` (replaced by `ghcr.io`).

    ## Why it matters
    A frozen registry gets no new images, so no security fixes: what it serves is stale by
    design. Redirects break where egress is limited to the old domain, and a domain that
    is eventually retired can change hands.

    ## Remediation
    Pull the same image from the replacement registry (check that the tag exists there):

        image: registry.k8s.io/pause:3.10
    """
    if placeholder(image, ctx.scan) is not None:
        return  # left to image-unresolved
    ref = image.ref
    if not ref.is_resolved:
        return
    for entry in deprecated_registries():
        if matches_prefix(ref, entry["prefix"]):
            rest = ref.text.strip()
            prefix = entry["prefix"]
            fixed = entry["replacement"] + rest[len(prefix) :] if rest.startswith(prefix) else None
            hint = f"; use {fixed}" if fixed else f"; use {entry['replacement']}"
            yield Finding(
                image.span,
                f"{ref.text} in {image.where} comes from {prefix}: {entry['status']}{hint}",
                properties={"sources": list(entry["sources"])},
            )
            return
