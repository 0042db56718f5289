"""image-push-without-vuln-scan: a pushed image is not scanned, or its scan cannot fail."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Related, Severity, rule
from kubeward.rules.cicd._evidence import describe_push, evidence_elsewhere
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
    scans = b.of("scan")
    if any(e.strong for e in scans):
        return
    if scans:
        yield Finding(
            b.push_span,
            f"{describe_push(b)}: {scans[0].how} cannot fail the build ({scans[0].note})",
            related=(Related(scans[0].span, "scan here"),),
        )
    else:
        tail, related = evidence_elsewhere(b, "scan")
        yield Finding(
            b.push_span,
            f"{describe_push(b)} is never scanned for vulnerabilities{tail}",
            related=related,
        )
