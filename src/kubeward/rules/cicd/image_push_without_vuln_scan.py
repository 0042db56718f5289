"""image-push-without-vuln-scan: a pushed image is not scanned, or its scan cannot fail."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._evidence import missing_strong_evidence
from kubeward.slsa import ImageBuild


@rule(
    id="image-push-without-vuln-scan",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        "https://trivy.dev/latest/docs/configuration/others/#exit-code",
        "https://github.com/anchore/grype#gating-on-severity-of-vulnerabilities",
    ),
    cross_file=True,
)
def image_push_without_vuln_scan(b: ImageBuild) -> Iterator[Finding]:
    """Pushed image is not scanned for vulnerabilities, or the scan cannot fail the build.

    A scan that only prints (trivy without `--exit-code 1`, `|| true`, `continue-on-error`,
    GitLab `allow_failure`, anchore/scan-action with `fail-build: false`) ships the image
    whatever it finds.

    ## Why it matters
    The pipeline is the cheapest place to stop a known-vulnerable image; after the push it is
    a cluster incident.

    ## Remediation
        trivy image --exit-code 1 --severity CRITICAL,HIGH "$IMAGE@$DIGEST"
    """
    yield from missing_strong_evidence(
        b,
        "scan",
        weak=lambda e: f"{e.how} cannot fail the build ({e.note})",
        weak_label="scan here",
        missing="is never scanned for vulnerabilities",
    )
