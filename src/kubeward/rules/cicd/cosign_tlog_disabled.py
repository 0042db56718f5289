"""cosign-tlog-disabled: a signature kept out of the Rekor transparency log."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.slsa import ImageBuild


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
