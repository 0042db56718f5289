"""Kyverno's API group and docs, and the walk over a verifyImages entry's attestors."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.parse.yamlnode import YNode

_KYVERNO_DOCS = "https://kyverno.io/docs/writing-policies/verify-images/sigstore/"

_KYVERNO_API = (
    "https://github.com/kyverno/kyverno/blob/main/api/kyverno/v1/image_verification_types.go"
)


def _attestor_sets(entry: YNode) -> Iterator[YNode]:
    """Every attestor set of an entry: its attestors, its attestations' attestors, nested ones."""
    stack: list[YNode] = []
    for key in ("attestors",):
        stack.extend(s for s in (entry.get(key).seq() if entry.get(key) is not None else []))  # type: ignore[union-attr]
    for att in entry.get("attestations").seq() if entry.get("attestations") is not None else []:  # type: ignore[union-attr]
        stack.extend(att.get("attestors").seq() if att.get("attestors") is not None else [])  # type: ignore[union-attr]
    while stack:
        s = stack.pop()
        if not s.is_map:
            continue
        yield s
        for e in s.get("entries").seq() if s.get("entries") is not None else []:  # type: ignore[union-attr]
            nested = e.get("attestor") if e.is_map else None
            if nested is not None and nested.is_map:
                stack.append(nested)
