"""The `dockerfile-tls-verification-disabled` rule: a download accepts any TLS certificate."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.dockerfile import Dockerfile
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.dockerfile._checks import command_findings
from kubeward.rules.dockerfile._common import SLSA_COMPROMISED_DEPENDENCY
from kubeward.rules.dockerfile._tls import tls_command_checks, tls_env_note


@rule(
    id="dockerfile-tls-verification-disabled",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        SLSA_COMPROMISED_DEPENDENCY,
        "https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpsslVerify",
        "https://pip.pypa.io/en/stable/cli/pip/#cmdoption-trusted-host",
        "https://docs.npmjs.com/cli/v10/using-npm/config#strict-ssl",
    ),
)
def tls_verification_disabled(df: Dockerfile) -> Iterator[Finding]:
    """A download or package manager is told to accept any TLS certificate.

    Flags `curl -k`/`--insecure`, `wget --no-check-certificate`, `git -c http.sslVerify=false`
    and `git config http.sslVerify false`, `GIT_SSL_NO_VERIFY`, `pip --trusted-host` and
    `PIP_TRUSTED_HOST`, `npm`/`yarn config set strict-ssl false`,
    `NODE_TLS_REJECT_UNAUTHORIZED=0`, and Composer's `secure-http false`, in `RUN`, `ENV` and
    `ARG` defaults.

    ## Why it matters
    For pip, npm, git and plain downloads TLS is the only thing tying the bytes to the server;
    without it anyone on the network path of the build (a proxy, a compromised Wi-Fi, a cloud
    neighbour) can serve their own code (SLSA threat D: use compromised dependency).

    ## Remediation
    Keep verification on and give the tool the CA it needs instead:

        RUN --mount=type=secret,id=corp-ca,target=/usr/local/share/ca-certificates/corp.crt \\
            update-ca-certificates && curl -fsSL https://internal.example/tool.tgz -o /tmp/tool.tgz

    ## Example
        # bad
        RUN curl -k https://example.com/tool.tgz -o /tmp/tool.tgz
        # good
        RUN curl -fsSL https://example.com/tool.tgz -o /tmp/tool.tgz
    """
    yield from command_findings(df, tls_command_checks, tls_env_note)
