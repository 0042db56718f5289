"""Small pure pieces of the gitops models: revision kinds, catch-all patterns, lookalikes."""

from __future__ import annotations

import pytest

from kubeward.model.gitops import classify_revision
from kubeward.model.policy import is_catch_all_regexp, is_catch_all_wildcard
from kubeward.rules.gitops.gatekeeper_allowed_repo_lookalike import _lookalike


@pytest.mark.parametrize(
    ("text", "chart", "kind"),
    [
        ("", False, "head"),
        ("HEAD", False, "head"),
        ("head", False, "head"),
        ("main", False, "branch"),
        ("refs/heads/release", False, "branch"),
        ("v1.4.2", False, "pinned"),
        ("1.4.2-rc.1", False, "pinned"),
        ("0123456789abcdef0123456789abcdef01234567", False, "pinned"),
        ("release-1.4", False, "other"),  # a tag or a branch: not accused
        ("*", True, "range"),
        (">=1.0.0", True, "range"),
        ("1.2.x", True, "range"),
        ("~1.2", True, "range"),
        ("^2", True, "range"),
        ("18.6.1", True, "pinned"),
        ("main", True, "other"),  # a chart version named main is not a branch
    ],
)
def test_classify_revision(text: str, chart: bool, kind: str) -> None:
    assert classify_revision(text, chart=chart) == kind


@pytest.mark.parametrize(
    "rx",
    # The last ones match every value under cosign's unanchored MatchString.
    [".*", "^.*$", ".+", "^.+$", "(.*)", "", "*", "^", "$", "(acme)?", "x*", "(?:^|acme)"],
)
def test_catch_all_regexps(rx: str) -> None:
    assert is_catch_all_regexp(rx)


@pytest.mark.parametrize(
    "rx",
    [
        "^https://github\\.com/acme/.*$",
        "https://token.actions.githubusercontent.com",
        ".*@acme\\.com$",
        "^$",  # matches only the empty value
        "acme",
    ],
)
def test_bounded_regexps(rx: str) -> None:
    assert not is_catch_all_regexp(rx)


def test_catch_all_wildcards() -> None:
    assert is_catch_all_wildcard("*") and is_catch_all_wildcard("**")
    assert not is_catch_all_wildcard("https://github.com/acme/*")
    assert not is_catch_all_wildcard("?")


@pytest.mark.parametrize(
    ("prefix", "example"),
    [
        ("registry.example.com", "registry.example.com.evil.example/app"),
        ("localhost:5000", "localhost:50000/app"),
        ("acme", "acme-evil/app"),
        ("ghcr.io/acme", "ghcr.io/acme-evil/app"),
        ("ghcr.io/acme/", None),
        ("nginx:1.27", None),
        ("ghcr.io/acme/app@", None),
    ],
)
def test_allowed_repo_lookalikes(prefix: str, example: str | None) -> None:
    assert _lookalike(prefix) == example
