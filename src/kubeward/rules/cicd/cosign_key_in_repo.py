"""cosign-key-in-repo: an image signed with a private key read from the repository."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
from kubeward.slsa import ImageBuild

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
