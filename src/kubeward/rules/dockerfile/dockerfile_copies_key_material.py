"""The `dockerfile-copies-key-material` rule: COPY or ADD bakes key material into a layer."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.dockerfile import Dockerfile
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.dockerfile._common import onbuild_note, onbuild_of
from kubeward.rules.dockerfile._secrets import BUILD_SECRETS_DOCS

_KEY_NAME_RE = re.compile(
    r"(?i)^(?:id_(?:rsa|dsa|ecdsa|ed25519)|cosign\.key|\.dockerconfigjson|\.npmrc|\.pypirc|"
    r"\.netrc|\.git-credentials|kubeconfig|.*\.kubeconfig|.*\.pem|.*\.key|.*\.p12|.*\.pfx|"
    r".*\.jks|.*\.keystore|credentials\.json|service[-_]account.*\.json)$"
)
_PUBLIC_RE = re.compile(
    r"(?i)(?:^|[._-])(?:ca|cacert|cert|certs|certificate|chain|fullchain|bundle|pub|public)(?:[._-]|$)"
)
_DIR_KEY_RE = re.compile(r"(?i)(?:^|/)\.(?:ssh|aws|docker|kube|gnupg)(?:/|$)")


def _key_material(src: str) -> str | None:
    base = src.rstrip("/").rsplit("/", 1)[-1]
    if _DIR_KEY_RE.search(src):
        return "a credentials directory"
    if not _KEY_NAME_RE.match(base) or base.endswith(".pub"):
        return None
    if base.lower().endswith((".pem", ".key")) and _PUBLIC_RE.search(base.rsplit(".", 1)[0]):
        return None
    return "key material"


@rule(
    id="dockerfile-copies-key-material",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(BUILD_SECRETS_DOCS,),
)
def copies_key_material(df: Dockerfile) -> Iterator[Finding]:
    """COPY or ADD puts key material or a credentials file into an image layer.

    Flags sources named like private keys and credential files: `*.pem`, `*.key`,
    `id_rsa`/`id_ed25519`, `cosign.key`, `.dockerconfigjson`, `.npmrc`, `.pypirc`, `.netrc`,
    `kubeconfig`, `*.p12`/`*.pfx`, and the `.ssh`, `.aws`, `.docker`, `.kube` and `.gnupg`
    folders. Certificates and public keys (`ca.pem`, `tls-cert.pem`, `*.pub`) are not flagged.

    ## Why it matters
    A layer is forever: deleting the file in a later instruction does not remove it from the
    image, and every registry, cache and node that holds the image holds the key.

    ## Remediation
    Mount the secret for the one instruction that needs it:

        RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci

    ## Example
        # bad
        COPY .npmrc /root/.npmrc
        # good
        RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci
    """
    f = df.file
    for _, ins in df.instructions():
        cmd = onbuild_of(ins) or ins.cmd
        if cmd not in ("COPY", "ADD") or len(ins.value) < 2:
            continue
        for src in ins.value[:-1]:
            what = _key_material(src)
            if what is None or "://" in src:
                continue
            yield Finding(
                f.find_span(src, first_line=ins.start_line, last_line=ins.end_line),
                onbuild_note(
                    ins,
                    f"{cmd} {src} bakes {what} into an image layer; use RUN --mount=type=secret",
                ),
            )
