"""image-push-without-sbom: a pushed image has no SBOM attached or attested."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Related, Severity, rule
from kubeward.rules.cicd._evidence import describe_push, evidence_elsewhere
from kubeward.slsa import ImageBuild


@rule(
    id="image-push-without-sbom",
    layer=Layer.BUILD,
    severity=Severity.LOW,
    references=(
        "https://docs.sigstore.dev/cosign/system_config/specifications/",
        "https://github.com/anchore/sbom-action",
    ),
    cross_file=True,
)
def image_push_without_sbom(b: ImageBuild) -> Iterator[Finding]:
    """Pushed image has no SBOM attached or attested.

    An SBOM (SPDX or CycloneDX) lists what is inside the image so that a new CVE can be matched
    to running images without rebuilding. It is useful to the cluster only when it travels
    with the image: `cosign attest --type spdxjson|cyclonedx`, `cosign attach sbom`,
    `actions/attest-sbom`, or buildx `sbom: true`. An SBOM left as a workflow artifact is
    reported as not attached.

    ## Why it matters
    Vulnerability response starts from "which images contain this package?".

    ## Remediation
        syft "$IMAGE@$DIGEST" -o spdx-json > sbom.spdx.json
        cosign attest --yes --type spdxjson --predicate sbom.spdx.json "$IMAGE@$DIGEST"
    """
    sboms = b.of("sbom")
    if any(e.strong for e in sboms):
        return
    if sboms:
        yield Finding(
            b.push_span,
            f"{describe_push(b)}: SBOM from {sboms[0].how} is not attached to the image",
            related=(Related(sboms[0].span, "SBOM generated here"),),
        )
    else:
        tail, related = evidence_elsewhere(b, "sbom")
        yield Finding(b.push_span, f"{describe_push(b)} gets no SBOM{tail}", related=related)
