"""Kubernetes label selectors (`matchLabels` and `matchExpressions`), as the API machinery
evaluates them (`metav1.LabelSelectorAsSelector`): the requirements are ANDed; an empty
selector matches everything; an unknown operator makes the selector invalid (it matches
nothing, as the API server would refuse it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kubeward.parse.yamlnode import YNode, is_templated

_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if self.operator == "In":
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values  # NotIn


@dataclass(frozen=True, slots=True)
class LabelSelector:
    requirements: tuple[Requirement, ...]
    valid: bool = True
    # Templated keys or values: the selector cannot be evaluated statically.
    templated: bool = False

    @property
    def is_empty(self) -> bool:
        return self.valid and not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        return self.valid and all(r.matches(labels) for r in self.requirements)

    def describe(self) -> str:
        parts = []
        for r in self.requirements:
            if r.operator == "In" and len(r.values) == 1:
                parts.append(f"{r.key}={r.values[0]}")
            elif r.operator in ("In", "NotIn"):
                parts.append(f"{r.key} {r.operator.lower()} ({', '.join(r.values)})")
            elif r.operator == "Exists":
                parts.append(r.key)
            else:
                parts.append(f"!{r.key}")
        return ",".join(parts) or "(everything)"


def _strings(node: YNode | None) -> tuple[str, ...]:
    if node is None:
        return ()
    return tuple(n.text for n in node.seq() if n.is_scalar and n.text is not None)


def parse_selector(node: YNode | None) -> LabelSelector | None:
    """The selector of a `{matchLabels, matchExpressions}` map (None when absent or not a map)."""
    if node is None or not node.is_map:
        return None
    reqs: list[Requirement] = []
    valid = True
    templated = False
    labels = node.get("matchLabels")
    if labels is not None and labels.is_map:
        for k, v in labels.items():
            if k.is_scalar and v.is_scalar:
                key, value = str(k.value), v.text or ""
                templated |= is_templated(key) or is_templated(value)
                reqs.append(Requirement(key, "In", (value,)))
    exprs = node.get("matchExpressions")
    for e in exprs.seq() if exprs is not None else []:
        if not e.is_map:
            continue
        expr_key, op = e.get_str("key") or "", e.get_str("operator") or ""
        values = _strings(e.get("values"))
        if not expr_key or op not in _OPERATORS:
            valid = False
            continue
        templated |= is_templated(expr_key) or any(is_templated(v) for v in values)
        reqs.append(Requirement(expr_key, op, values))
    return LabelSelector(tuple(reqs), valid=valid, templated=templated)


def labels_of(node: YNode | None) -> dict[str, str]:
    """A `labels:` map as strings."""
    if node is None or not node.is_map:
        return {}
    return {str(k.value): v.text or "" for k, v in node.items() if k.is_scalar and v.is_scalar}
