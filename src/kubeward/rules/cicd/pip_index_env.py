"""pip-index-env: pip configured through pipeline variables to mix indexes or skip TLS checks."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._variables import CiVariable


@rule(
    id="pip-index-env",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        "https://pip.pypa.io/en/stable/topics/configuration/#environment-variables",
        "https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-extra-index-url",
        "https://pip.pypa.io/en/stable/cli/pip/#cmdoption-trusted-host",
    ),
)
def pip_index_env(var: CiVariable) -> Iterator[Finding]:
    """pip is configured through the environment to mix indexes or to skip TLS checks.

    pip reads every option from a `PIP_<OPTION>` environment variable, so `env:` or
    `variables:` reach every `pip install` of the job, including those of build tools and
    scripts. `PIP_EXTRA_INDEX_URL` mixes a private index with PyPI (pip takes the highest
    version from either: dependency confusion); `PIP_TRUSTED_HOST` turns off TLS certificate
    checks (and allows plain HTTP) for the named hosts, so anyone on the network path can serve
    packages. An empty value is not flagged (nor a lower-case name: pip reads `PIP_` only).

    ## Why it matters
    Both let someone other than the package's owner decide what is installed in the
    pipeline, with its secrets and the image it builds.

    ## Remediation
    Use a single index that serves private names first and proxies PyPI, over verified TLS
    (trust a private CA with `PIP_CERT`, not `PIP_TRUSTED_HOST`):

        env:
          PIP_INDEX_URL: https://pypi.internal.example/simple
    """
    name = var.name
    value = (var.value.text or "").strip()
    if not value:
        return
    if name == "PIP_EXTRA_INDEX_URL":
        yield Finding(
            var.key.span,
            f"PIP_EXTRA_INDEX_URL in {var.where} makes every pip install also search "
            f"{value if '${{' in value else value.split()[0]}: PyPI can shadow private packages",
        )
    elif name == "PIP_TRUSTED_HOST":
        yield Finding(
            var.key.span,
            f"PIP_TRUSTED_HOST in {var.where} lets every pip install reach {value} "
            "over plain HTTP or unverified TLS",
            severity=Severity.HIGH,
        )
