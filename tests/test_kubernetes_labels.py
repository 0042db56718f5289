"""Label selectors as the API machinery evaluates them (aggregation, policy match blocks)."""

from __future__ import annotations

import pytest

from kubeward.model.labels import LabelSelector, parse_selector
from kubeward.parse.yamlnode import load_documents


def _sel(text: str) -> LabelSelector:
    (doc,) = load_documents(text, "sel.yaml")
    got = parse_selector(doc)
    assert got is not None
    return got


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("{}", {}, True),  # empty: everything
        ("matchLabels: {a: '1'}", {"a": "1", "b": "2"}, True),
        ("matchLabels: {a: '1'}", {"a": "2"}, False),
        ("matchExpressions: [{key: a, operator: In, values: ['1', '2']}]", {"a": "2"}, True),
        ("matchExpressions: [{key: a, operator: In, values: ['1']}]", {}, False),
        ("matchExpressions: [{key: a, operator: NotIn, values: ['1']}]", {}, True),
        ("matchExpressions: [{key: a, operator: NotIn, values: ['1']}]", {"a": "1"}, False),
        ("matchExpressions: [{key: a, operator: Exists}]", {"a": ""}, True),
        ("matchExpressions: [{key: a, operator: DoesNotExist}]", {"a": ""}, False),
        # requirements are ANDed, matchLabels with matchExpressions
        (
            "matchLabels: {a: '1'}\nmatchExpressions: [{key: b, operator: Exists}]",
            {"a": "1"},
            False,
        ),
        # an unknown operator makes the selector invalid: it matches nothing
        ("matchExpressions: [{key: a, operator: Matches, values: ['1']}]", {"a": "1"}, False),
    ],
)
def test_selector_semantics(selector: str, labels: dict[str, str], matches: bool) -> None:
    assert _sel(selector).matches(labels) is matches


def test_describe_reads_like_kubectl() -> None:
    sel = _sel(
        "matchLabels: {app: web}\nmatchExpressions:\n"
        "  - {key: tier, operator: NotIn, values: [db, cache]}\n"
        "  - {key: canary, operator: DoesNotExist}\n"
    )
    assert sel.describe() == "app=web,tier notin (db, cache),!canary"
