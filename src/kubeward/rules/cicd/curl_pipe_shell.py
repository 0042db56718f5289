"""curl-pipe-shell: a downloaded script piped straight into a shell or interpreter."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._shell import ShellScript

_PIPE_SHELL = re.compile(
    r"\b(?:curl|wget)\b[^|\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:ba|z|da)?sh\b"
    r"|\b(?:ba)?sh\s+(?:-c\s+)?[\"']?\$\((?:curl|wget)\b"
    r"|\b(?:ba)?sh\s+<\(\s*(?:curl|wget)\b"
    r"|\b(?:curl|wget)\b[^|\n]*\|\s*(?:sudo\s+)?(?:python3?|perl|ruby|node)\b(?!\s+-m\s+json)"
)


_URL = re.compile(r"https?://[^\s\"'|;)]+")


@rule(
    id="curl-pipe-shell",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=("https://slsa.dev/spec/v1.0/threats",),
)
def curl_pipe_shell(script: ShellScript) -> Iterator[Finding]:
    """A script downloaded in the pipeline is piped straight into a shell or interpreter.

    `curl https://... | sh` runs whatever the server returns at that moment, unpinned and
    unverified, with the job's token and secrets. A compromised host, CDN or DNS record, or a
    hijacked domain, changes the pipeline without a commit.

    ## Why it matters
    Codecov's bash uploader (2021) was altered on its server and exfiltrated CI secrets of
    every pipeline that piped it into bash.

    ## Remediation
    Download a pinned version, check its checksum (or signature), then run it:

        curl -fsSLo install.sh https://example.com/install-1.2.3.sh
        echo "<sha256>  install.sh" | sha256sum -c -
        sh install.sh
    """
    text = script.text
    for m in _PIPE_SHELL.finditer(text):
        line_end = text.find("\n", m.start())
        url = _URL.search(text, m.start(), line_end if line_end >= 0 else len(text))
        what = url.group(0).rstrip(")\"'") if url else "a downloaded script"
        yield Finding(
            script.span_of(m.start(), m.end()),
            f"{what} is downloaded and run by an interpreter unchecked in {script.where}",
        )
