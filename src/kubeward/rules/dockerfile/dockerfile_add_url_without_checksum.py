"""The `dockerfile-add-url-without-checksum` rule: ADD downloads a URL without `--checksum`."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.dockerfile import Dockerfile
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.dockerfile._add import add_sources, has_checksum, is_git
from kubeward.rules.dockerfile._common import SLSA_COMPROMISED_DEPENDENCY, is_url, onbuild_note


@rule(
    id="dockerfile-add-url-without-checksum",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        SLSA_COMPROMISED_DEPENDENCY,
        "https://docs.docker.com/reference/dockerfile/#add---checksum",
    ),
)
def add_url_without_checksum(df: Dockerfile) -> Iterator[Finding]:
    """ADD downloads a URL without `--checksum`.

    `ADD https://...` fetches whatever the server returns at build time into the image. With
    `--checksum=sha256:<hex>` BuildKit refuses content that does not match. `ONBUILD ADD` is
    judged too (it runs in every image built from this one).

    ## Why it matters
    A compromised or hijacked download host changes the image without any change to the
    Dockerfile; nothing in the build records what was fetched (SLSA threat D: use
    compromised dependency).

    ## Remediation
    Pin the content digest of the file:

        ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d \\
            https://example.com/tool.tar.gz /tmp/

    ## Example
        # bad
        ADD https://example.com/tool.tar.gz /tmp/
        # good
        ADD --checksum=sha256:<64 hex> https://example.com/tool.tar.gz /tmp/
    """
    f = df.file
    for ins, src in add_sources(df):
        if not is_url(src) or is_git(src) or has_checksum(ins):
            continue
        yield Finding(
            f.find_span(src, first_line=ins.start_line, last_line=ins.end_line),
            onbuild_note(
                ins,
                f"ADD fetches {src} with no --checksum, so any content the server returns is used",
            ),
        )
