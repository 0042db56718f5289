"""The `dockerfile-extra-index-url` rule: pip merges a second index with PyPI."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.dockerfile import Command, Dockerfile, Word
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.dockerfile._checks import command_findings
from kubeward.rules.dockerfile._common import SLSA_COMPROMISED_DEPENDENCY, flag_value, python_module


def _extra_checks(cmd: Command) -> Iterator[tuple[Word, str]]:
    pip = python_module(cmd, "pip")
    if pip is None:
        return
    for w, value in flag_value(pip, "--extra-index-url"):
        yield (
            w,
            (
                f"pip --extra-index-url {value} merges a second index with PyPI: a public package "
                "with the same name as an internal one can win"
            ),
        )
    texts = [x.text for x in pip]
    if "config" in texts and any(t.endswith(".extra-index-url") for t in texts):
        yield pip[0], "pip config sets extra-index-url, merging a second index with PyPI"


def _extra_env(name: str, value: str) -> str | None:
    if name.upper() in ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL") and value.strip():
        return f"{name} merges {value} with PyPI: a public package with an internal name can win"
    return None


@rule(
    id="dockerfile-extra-index-url",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        SLSA_COMPROMISED_DEPENDENCY,
        "https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-extra-index-url",
        "https://medium.com/@alex.birsan/dependency-confusion-4a5d60fec610",
    ),
)
def extra_index_url(df: Dockerfile) -> Iterator[Finding]:
    """pip installs with `--extra-index-url`, the dependency-confusion vector.

    pip treats every index as equal and installs the highest version it finds anywhere. With
    an internal index added by `--extra-index-url` (or `PIP_EXTRA_INDEX_URL`), anyone can
    publish a package with an internal name and a higher version on PyPI and have it installed.

    ## Why it matters
    This is the dependency-confusion attack that reached Apple, Microsoft and dozens of others
    in 2021: the build pulls attacker code from the public index by name alone (SLSA threat
    D: use compromised dependency).

    ## Remediation
    Use one index that proxies PyPI and serves internal packages (`--index-url`), and pin with
    hashes:

        RUN pip install --index-url https://pypi.internal.example/simple \\
            --require-hashes -r requirements.txt

    ## Example
        # bad
        RUN pip install --extra-index-url https://pypi.internal.example/simple acme-lib==1.2.0
        # good
        RUN pip install --index-url https://pypi.internal.example/simple acme-lib==1.2.0
    """
    yield from command_findings(df, _extra_checks, _extra_env)
