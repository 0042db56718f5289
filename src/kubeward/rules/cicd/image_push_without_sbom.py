"""image-push-without-sbom: a pushed image has no SBOM attached or attested."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._evidence import missing_strong_evidence
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
    yield from missing_strong_evidence(
        b,
        "sbom",
        weak=lambda e: f"SBOM from {e.how} is not attached to the image",
        weak_label="SBOM generated here",
        missing="gets no SBOM",
    )
