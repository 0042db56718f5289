"""Findings of `scan --verify-images`: what a registry serves for the images a scan names.

These rules run over `VerifiedImage`, which no file or scan provider yields (it needs the
network): the engine runs them only when the verification stage of `kubeward.verify.scan_hook`
is given, which builds a `VerifiedImage` per image reference after asking each registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubeward.model.images import ImageUse
from kubeward.registry import Finding, Layer, Severity, rule

if TYPE_CHECKING:  # the verification engine is loaded only when a scan verifies images
    from kubeward.verify.image import ImageVerdict

_COSIGN_VERIFY = "https://docs.sigstore.dev/cosign/verifying/verify/"
_POLICY_CONTROLLER = "https://docs.sigstore.dev/policy-controller/overview/"


@dataclass(frozen=True)
class VerifiedImage:
    """An image reference of the scan, and what its registry answered for it."""

    use: ImageUse
    image: str
    """The reference as it was checked (`registry/repository[:tag][@digest]`)."""
    result: ImageVerdict
    """The signature and attestation verdict against the policy given to `scan`."""
    tag_digest: str | None = None
    """For `name:tag@digest`: the digest the tag resolves to now (None when not checked)."""
    tag_missing: bool = False
    """For `name:tag@digest`: the registry no longer has the tag."""
    tag_covers_pin: bool = False
    """The tag resolves to an index that lists the pinned digest (a platform manifest)."""


NETWORK_RULES = frozenset({"image-signature-unverified", "image-tag-digest-drift"})
"""Rules over `VerifiedImage`: only `scan --verify-images` can produce their findings."""


@rule(
    id="image-signature-unverified",
    layer=Layer.SIGNING,
    severity=Severity.HIGH,
    cis=("5.5.1",),
    references=(_COSIGN_VERIFY, _POLICY_CONTROLLER),
)
def image_signature_unverified(image: VerifiedImage) -> Iterator[Finding]:
    """Image has no signature or attestation that satisfies the verification policy.

    With `kubeward scan --verify-images`, every image the scanned files reference is resolved
    in its registry and its cosign evidence (legacy `.sig`/`.att` tags and Sigstore bundles
    attached as referrers) is verified against the policy given on the command line (`--key`,
    `--certificate-identity` with `--certificate-oidc-issuer`) or in `--policy` (Sigstore
    policy-controller `ClusterImagePolicy` documents). The finding lists the reason each piece
    of evidence was rejected, or says that there was none.

    ## Why it matters

    A signature binds an image digest to the identity that built it. An image nobody signed, or
    signed by someone the policy does not trust, can have come from anywhere: a compromised
    build, a pushed-over tag, a typosquatted registry. An admission policy that verifies
    signatures will refuse this image at the gate; without one, it runs.

    ## Remediation

    Sign the image in the pipeline that builds it, keyless with the workload identity of the
    pipeline, and verify it with the same policy the cluster enforces:

    ```sh
    cosign sign --yes registry.example/shop/web@sha256:...
    kubeward scan deploy/ --verify-images \\
      --certificate-identity-regexp '^https://github.com/acme/shop/' \\
      --certificate-oidc-issuer https://token.actions.githubusercontent.com
    ```

    If the image is signed by another identity, fix the policy rather than the image.
    """
    result = image.result
    if result.verdict.value != "fail":
        return
    reasons = "; ".join(result.reasons) or "no reason given"
    digest = f" ({result.digest})" if result.digest else ""
    yield Finding(
        image.use.span,
        f"{image.image}{digest} is not verified: {reasons}",
        related=image.use.related,
        properties={
            "image": image.image,
            "digest": result.digest,
            "verdict": result.verdict.value,
            "reasons": list(result.reasons),
        },
    )


@rule(
    id="image-tag-digest-drift",
    layer=Layer.REGISTRY,
    severity=Severity.HIGH,
    references=("https://github.com/distribution/reference",),
)
def image_tag_digest_drift(image: VerifiedImage) -> Iterator[Finding]:
    """Image tag now resolves to a different digest than the one pinned beside it.

    For a reference written `name:tag@sha256:...`, the runtime pulls the digest and ignores the
    tag; `scan --verify-images` resolves the tag in the registry and compares. A tag that now
    names another manifest, or that no longer exists, means the pin and the tag disagree about
    which image this is. A tag that resolves to a multi-platform index listing the pinned digest
    is not drift.

    ## Why it matters

    Readers, renovation bots and scanners trust the tag; the cluster runs the digest. When they
    part, the running image is either an old build that misses fixes the tag now carries, or
    the tag was moved to an image nobody reviewed. Either way the manifest no longer says what
    it runs.

    ## Remediation

    Update the pin to the digest the tag names now, after verifying that image, or replace the
    tag with the one that matches the pinned build:

    ```yaml
    image: registry.example/shop/web:1.4.2@sha256:<the digest 1.4.2 resolves to>
    ```
    """
    ref = image.use.ref
    if ref.tag is None or ref.digest is None or image.tag_covers_pin:
        return
    if image.tag_missing:
        message = f"tag {ref.tag} of {ref.name} no longer exists; the pin {ref.digest} is unchecked"
    elif image.tag_digest is not None and image.tag_digest != ref.digest:
        message = (
            f"tag {ref.tag} of {ref.name} now resolves to {image.tag_digest}, not {ref.digest}"
        )
    else:
        return
    yield Finding(
        image.use.span,
        message,
        related=image.use.related,
        properties={
            "image": image.image,
            "pinned": ref.digest,
            "tag": ref.tag,
            "resolved": image.tag_digest,
        },
    )


__all__ = [
    "NETWORK_RULES",
    "VerifiedImage",
    "image_signature_unverified",
    "image_tag_digest_drift",
]
