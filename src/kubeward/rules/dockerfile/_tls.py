"""What turns TLS verification off: shared by `dockerfile-tls-verification-disabled` and the CI
rules that judge `env:`/`variables:`."""

from __future__ import annotations

FALSY = frozenset({"false", "0", "no", "off"})
"""Values that turn a boolean setting off."""


def tls_env_note(name: str, value: str) -> str | None:
    """Why an environment variable turns TLS verification off, if it does (also used for CI
    `env:`/`variables:`)."""
    v = value.strip().lower()
    if name == "GIT_SSL_NO_VERIFY" and v:
        return f"{name}={value} turns off git's TLS certificate checks (any value does)"
    if name == "NODE_TLS_REJECT_UNAUTHORIZED" and v == "0":
        return "NODE_TLS_REJECT_UNAUTHORIZED=0 makes Node.js (and npm) accept any certificate"
    if name.lower() == "npm_config_strict_ssl" and v in FALSY:
        return f"{name}={value} makes npm accept any TLS certificate"
    if name == "PIP_TRUSTED_HOST" and v:
        return f"PIP_TRUSTED_HOST={value} skips pip's TLS certificate checks for those hosts"
    if name == "PYTHONHTTPSVERIFY" and v == "0":
        return "PYTHONHTTPSVERIFY=0 turns off certificate checks in Python's HTTPS clients"
    return None
