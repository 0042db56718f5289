"""A private key or credential is committed to the repository."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.gitsource import Credential
from kubeward.registry import Finding, Layer, Severity, rule


@rule(
    id="committed-private-key",
    layer=Layer.SOURCE,
    severity=Severity.CRITICAL,
    references=(
        "https://docs.sigstore.dev/cosign/key_management/signing_with_self-managed_keys/",
        "https://kubernetes.io/docs/concepts/configuration/secret/#docker-config-secrets",
        "https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/",
    ),
)
def committed_private_key(cred: Credential) -> Iterator[Finding]:
    """A private key or credential is committed to the repository.

    kubeward looks at key-material files (`cosign.key`, `*.pem`, `*.key`, `id_rsa`, ...) and
    at YAML/JSON: PEM private key blocks (cosign's encrypted keys included), kubeconfigs with
    a user token, password or client key, Docker config JSON (a `.dockerconfigjson` file or a
    `kubernetes.io/dockerconfigjson` Secret) with registry credentials, and tokens or
    passwords in `.npmrc`, `.pypirc` and `.netrc`. Templated values and obvious placeholders
    are left alone.

    ## Why it matters
    A signing key in the repository lets anyone with read access sign images that pass
    verification; a kubeconfig or registry credential gives cluster or registry access
    directly. Git keeps them in history even after the file is deleted.

    ## Remediation
    Revoke and rotate the credential, remove it from history (`git filter-repo`), and keep
    keys in a KMS or use keyless signing:

        cosign sign --yes ghcr.io/acme/shop@sha256:<digest>   # keyless, no key to leak
    """
    yield Finding(cred.span, cred.message, severity=cred.severity)
