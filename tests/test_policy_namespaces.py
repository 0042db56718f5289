"""Namespace wildcards as each admission engine matches them.

`GATEKEEPER` is the table of `TestMatches` in `pkg/wildcard/wildcard_test.go` of
github.com/open-policy-agent/gatekeeper (commit dd8507eb97f5ca24dbee34c95d8e6ffa053cb8a0), row for
row (name, wildcard, candidate, matches), plus rows for what fnmatch, used before, got wrong.
"""

from __future__ import annotations

import pytest

from kubeward.policy.gatekeeper import wildcard_matches
from kubeward.policy.kyverno import wildcard_match

GATEKEEPER = [
    ("exact text match", "kube-system", "kube-system", True),
    ("no glob, wrong text", "kube-system", "gatekeeper-system", False),
    ("wildcard prefix match", "kube-*", "kube-system", True),
    ("wildcard prefix doesn't match", "kube-*", "gatekeeper-system", False),
    ("wildcard suffix match", "*-system", "kube-system", True),
    ("wildcard suffix doesn't match", "*-system", "kube-public", False),
    ("missing asterisk yields no wildcard support", "kube-", "kube-system", False),
    ("wildcard suffix and prefix, match", "*-kube-*", "test-kube-test", True),
    ("wildcard suffix and prefix, no match", "*-kube-*", "my-kub-controller", False),
    ("no wildcard, only hypens at suffix and prefix", "-kube-", "test-kube-test", False),
    ("wildcard with consecutive hyphens", "*--*", "my--namespace", True),
    ("double wildcard", "**", "my:namespace", True),
    # Not upstream rows: a '*' inside and '?' are literal for Gatekeeper (fnmatch globbed them).
    ("inner asterisk is literal", "team-*-prod", "team-a-prod", False),
    ("question mark is literal", "team-?", "team-a", False),
    ("a bare asterisk matches all", "*", "default", True),
]


@pytest.mark.parametrize(("name", "pattern", "candidate", "expected"), GATEKEEPER)
def test_gatekeeper_namespace_wildcards(
    name: str, pattern: str, candidate: str, expected: bool
) -> None:
    assert wildcard_matches(pattern, candidate) is expected, name


@pytest.mark.parametrize(
    ("pattern", "namespace", "expected"),
    [
        ("team-*", "team-a", True),
        ("team-?", "team-a", True),
        ("team-?", "team-ab", False),
        ("*-prod", "shop-prod", True),
        ("team-*-prod", "team-a-prod", True),  # Kyverno's '*' works anywhere
        ("team-[ab]", "team-a", False),  # no character classes (fnmatch had them)
        ("team-[ab]", "team-[ab]", True),
    ],
)
def test_kyverno_namespace_wildcards(pattern: str, namespace: str, expected: bool) -> None:
    assert wildcard_match(pattern, namespace) is expected
