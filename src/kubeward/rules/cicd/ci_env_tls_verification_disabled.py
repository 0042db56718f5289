"""ci-env-tls-verification-disabled: a pipeline variable turns off TLS certificate checks."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._variables import CiVariable
from kubeward.rules.dockerfile._tls import tls_env_note


@rule(
    id="ci-env-tls-verification-disabled",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        "https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpsslVerify",
        "https://docs.npmjs.com/cli/v10/using-npm/config#strict-ssl",
    ),
)
def ci_env_tls_verification_disabled(var: CiVariable) -> Iterator[Finding]:
    """A pipeline variable turns off TLS certificate checks for every command of the job.

    `GIT_SSL_NO_VERIFY` (any value), `NODE_TLS_REJECT_UNAUTHORIZED: 0`,
    `npm_config_strict_ssl: false` and `PYTHONHTTPSVERIFY: 0` set in `env:` or `variables:`
    make git, Node.js/npm or Python accept any certificate in every step that inherits them,
    including the ones that fetch dependencies and push releases. (`PIP_TRUSTED_HOST` is
    reported by `pip-index-env`.)

    ## Why it matters
    Anyone on the network path (a proxy, a compromised runner network, DNS) can then serve the
    code and packages the pipeline builds and ships, and read the credentials it sends.

    ## Remediation
    Remove the variable; for a private CA, trust it instead of turning checks off:

        env:
          NODE_EXTRA_CA_CERTS: /etc/ssl/certs/internal-ca.pem
          GIT_SSL_CAINFO: /etc/ssl/certs/internal-ca.pem
    """
    if var.name == "PIP_TRUSTED_HOST":
        return
    note = tls_env_note(var.name, (var.value.text or "").strip())
    if note:
        yield Finding(var.key.span, f"{note} (set in {var.where})")
