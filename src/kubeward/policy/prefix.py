"""Finding the image patterns that can match an image without trying each one.

Every image pattern kubeward evaluates (Kyverno wildcards and gobwas globs, policy-controller
globs) must match the whole name, so a pattern can match a name only when the name starts with
the pattern's *literal prefix*: its text up to the first character that is not literal in any
of these syntaxes (`*`, `?`, `[`, `{`, `\\`). `PrefixIndex` keeps values by that prefix and
returns, for a set of names, every value whose prefix starts one of them: a superset of the
patterns that match, found in time proportional to the names' length, not to the number of
patterns. The caller still matches each candidate with the engine's own semantics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NOT_LITERAL = re.compile(r"[*?\[{\\]")


def literal_prefix(pattern: str) -> str:
    """The text of a pattern before its first wildcard, class, brace or escape."""
    m = _NOT_LITERAL.search(pattern)
    return pattern if m is None else pattern[: m.start()]


class PrefixIndex:
    """Numbers (of policies, say) by the literal prefix of their patterns."""

    def __init__(self) -> None:
        self._by_prefix: dict[str, list[int]] = {}
        self._lengths: list[int] = []

    def add(self, pattern: str, value: int) -> None:
        prefix = literal_prefix(pattern)
        self._by_prefix.setdefault(prefix, []).append(value)
        if len(prefix) not in self._lengths:
            self._lengths.append(len(prefix))
            self._lengths.sort()

    def candidates(self, names: Iterable[str]) -> set[int]:
        """Every value added under a prefix that one of the names starts with."""
        out: set[int] = set()
        for name in names:
            for n in self._lengths:
                if n > len(name):
                    break
                out.update(self._by_prefix.get(name[:n], ()))
        return out
