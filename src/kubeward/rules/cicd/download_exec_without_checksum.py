"""download-exec-without-checksum: a CI step downloads a binary or script and makes it
executable or runs it, with no checksum or signature check."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._shell import ShellScript

_URL = r"https?://(?:\$\{\{[^}\n]*\}\}|[^\s\"'|;)])+"
# curl ... -o FILE / --output FILE / -Lo FILE / -O (the URL's name); wget -O FILE / plain
_CURL = re.compile(r"\bcurl\b[^\n|;&]*")
_WGET = re.compile(r"\bwget\b[^\n|;&]*")
_OUT_CURL = re.compile(r"(?:\s-[A-Za-z]*o\s*|\s--output[=\s])[\"']?([^\s\"';|&]+)")
_OUT_WGET = re.compile(r"(?:\s-[A-Za-z]*O\s*|\s--output-document[=\s])[\"']?([^\s\"';|&]+)")
_REMOTE_NAME = re.compile(r"\s-[A-Za-z]*O(?:\s|$)|\s--remote-name\b")
_URL_RE = re.compile(_URL)
# A check of what was downloaded: a digest compared, or a signature verified.
_CHECK = re.compile(
    r"\bsha(?:1|224|256|384|512)sum\b|\bshasum\b|\bcosign\s+verify-blob\b|\bgpg2?\b[^\n]*--verify"
    r"|\bminisign\b[^\n]*-V|\bslsa-verifier\b|\bopenssl\s+(?:dgst|sha)|\bgh\s+attestation\s+verify"
    r"|\bsigstore\b[^\n]*verify"
)


def _downloads(text: str) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, file, url) of each download to a named file."""
    for rx, out in ((_CURL, _OUT_CURL), (_WGET, _OUT_WGET)):
        for m in rx.finditer(text):
            cmd = m.group(0)
            url = _URL_RE.search(cmd)
            if url is None:
                continue
            o = out.search(cmd)
            if o is not None and o.group(1) not in ("-", "/dev/null"):
                name = o.group(1)
            elif (rx is _WGET and o is None) or (rx is _CURL and _REMOTE_NAME.search(cmd)):
                name = posixpath.basename(url.group(0).rstrip("/")) or ""
            else:
                continue
            if name:
                yield m.start(), m.end(), name, url.group(0).rstrip(")\"'")


def _runs(text: str, name: str, after: int) -> bool:
    """Whether the script makes `name` executable or runs it after offset `after`."""
    base = re.escape(posixpath.basename(name))
    full = re.escape(name)
    rx = re.compile(
        rf"\bchmod\s+(?:[-+]?\S*x\S*\s+)+[\"']?(?:\S*/)?{base}\b"
        rf"|(?:^|[\s;&|(])(?:sudo\s+)?(?:(?:ba|z)?sh|python3?|perl|ruby|node)\s+[\"']?{full}\b"
        rf"|(?:^|[;&|(]|\bthen\b|\bdo\b)[ \t]*(?:sudo\s+)?[\"']?(?:\./)?{full}(?:\s|$)",
        re.M,
    )
    return rx.search(text, after) is not None


@rule(
    id="download-exec-without-checksum",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=("https://slsa.dev/spec/v1.0/threats",),
)
def download_exec_without_checksum(script: ShellScript) -> Iterator[Finding]:
    """CI step downloads a binary or script, then makes it executable or runs it, unchecked.

    `curl -Lo ./kind https://...; chmod +x ./kind`, `wget -O tool URL && ./tool`, or `sh
    install.sh` after downloading it: the pipeline runs whatever the server returned, with the
    job's token and secrets, when nothing in the script checks a digest (`sha256sum -c`,
    `shasum -a 256 -c`, `openssl dgst`) or a signature (`cosign verify-blob`, `gpg --verify`,
    `minisign -V`, `slsa-verifier`, `gh attestation verify`). A URL under
    `/releases/latest/` is said so: it moves with every release. Piping straight into a shell
    is `curl-pipe-shell`'s finding.

    ## Why it matters
    A compromised release, CDN, DNS record or hijacked domain changes what the pipeline runs
    without a commit, and the job's secrets go with it.

    ## Remediation
    Download a pinned version and check its published digest before using it:

        curl -fsSLo ./kind https://kind.sigs.k8s.io/dl/v0.24.0/kind-linux-amd64
        echo "<sha256>  ./kind" | sha256sum -c -
        chmod +x ./kind
    """
    text = script.text
    if "curl" not in text and "wget" not in text:
        return
    if _CHECK.search(text):
        return  # a check of the downloads is there (it may be partial: not judged here)
    seen: set[str] = set()
    for start, end, name, url in _downloads(text):
        if name in seen or not _runs(text, name, end):
            continue
        seen.add(name)
        latest = (
            " (a /releases/latest/ URL: it moves with every release)"
            if ("/releases/latest/" in url)
            else ""
        )
        yield Finding(
            script.span_of(start, end),
            f"{url} is downloaded to {name} and run with no checksum or signature check"
            f"{latest} in {script.where}",
        )
