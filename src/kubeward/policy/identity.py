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

import re
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


_FLAGS = re.compile(r"\(\?[imsU-]*\)")
_GROUP_PREFIX = re.compile(r"\?(?:P?<[A-Za-z_][A-Za-z0-9_]*>|[imsU-]*:)")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _groups_and_alternatives(pattern: str) -> tuple[list[tuple[int, int]], list[str]]:
    """The top-level groups (open, close) and the top-level `|` alternatives of a pattern."""
    groups: list[tuple[int, int]] = []
    alternatives: list[str] = []
    depth, start, opened, i = 0, 0, 0, 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            j = i + 1 + (pattern[i + 1 : i + 2] == "^")
            if pattern[j : j + 1] == "]":
                i = j  # a leading `]` is literal
        elif c == "(":
            if depth == 0:
                opened = i
            depth += 1
        elif c == ")" and depth:
            depth -= 1
            if depth == 0:
                groups.append((opened, i))
        elif c == "|" and depth == 0:
            alternatives.append(pattern[start:i])
            start = i + 1
        i += 1
    alternatives.append(pattern[start:])
    return groups, alternatives


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index > 0 and text[index - 1] == "\\":
        backslashes += 1
        index -= 1
    return backslashes % 2 == 1


def _inner(group: str) -> str:
    body = group[1:-1]
    prefix = _GROUP_PREFIX.match(body)
    return body[prefix.end() :] if prefix else body


def _starts_anchored(alt: str) -> bool:
    while (flags := _FLAGS.match(alt)) is not None:
        alt = alt[flags.end() :]
    if alt.startswith(("^", "\\A")):
        return True
    groups, _ = _groups_and_alternatives(alt)
    if alt.startswith("(") and groups and groups[0][0] == 0:
        _, alternatives = _groups_and_alternatives(_inner(alt[: groups[0][1] + 1]))
        return all(_starts_anchored(a) for a in alternatives)
    return False


def _open_end(alt: str) -> bool:
    """Whether an alternative ends in a name character with no `$`: `acme` then matches
    `acme-evil` (an end in `/`, `.*` or a class is taken as deliberate)."""
    if not alt:
        return False
    last = len(alt) - 1
    if (alt[-1] == "$" and not _escaped(alt, last)) or (
        alt.endswith("\\z") and not _escaped(alt, last - 1)
    ):
        return False
    groups, _ = _groups_and_alternatives(alt)
    if alt[-1] == ")" and groups and groups[-1][1] == last:
        open_, close = groups[-1]
        _, alternatives = _groups_and_alternatives(_inner(alt[open_ : close + 1]))
        return any(_open_end(a) for a in alternatives)
    return alt[-1] in _NAME_CHARS and not _escaped(alt, last)


def anchoring_gaps(pattern: str) -> tuple[str, ...]:
    """What lets an identity pattern match more than its author meant, under MatchString:
    an alternative not anchored at the start (`^`), or one ending in a name character without
    `$` (`^https://github\\.com/acme` matches `.../acme-evil/...`)."""
    _, alternatives = _groups_and_alternatives(pattern)
    gaps = []
    if not all(_starts_anchored(a) for a in alternatives):
        gaps.append("not anchored at the start with ^")
    if any(_open_end(a) for a in alternatives):
        gaps.append("open at the end (no $ after a name)")
    return tuple(gaps)


# Values no pattern written for real identities matches, to tell patterns that match anything.
_PROBES = ("", "\x01", "zz://kubeward.invalid/probe@example.invalid")


def matches_any_value(pattern: str) -> bool:
    """Whether an identity pattern matches every value under MatchString: `.*`, but also
    `^`, `$`, `(acme)?`, anything that can match the empty string at the start of any text."""
    try:
        return all(regexp_matches(pattern, probe) for probe in _PROBES)
    except InvalidRegexp:
        return False
