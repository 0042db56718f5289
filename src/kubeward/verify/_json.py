"""Strict JSON for documents an attacker may write: bundles, manifests, cosign annotations.

Python's `json` accepts what Go's `encoding/json` and `protojson` (what cosign and sigstore-go
parse with) refuse: `NaN`, `Infinity` and numbers that overflow to infinity. Deep nesting
raises `RecursionError`, which is no parse error at all. `load_json` refuses all three with an
`InputError` whose reason is one line, and, for Sigstore bundles, refuses duplicate keys as
`protojson` does (a parser differential is how a signed field gets a second meaning).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from kubeward.verify._errors import InputError

MAX_DEPTH = 64
"""Nesting allowed in a parsed document: far beyond any bundle's or manifest's schema."""
INT64_MAX = 2**63 - 1
_DECIMAL = re.compile(r"-?[0-9]+")


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if key in doc:
            raise ValueError(f"duplicate key {key[:60]!r}")
        doc[key] = value
    return doc


def _depth(doc: Any) -> int:
    """How deeply `doc` nests, without recursion."""
    deepest = 0
    stack = [(doc, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


def load_json(data: str | bytes, what: str, *, unique_keys: bool = False) -> Any:
    """Parse `data`; raise `InputError` naming `what` when it is not strict, bounded JSON."""
    try:
        doc = json.loads(
            data,
            parse_constant=_no_constant,
            parse_float=_finite,
            object_pairs_hook=_unique if unique_keys else None,
        )
    except RecursionError as exc:
        raise InputError(f"{what} nests deeper than {MAX_DEPTH} levels") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 text") from exc
    except ValueError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{what} is not valid JSON: {reason}") from exc
    if _depth(doc) > MAX_DEPTH:
        raise InputError(f"{what} nests deeper than {MAX_DEPTH} levels")
    return doc


def json_int(value: Any, what: str, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """An integer field as protojson reads an int64: a JSON integer or a decimal string,
    within [minimum, maximum]; raises `InputError` otherwise."""
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        if len(value.lstrip("-")) > 40:
            raise InputError(f"{what} is out of range")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} is not an integer")
    if not minimum <= value <= maximum:
        shown = str(value) if len(str(value)) <= 40 else "value"
        raise InputError(f"{what} {shown} is out of range [{minimum}, {maximum}]")
    return value
