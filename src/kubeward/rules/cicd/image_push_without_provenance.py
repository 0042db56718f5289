"""image-push-without-provenance: a pushed image gets no signed provenance."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Related, Severity, rule
from kubeward.rules.cicd._evidence import describe_push, evidence_elsewhere
from kubeward.slsa import AUTHENTIC, EXISTS, SLSA_REQUIREMENTS, ImageBuild


@rule(
    id="image-push-without-provenance",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    slsa=(f"Build L1: {EXISTS}", f"Build L2: {AUTHENTIC}"),
    references=(
        SLSA_REQUIREMENTS,
        "https://docs.docker.com/build/metadata/attestations/slsa-provenance/",
    ),
    cross_file=True,
)
def image_push_without_provenance(b: ImageBuild) -> Iterator[Finding]:
    """Pushed image gets no signed provenance.

    Provenance says which source, builder and steps produced the image; signed, it lets a
    verifier check that before deploying. `actions/attest-build-provenance`,
    slsa-github-generator's container workflow and `cosign attest --type slsaprovenance*`
    produce signed provenance. BuildKit's own provenance (`docker/build-push-action`'s default
    `provenance: mode=min`) is an unsigned attestation in the image index, recording little;
    it is reported here too, as weaker.

    ## Why it matters
    Without authentic provenance an image cannot be traced to the commit and build that made
    it (SLSA Build L2, "Provenance generation: Authentic").

    ## Remediation
        - uses: actions/attest-build-provenance@<sha> # v2
          with:
            subject-name: ghcr.io/acme/app
            subject-digest: ${{ steps.build.outputs.digest }}
            push-to-registry: true
    """
    prov = b.of("provenance")
    if not prov:
        tail, related = evidence_elsewhere(b, "provenance")
        yield Finding(
            b.push_span, f"{describe_push(b)} gets no provenance at all{tail}", related=related
        )
        return
    if any(e.strong for e in prov):
        return
    weak = prov[0]
    yield Finding(
        b.push_span,
        f"{describe_push(b)} gets only {weak.how} provenance: unsigned"
        + (" and minimal" if "mode=min" in weak.how else ""),
        related=(Related(weak.span, "unsigned provenance generated here"),),
        severity=Severity.LOW,
    )
