"""Vendored subchart package (`charts/*.tgz`) has no `.prov` provenance file beside it."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.helm import HelmChart
from kubeward.registry import Finding, Layer, Severity, rule


@rule(
    id="helm-vendored-chart-without-provenance",
    layer=Layer.REGISTRY,
    severity=Severity.MEDIUM,
    references=("https://helm.sh/docs/topics/provenance/",),
)
def helm_vendored_chart_without_provenance(chart: HelmChart) -> Iterator[Finding]:
    """Vendored subchart package (`charts/*.tgz`) has no `.prov` provenance file beside it.

    A packaged dependency committed under `charts/` is installed as is. Helm's provenance file
    (`name-version.tgz.prov`, written by `helm package --sign`) holds a signed digest of the
    archive; without it nobody can check (`helm verify`, `helm install --verify`) that the
    archive is the one its publisher released.

    ## Why it matters
    A vendored archive is opaque in review: a modified subchart (an extra template, a changed
    image) hides inside a binary blob in a pull request.

    ## Remediation
    Fetch the package with its provenance and verify it, then commit both:

        helm pull oci://registry.example.com/charts/common --version 2.31.4 --prov
        helm verify charts/common-2.31.4.tgz
    """
    for v in chart.vendored:
        if v.has_prov:
            continue
        span = chart.anchor
        for d in chart.dependencies:
            if v.name.startswith(f"{d.name}-"):
                span = d.span
                break
        yield Finding(span, f"{v.rel} has no provenance file {v.rel.rsplit('/', 1)[-1]}.prov")
