"""Keyless identity patterns, with cosign's semantics.

cosign's `CheckCertificatePolicy` (pkg/cosign/verify.go of github.com/sigstore/cosign, checked
at d6d86c22) compiles a `SubjectRegExp` or `IssuerRegExp` with Go's `regexp.Compile` and calls
`MatchString`: RE2 syntax, and *unanchored*, so `https://github.com/acme/` matches any identity
that contains it. `--certificate-identity-regexp` and `--certificate-oidc-issuer-regexp` become
such an identity; policy-controller hands a `ClusterImagePolicy`'s `keyless.identities` to cosign
the same way and validates each pattern with `regexp.Compile` (`ValidateRegex` in
pkg/apis/policy/v1beta1/clusterimagepolicy_validation.go). kubeward compiles the patterns with
RE2 itself (google-re2), which shares Go's syntax; the one construct C++ RE2 accepts and Go does
not, `\\C` (any byte), is rejected here as Go rejects it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol, cast

import re2


class InvalidRegexp(ValueError):
    """A pattern Go's `regexp.Compile` would reject."""


class Matcher(Protocol):
    def search(self, text: str) -> object | None: ...


def _options() -> object:
    options = re2.Options()
    options.log_errors = False  # the error goes to the user as one line, not to stderr
    return options


_OPTIONS = _options()


def _has_any_byte_escape(pattern: str) -> bool:
    i = 0
    while i < len(pattern) - 1:
        if pattern[i] == "\\":
            if pattern[i + 1] == "C":
                return True
            i += 2
            continue
        i += 1
    return False


@lru_cache(maxsize=1024)
def compile_regexp(pattern: str) -> Matcher:
    """The compiled pattern; raises `InvalidRegexp` with RE2's reason."""
    if _has_any_byte_escape(pattern):
        raise InvalidRegexp(f"invalid regular expression {pattern!r}: invalid escape \\C")
    try:
        return cast(Matcher, re2.compile(pattern, options=_OPTIONS))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise InvalidRegexp(f"invalid regular expression {pattern!r}: {reason}") from exc


def regexp_matches(pattern: str, value: str) -> bool:
    """Go's `regexp.MustCompile(pattern).MatchString(value)`: a match anywhere in `value`."""
    return compile_regexp(pattern).search(value) is not None
