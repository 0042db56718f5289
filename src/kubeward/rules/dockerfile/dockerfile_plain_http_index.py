"""The `dockerfile-plain-http-index` rule: packages are fetched from an index over plain HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.dockerfile import Command, Dockerfile, Word
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.dockerfile._checks import command_findings
from kubeward.rules.dockerfile._common import SLSA_COMPROMISED_DEPENDENCY, flag_value, python_module

_LOCAL_RE = re.compile(r"^http://(?:localhost|127\.\d+\.\d+\.\d+|\[::1\])(?:[:/]|$)", re.I)


def _plain(url: str) -> bool:
    return url.lower().startswith("http://") and not _LOCAL_RE.match(url)


def _http_checks(cmd: Command) -> Iterator[tuple[Word, str]]:
    name = cmd.name
    pip = python_module(cmd, "pip")
    if pip is not None:
        # Each plain-HTTP URL once, at the URL itself (`--index-url URL`, `-i URL`,
        # `--index-url=URL`, a requirement URL, `pip config set global.index-url URL`).
        for x in pip[1:]:
            value = x.text.split("=", 1)[-1] if x.text.startswith("--") else x.text
            if _plain(value):
                yield x, f"pip fetches packages from {value} over plain HTTP"
        return
    if name in ("npm", "yarn", "pnpm"):
        argv = cmd.argv
        for w, value in flag_value(argv, "--registry"):
            if _plain(value):
                yield w, f"{name} uses the registry {value} over plain HTTP"
        texts = [x.text for x in argv]
        for i, t in enumerate(texts[:-1]):
            if t in ("registry", "npmRegistryServer") and _plain(texts[i + 1]):
                yield argv[i + 1], f"{name} config sets the registry {texts[i + 1]} over plain HTTP"
        return
    if name == "gem":
        for w, value in flag_value(cmd.argv, "--source", "--add", "-s", "-a"):
            if _plain(value):
                yield w, f"gem uses the source {value} over plain HTTP"


def _http_env(name: str, value: str) -> str | None:
    upper = name.upper()
    if upper in (
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_FIND_LINKS",
        "NPM_CONFIG_REGISTRY",
        "YARN_REGISTRY",
        "UV_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
    ) and any(_plain(v) for v in value.split()):
        return f"{name}={value} fetches packages over plain HTTP"
    if upper == "GOPROXY" and any(_plain(v) for v in re.split(r"[,|]", value)):
        return f"GOPROXY={value} fetches Go modules over plain HTTP"
    if upper == "GOINSECURE" and value.strip():
        return f"GOINSECURE={value} lets go fetch those modules over plain HTTP"
    return None


@rule(
    id="dockerfile-plain-http-index",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        SLSA_COMPROMISED_DEPENDENCY,
        "https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-i",
        "https://go.dev/ref/mod#environment-variables",
    ),
)
def plain_http_index(df: Dockerfile) -> Iterator[Finding]:
    """A package index or registry is reached over plain `http://`.

    Flags pip `--index-url`/`--extra-index-url`/`--find-links` and package URLs, npm, yarn and
    pnpm `--registry` or `config set registry`, `gem --source`, and the `PIP_INDEX_URL`,
    `NPM_CONFIG_REGISTRY`, `GOPROXY` and `GOINSECURE` variables, when they use `http://`
    (localhost excepted). APT and apk repositories over HTTP are not flagged: their signed
    indexes protect the packages.

    ## Why it matters
    pip, npm, gem and the Go proxy protocol trust whatever the index serves; over plain HTTP
    anyone on the path can serve a different package (SLSA threat D: use compromised
    dependency).

    ## Remediation
    Use the index over HTTPS:

        RUN pip install --index-url https://pypi.internal.example/simple requests==2.32.3

    ## Example
        # bad
        RUN pip install --index-url http://pypi.internal.example/simple requests==2.32.3
        # good
        RUN pip install --index-url https://pypi.internal.example/simple requests==2.32.3
    """
    yield from command_findings(df, _http_checks, _http_env)
