"""The `dockerfile-tls-verification-disabled` rule: a download accepts any TLS certificate."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.dockerfile import Command, Dockerfile, Word
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.dockerfile._checks import command_findings
from kubeward.rules.dockerfile._common import (
    SLSA_COMPROMISED_DEPENDENCY,
    flag_value,
    has_flag,
    python_module,
)
from kubeward.rules.dockerfile._tls import FALSY, tls_env_note


def _tls_checks(cmd: Command) -> Iterator[tuple[Word, str]]:
    argv = cmd.argv
    name = cmd.name
    if name == "curl":
        w = has_flag(argv, "--insecure", "-k")
        if w is not None:
            yield w, f"curl {w.text} accepts any TLS certificate, so anyone on the path can answer"
    elif name == "wget":
        w = has_flag(argv, "--no-check-certificate")
        if w is not None:
            yield w, "wget --no-check-certificate accepts any TLS certificate"
    elif name == "git":
        for w, value in flag_value(argv, "-c"):
            key, _, val = value.partition("=")
            if key.lower() == "http.sslverify" and val.lower() in FALSY:
                yield w, f"git -c {value} turns off TLS certificate checks"
        texts = [x.text for x in argv]
        if "config" in texts:
            for i, t in enumerate(texts[:-1]):
                if t.lower() == "http.sslverify" and texts[i + 1].lower() in FALSY:
                    yield (
                        argv[i],
                        "git config http.sslVerify false turns off TLS certificate checks",
                    )
    elif python_module(cmd, "pip") is not None:
        pip = python_module(cmd, "pip") or []
        for w, value in flag_value(pip, "--trusted-host"):
            yield w, f"pip --trusted-host {value} skips TLS certificate checks for that index"
        texts = [x.text for x in pip]
        if "config" in texts and any(t.endswith(".trusted-host") for t in texts):
            yield pip[0], "pip config sets a trusted-host, skipping TLS checks for that index"
    elif name in ("npm", "yarn", "pnpm"):
        texts = [x.text.lower() for x in argv]
        for i, t in enumerate(texts):
            if (
                t in ("strict-ssl", "enablestrictssl")
                and i + 1 < len(texts)
                and texts[i + 1] in FALSY
            ):
                yield argv[i], f"{name} config {argv[i].text} false accepts any TLS certificate"
            if t.startswith("--strict-ssl=") and t.split("=", 1)[1] in FALSY:
                yield argv[i], f"{name} {argv[i].text} accepts any TLS certificate"
    elif name == "composer":
        texts = [x.text.lower() for x in argv]
        for i, t in enumerate(texts[:-1]):
            if (t, texts[i + 1]) in (("secure-http", "false"), ("disable-tls", "true")):
                yield argv[i], f"composer config {t} {texts[i + 1]} fetches packages without TLS"


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
    yield from command_findings(df, _tls_checks, tls_env_note)
