"""Evidence for the images a pipeline pushes (layers 2-3): signatures, provenance, SBOM, scans,
and the SLSA Build level the pipeline reaches."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
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

COSIGN_SIGN = "https://docs.sigstore.dev/cosign/signing/signing_with_containers/"


def _what(b: ImageBuild) -> str:
    image = b.image or "?"
    if "$" in image and b.keys and b.keys[0].literal:
        image = f"{b.keys[0].repo} ({image})"
    return f"image {image} pushed by job {b.job} ({b.push_how})"


def _elsewhere(b: ImageBuild, kind: str) -> tuple[str, tuple[Related, ...]]:
    """A message tail and related locations for evidence the pipeline has for other images."""
    others = b.others(kind)
    if not others:
        return "", ()
    names = sorted({e.image.split("@", 1)[0] for e in others})
    tail = f" ({others[0].how} in the pipeline covers only {', '.join(names)})"
    return tail, tuple(
        Related(e.span, f"{e.how} for {e.image.split('@', 1)[0]}") for e in others[:3]
    )


@rule(
    id="image-push-unsigned",
    layer=Layer.SIGNING,
    severity=Severity.HIGH,
    references=(COSIGN_SIGN,),
    cross_file=True,
)
def image_push_unsigned(b: ImageBuild) -> Iterator[Finding]:
    """Pipeline pushes an image but never signs it.

    Without a signature nothing downstream (an admission policy, `cosign verify`) can tell the
    image this pipeline built from one pushed by anyone else holding registry credentials.
    `cosign sign` or `notation sign` anywhere in the same pipeline counts, when it signs this
    image: a pipeline that pushes several images and signs some of them (by repository name,
    or by the digest output of the push step or job) is reported for the unsigned ones.

    ## Why it matters
    Registry credentials leak; a signature bound to the pipeline's identity is what lets the
    cluster refuse images that did not come from it.

    ## Remediation
    Sign the pushed digest, keyless, in the job that pushes (needs `id-token: write`):

        - run: cosign sign --yes "ghcr.io/acme/app@${{ steps.build.outputs.digest }}"
    """
    if not b.of("sign"):
        tail, related = _elsewhere(b, "sign")
        yield Finding(
            b.push_span,
            f"{_what(b)} is never signed"
            + (tail or " (no cosign sign or notation sign in the pipeline)"),
            related=related,
        )


@rule(
    id="cosign-sign-by-tag",
    layer=Layer.SIGNING,
    severity=Severity.MEDIUM,
    references=(COSIGN_SIGN,),
    cross_file=True,
)
def cosign_sign_by_tag(b: ImageBuild) -> Iterator[Finding]:
    """Image is signed by tag rather than by digest.

    `cosign sign IMAGE:TAG` resolves the tag when it runs; if the tag moved between the push
    and the signature (a concurrent build, an attacker with registry access), the signature
    covers someone else's image. cosign itself warns about it.

    ## Why it matters
    The signature is the pipeline's statement "I built this"; it must name the exact digest the
    pipeline pushed.

    ## Remediation
    Sign the digest the build step reports:

        cosign sign --yes "$IMAGE@${{ steps.build.outputs.digest }}"
    """
    for e in b.of("sign"):
        if not e.by_digest:
            yield Finding(
                e.image_span or e.span,
                f"{e.how} {e.note or ''} signs a tag, not the pushed digest".replace("  ", " "),
            )


@rule(
    id="cosign-keyless-without-id-token",
    layer=Layer.SIGNING,
    severity=Severity.MEDIUM,
    references=(
        "https://docs.sigstore.dev/cosign/signing/overview/",
        "https://docs.gitlab.com/ci/yaml/signing_examples/",
    ),
    cross_file=True,
)
def cosign_keyless_without_id_token(b: ImageBuild) -> Iterator[Finding]:
    """Keyless `cosign sign` runs in a job that cannot get an OIDC token.

    Keyless signing binds the signature to the CI identity through an OIDC token: GitHub needs
    `permissions: id-token: write` on the job (or workflow), GitLab an `id_tokens:` entry with
    `aud: sigstore`. Without it cosign falls back to an interactive browser flow and the step
    fails, or signing is silently skipped by a `|| true`.

    ## Why it matters
    A pipeline that is meant to sign but cannot ships unsigned images that admission policies
    then reject (or, if they are in audit mode, accept).

    ## Remediation
        permissions:
          id-token: write
          packages: write
    """
    for e in b.of("sign"):
        if b.system == "gitlab" and e.job.startswith("."):
            continue  # a hidden template never runs itself; the jobs using it are judged
        if e.how == "cosign sign" and e.keyless and e.job not in b.id_token_jobs:
            need = (
                "permissions: id-token: write"
                if b.system == "github"
                else "id_tokens: (aud: sigstore)"
            )
            yield Finding(e.span, f"keyless cosign sign in job {e.job}, which has no {need}")


_KMS = (
    "env://",
    "k8s://",
    "gcpkms://",
    "awskms://",
    "azurekms://",
    "hashivault://",
    "pkcs11:",
    "gitlab://",
)


@rule(
    id="cosign-key-in-repo",
    layer=Layer.SIGNING,
    severity=Severity.CRITICAL,
    references=("https://docs.sigstore.dev/cosign/key_management/overview/",),
    cross_file=True,
)
def cosign_key_in_repo(b: ImageBuild, ctx: RuleContext) -> Iterator[Finding]:
    """Image is signed with a private key read from the repository.

    `cosign sign --key cosign.key` with the key file committed to the repository means anyone
    who can read the repository (or any fork) can sign images as you. A password in a CI
    variable does not help: cosign keys are encrypted with it, but the ciphertext is public
    and the password is in every job that signs.

    ## Why it matters
    A signature is only as trustworthy as the key's custody.

    ## Remediation
    Sign keyless (OIDC identity, no key to leak), or keep the key in a KMS or a CI secret:

        cosign sign --yes --key env://COSIGN_PRIVATE_KEY "$IMAGE@$DIGEST"
    """
    root = b.pipeline.rsplit("/", 1)[0] + "/" if "/" in b.pipeline else ""
    root = root.removesuffix(".github/workflows/")
    for e in b.of("sign") + b.of("provenance"):
        key = e.key
        if not key or key == "notation" or key.startswith(_KMS) or "$" in key:
            continue
        rel = root + key.removeprefix("./")
        found = ctx.scan.file(rel)
        if found is not None:
            yield Finding(
                e.span,
                f"{e.how} reads the private key {key}, which is committed at {rel}",
                related=(Related(found.line_span(1), "the committed key"),),
            )
        elif key.endswith(".key"):
            yield Finding(
                e.span,
                f"{e.how} reads the private key from the file {key} in the workspace",
                severity=Severity.HIGH,
            )


@rule(
    id="cosign-tlog-disabled",
    layer=Layer.SIGNING,
    severity=Severity.HIGH,
    references=("https://docs.sigstore.dev/logging/overview/",),
    cross_file=True,
)
def cosign_tlog_disabled(b: ImageBuild) -> Iterator[Finding]:
    """Signature is not uploaded to the Rekor transparency log (`--tlog-upload=false`).

    Without the transparency log entry, nobody can detect a signature made with a stolen key
    and verifiers must pass `--insecure-ignore-tlog`; keyless signatures cannot be verified at
    all after the short-lived certificate expires.

    ## Why it matters
    The log is what makes misuse of a signing identity visible and keyless signatures
    verifiable later.

    ## Remediation
    Drop the flag (upload is the default):

        cosign sign --yes "$IMAGE@$DIGEST"
    """
    for e in b.of("sign"):
        if e.tlog_off:
            yield Finding(e.span, f"{e.how} with --tlog-upload=false: no transparency log entry")


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
        tail, related = _elsewhere(b, "provenance")
        yield Finding(b.push_span, f"{_what(b)} gets no provenance at all{tail}", related=related)
        return
    if any(e.strong for e in prov):
        return
    weak = prov[0]
    yield Finding(
        b.push_span,
        f"{_what(b)} gets only {weak.how} provenance: unsigned"
        + (" and minimal" if "mode=min" in weak.how else ""),
        related=(Related(weak.span, "unsigned provenance generated here"),),
        severity=Severity.LOW,
    )


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
            f"{_what(b)}: SBOM from {sboms[0].how} is not attached to the image",
            related=(Related(sboms[0].span, "SBOM generated here"),),
        )
    else:
        tail, related = _elsewhere(b, "sbom")
        yield Finding(b.push_span, f"{_what(b)} gets no SBOM{tail}", related=related)


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
            f"{_what(b)}: {scans[0].how} cannot fail the build ({scans[0].note})",
            related=(Related(scans[0].span, "scan here"),),
        )
    else:
        tail, related = _elsewhere(b, "scan")
        yield Finding(
            b.push_span, f"{_what(b)} is never scanned for vulnerabilities{tail}", related=related
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
            f"{_what(b)} reaches SLSA Build L{a.level}, below the target L{target}: "
            + "; ".join(a.reasons),
            properties={"slsa_level": a.level, "slsa_target": target, "reasons": list(a.reasons)},
        )
