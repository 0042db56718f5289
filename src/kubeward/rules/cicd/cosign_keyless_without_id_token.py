"""cosign-keyless-without-id-token: keyless signing in a job that cannot get an OIDC token."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.slsa import ImageBuild


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
