"""ci-script-tls-verification-disabled: a `run:`/`script:` command turns off TLS certificate
checks."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.dockerfile import split_shell
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._shell import ShellScript
from kubeward.rules.dockerfile._checks import command_notes
from kubeward.rules.dockerfile._tls import tls_command_checks, tls_env_note


@rule(
    id="ci-script-tls-verification-disabled",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        "https://slsa.dev/spec/v1.0/threats#d-use-compromised-dependency",
        "https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpsslVerify",
        "https://pip.pypa.io/en/stable/cli/pip/#cmdoption-trusted-host",
        "https://docs.npmjs.com/cli/v10/using-npm/config#strict-ssl",
    ),
)
def ci_script_tls_verification_disabled(script: ShellScript) -> Iterator[Finding]:
    """A command in a GitHub `run:` or GitLab `script:` turns off TLS certificate checks.

    Flags `curl -k`/`--insecure`, `wget --no-check-certificate`, `git -c http.sslVerify=false`
    and `git config http.sslVerify false`, `pip install --trusted-host` and
    `pip config set global.trusted-host`, `npm`/`yarn config set strict-ssl false`, Composer's
    `secure-http false`, and `export GIT_SSL_NO_VERIFY=1`, `NODE_TLS_REJECT_UNAUTHORIZED=0`,
    `PIP_TRUSTED_HOST=...` (or the same as a `NAME=value` prefix of a command). The commands
    are recognised by the same code as `dockerfile-tls-verification-disabled`; the same
    settings made in `env:`/`variables:` are reported by `ci-env-tls-verification-disabled`
    and `pip-index-env`.

    ## Why it matters
    For pip, npm, git and plain downloads TLS is the only thing tying the bytes to the server;
    without it anyone on the runner's network path (a proxy, DNS, a compromised self-hosted
    network) can serve their own code to the job that builds and ships the image, with its
    token and secrets (SLSA threat D: use compromised dependency).

    ## Remediation
    Keep verification on and give the tool the CA it needs instead:

        curl --cacert /etc/ssl/certs/internal-ca.pem -fsSL https://internal.example/tool.tgz
        pip install --cert /etc/ssl/certs/internal-ca.pem -r requirements.txt
        export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/internal-ca.pem

    ## Example
        # bad
        - run: curl -k https://example.com/tool.tgz -o tool.tgz
        # good
        - run: curl -fsSL https://example.com/tool.tgz -o tool.tgz
    """
    for cmd in split_shell(script.text).walk():
        for word, note in command_notes(cmd, tls_command_checks, tls_env_note):
            yield Finding(script.word_span(word.start, word.end), f"{note} (in {script.where})")
