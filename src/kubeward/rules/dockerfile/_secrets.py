"""Shared helpers of the Dockerfile secret rules: what a credential looks like."""

from __future__ import annotations

import re

from kubeward.parse.yamlnode import is_templated

BUILD_SECRETS_DOCS = "https://docs.docker.com/build/building/secrets/"

# Values whose shape alone says "credential", whatever the variable is called.
_TOKEN_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    (
        "a GitHub token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    ),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("an npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("a PyPI token", re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{50,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a Stripe secret key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    (
        "a JSON Web Token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    ),
    (
        "a URL with a password",
        re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@$]+@[^\s]+", re.I),
    ),
)


# Names that hold public or non-secret values despite credential-like words in them.
NOT_SECRET_NAME_RE = re.compile(
    r"(?i)(?:gpg_?keys?|pgp_?keys?|_key_?id$|fingerprint|public_?key|pub_?key|keyring|keyserver|"
    r"_(?:file|path|dir|url|uri|endpoint|host|port|version|sha\d*|checksum|hash|length|size|"
    r"type|mode|method|enabled|name|user|username|header|prefix|ttl|expiry|expires)$)"
)
_PLACEHOLDER_RE = re.compile(
    r"(?i)^(?:|true|false|yes|no|on|off|none|null|nil|undefined|\d+|[x*.<>_-]+|<[^>]*>|"
    r"changeme_in_runtime|dummy|example|placeholder|your[_-].*|todo|tbd|-)$"
)


def token_shape(value: str) -> str | None:
    """What known credential `value` holds (`"a GitHub token"`...), if any."""
    for label, pattern in _TOKEN_SHAPES:
        if pattern.search(value):
            return label
    return None


def is_literal(value: str) -> bool:
    """A literal value: not empty, templated, a placeholder, a boolean, a number or a path."""
    v = value.strip()
    return (
        bool(v) and not is_templated(v) and not _PLACEHOLDER_RE.match(v) and not v.startswith("/")
    )
