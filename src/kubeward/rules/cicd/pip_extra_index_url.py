"""pip-extra-index-url: `pip --extra-index-url` in a CI script (dependency confusion)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._shell import ShellScript

_EXTRA_INDEX = re.compile(r"(?:--extra-index-url|PIP_EXTRA_INDEX_URL=)")


@rule(
    id="pip-extra-index-url",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        "https://pip.pypa.io/en/stable/cli/pip_install/#cmdoption-extra-index-url",
        "https://github.com/pypa/pip/issues/8606",
    ),
)
def pip_extra_index_url(script: ShellScript) -> Iterator[Finding]:
    """`pip --extra-index-url` mixes a private index with PyPI (dependency confusion).

    With `--extra-index-url` pip looks for every package on both indexes and takes the highest
    version from either. Anyone can publish a higher-versioned package of your private name on
    PyPI and it wins.

    ## Why it matters
    Dependency confusion (Birsan, 2021) reached Apple, Microsoft and PayPal build systems this
    way; the PyTorch nightly compromise of December 2022 (`torchtriton`) used exactly this pip
    behaviour.

    ## Remediation
    Use a single index that proxies PyPI and serves your private names first, or pin
    hashes so a substitute cannot install:

        pip install --index-url https://pypi.internal.example/simple \\
            --require-hashes -r requirements.txt
    """
    for m in _EXTRA_INDEX.finditer(script.text):
        yield Finding(
            script.span_of(m.start(), m.end()),
            f"--extra-index-url in {script.where} lets PyPI shadow private packages",
        )
