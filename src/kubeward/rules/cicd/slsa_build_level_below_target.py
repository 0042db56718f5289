"""slsa-build-level-below-target: an image-producing pipeline below the target SLSA Build level."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.cicd._evidence import describe_push
from kubeward.slsa import (
    AUTHENTIC,
    EXISTS,
    HOSTED,
    ISOLATED,
    SLSA_REQUIREMENTS,
    UNFORGEABLE,
    ImageBuild,
    assess,
)


@rule(
    id="slsa-build-level-below-target",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    slsa=(
        f"Build L1: {EXISTS}",
        f"Build L2: {AUTHENTIC}",
        f"Build L2: {HOSTED}",
        f"Build L3: {UNFORGEABLE}",
        f"Build L3: {ISOLATED}",
    ),
    references=(SLSA_REQUIREMENTS, "https://slsa.dev/spec/v1.0/levels"),
    cross_file=True,
)
def slsa_build_level_below_target(b: ImageBuild, ctx: RuleContext) -> Iterator[Finding]:
    """Image-producing pipeline reaches a SLSA Build level below the target.

    kubeward assesses the SLSA v1.0 Build track level each image-producing job can reach from
    what its pipeline shows (see docs/slsa.md) and reports it in the SLSA section of every
    report. This rule fires when the level is below `slsa-target-level` (default 3); the
    message gives the reason for each level reached or missed.

    ## Why it matters
    Each level closes a class of threats: L1 documents the build, L2 stops tampering after the
    build (signed provenance from a hosted platform), L3 stops tampering during the build
    (provenance the build steps cannot forge).

    ## Remediation
    For GitHub Actions, generate provenance with slsa-github-generator's container workflow
    (Build L3):

        provenance:
          needs: [build]
          permissions: {actions: read, id-token: write, packages: write}
          uses: >-
            slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@v2.1.0
          with:
            image: ghcr.io/acme/app
            digest: ${{ needs.build.outputs.digest }}

    (reusable workflows of slsa-github-generator must be called by tag, as its docs explain).
    """
    target = ctx.param("slsa-target-level", 3)
    try:
        target = int(target)
    except (TypeError, ValueError):
        target = 3
    a = assess(b)
    if a.level < target:
        yield Finding(
            b.push_span,
            f"{describe_push(b)} reaches SLSA Build L{a.level}, below the target L{target}: "
            + "; ".join(a.reasons),
            properties={"slsa_level": a.level, "slsa_target": target, "reasons": list(a.reasons)},
        )
