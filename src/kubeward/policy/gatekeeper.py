"""OPA Gatekeeper's matching: the namespace wildcards of a constraint's `match`.

`match.namespaces` and `match.excludedNamespaces` are `wildcard.Wildcard` values
(`pkg/wildcard/wildcard.go` of github.com/open-policy-agent/gatekeeper, checked at dd8507eb,
used by `pkg/mutation/match/match.go` for constraints too): a `*` counts only at the front or
the end, `kube-*` is a prefix, `*-system` a suffix, `*sys*` a substring, and anything else is
compared exactly (a `*` in the middle or a `?` is a literal character).

Gatekeeper has no image patterns of its own: a `RatifyVerification` constraint verifies every
image of the objects it matches, and `K8sAllowedRepos` compares images by plain prefix.
"""

from __future__ import annotations


def wildcard_matches(pattern: str, candidate: str) -> bool:
    """`Wildcard.Matches`."""
    if pattern.startswith("*") and pattern.endswith("*"):
        return pattern.removeprefix("*").removesuffix("*") in candidate
    if pattern.startswith("*"):
        return candidate.endswith(pattern.removeprefix("*"))
    if pattern.endswith("*"):
        return candidate.startswith(pattern.removesuffix("*"))
    return pattern == candidate
