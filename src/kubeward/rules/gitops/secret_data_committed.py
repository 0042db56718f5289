"""secret-data-committed: a Kubernetes Secret in the repository holds a real-looking credential."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from collections.abc import Iterator

from kubeward.model.k8s import KubeObject
from kubeward.parse.yamlnode import is_templated
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.source import shorten

# Keys that name a credential; certificates, hosts and user names are not secrets themselves.
_CREDENTIAL_KEY = re.compile(r"(?i)pass|token|secret|api[-_]?key|apikey|auth|cred|private|pwd")
_NOT_CREDENTIAL_KEY = re.compile(r"(?i)known_hosts|\.crt$|\.pem$|ca\b|cert|user|url|endpoint")
# Values people write where the real one goes, and test values.
_PLACEHOLDER = re.compile(
    r"(?i)example|changeme|change[-_ ]me|placeholder|dummy|fake|sample|redacted|replace|"
    r"your[-_]|^test|[-_]test|password|^(.)\1+$|^x+$|<[^>]*>|\*\*\*"
)
MIN_LENGTH = 12
MIN_ENTROPY = 3.0  # bits per character: above that of words and repeated patterns


def _entropy(s: str) -> float:
    counts = Counter(s)
    return -sum(n / len(s) * math.log2(n / len(s)) for n in counts.values())


def real_looking(value: str, *, written: bool = True) -> bool:
    """A value long and varied enough to be a real credential, and not a known placeholder.
    `written`: as written in the file (a `${VAR}` there is a template), not decoded."""
    v = value.strip()
    if len(v) < MIN_LENGTH or "\n" in v or " " in v or v.startswith("ENC["):
        return False
    if _PLACEHOLDER.search(v) or (written and is_templated(v)):
        return False
    classes = sum(bool(re.search(p, v)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return classes >= 3 and _entropy(v) >= MIN_ENTROPY


@rule(
    id="secret-data-committed",
    layer=Layer.SOURCE,
    severity=Severity.HIGH,
    references=(
        "https://kubernetes.io/docs/concepts/configuration/secret/#information-security-for-secrets",
        "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
    ),
)
def secret_data_committed(obj: KubeObject) -> Iterator[Finding]:
    """Kubernetes `Secret` committed with a real-looking credential in `data` or `stringData`.

    A key that names a credential (`password`, `token`, `apiKey`, `secret`, ...; not user
    names, URLs or certificates) whose value (base64-decoded for `data`) is at least 12
    characters with three kinds of characters and some randomness, and is not a placeholder
    (`changeme`, `example`, `<...>`, `test-...`, `xxxx`, templated values). SOPS-encrypted
    Secrets (`sops:` metadata, `ENC[...]` values) pass; private keys and registry credentials
    are `committed-private-key`'s findings.

    ## Why it matters
    `data` is base64, not encryption: anyone who can read the repository, its forks or its
    history has the credential, and deleting the file later does not remove it from git.

    ## Remediation
    Rotate the credential, remove it from history, and commit an encrypted or external
    reference instead (SOPS, Sealed Secrets, External Secrets Operator):

        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        spec:
          secretStoreRef: {name: vault, kind: ClusterSecretStore}
          data:
            - secretKey: password
              remoteRef: {key: shop/db, property: password}
    """
    if obj.kind != "Secret" or obj.api_version != "v1" or obj.node.get("sops") is not None:
        return
    stype = obj.node.get_str("type") or ""
    if stype in ("kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"):
        return  # committed-private-key
    for field in ("data", "stringData"):
        m = obj.node.get(field)
        if m is None or not m.is_map:
            continue
        for key, value in m.items():
            name = key.text or ""
            if not value.is_scalar or not value.text:
                continue
            if not _CREDENTIAL_KEY.search(name) or _NOT_CREDENTIAL_KEY.search(name):
                continue
            text = value.text
            if field == "data":
                try:
                    text = base64.b64decode(text.strip(), validate=True).decode("utf-8")
                except (binascii.Error, ValueError):
                    continue
            if "PRIVATE KEY" in text or not real_looking(text, written=field == "stringData"):
                continue
            yield Finding(
                value.span,
                f"{obj.display} holds a literal {shorten(name)!r} in {field} ({len(text.strip())} "
                "characters): the credential is in the repository and its history",
            )
