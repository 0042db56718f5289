"""A Flux `HelmRepository` or `OCIRepository` is fetched over plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.gitops import FluxSource
from kubeward.registry import Finding, Layer, Severity, rule


@rule(
    id="flux-source-insecure-transport",
    layer=Layer.SOURCE,
    severity=Severity.HIGH,
    references=(
        "https://fluxcd.io/flux/components/source/helmrepositories/#insecure",
        "https://fluxcd.io/flux/components/source/ocirepositories/#insecure",
    ),
)
def flux_source_insecure_transport(src: FluxSource) -> Iterator[Finding]:
    """A Flux `HelmRepository` or `OCIRepository` is fetched over plain HTTP.

    A `url` starting with `http://`, or `insecure: true` (which lets Flux talk to an OCI
    registry over plain HTTP), lets anyone on the network path swap the charts and manifests
    the cluster applies.

    ## Why it matters
    Without TLS, a network attacker substitutes content, and for an unverified source nothing
    downstream notices.

    ## Remediation
    Use HTTPS and drop `insecure`:

        spec:
          url: https://charts.example.com
    """
    if src.kind not in ("HelmRepository", "OCIRepository") or src.obj.kind != src.kind:
        return
    url = src.spec.get("url")
    if url is not None and (url.text or "").lower().startswith("http://"):
        yield Finding(url.span, f"{src.display} is fetched over plain HTTP")
    insecure = src.spec.get("insecure")
    if insecure is not None and insecure.bool is True:
        yield Finding(
            insecure.span, f"{src.display} sets insecure: true: plain HTTP to the registry"
        )
