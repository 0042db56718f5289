"""Kyverno's image-reference matching.

- `verifyImages[].imageReferences` (and `skipImageReferences`) of a `ClusterPolicy`/`Policy`:
  the `wildcard.Match` of Kyverno's `ext/wildcard` package: `*` matches any run of
  characters, `/` included, and `?` one character.
- `ImageValidatingPolicy` `spec.matchImageReferences[].glob`: compiled with
  `github.com/gobwas/glob` without separators (kyverno `pkg/imageverification/match`): `*` any
  run, `/` included, `?` one character, plus `[...]` classes and `{a,b}` alternatives.

Kyverno matches against the normalised reference (`docker.io/library/nginx:latest`);
`kyverno_forms` also gives the text as written, so that the scan never calls an image
uncovered that Kyverno would match.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kubeward.model.image import DOCKER_HUB, ImageRef


@lru_cache(maxsize=4096)
def kyverno_regex(pattern: str) -> re.Pattern[str]:
    """Kyverno's wildcard.Match: `*` any run (slashes included), `?` one character."""
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("^" + "".join(out) + "$", re.S)


@lru_cache(maxsize=4096)
def gobwas_regex(pattern: str) -> re.Pattern[str] | None:
    """`gobwas/glob.Compile(pattern)` with no separators, as Kyverno's ImageValidatingPolicy
    compiles `matchImageReferences[].glob`: `*` and `**` any run, `?` one character, `[...]`
    (`[!...]` negated) a class, `{a,b}` alternatives, `\\` an escape. None for a glob it
    rejects (an unclosed class or brace): Kyverno refuses such a policy."""
    out: list[str] = []
    depth = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                return None
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                return None
            body = pattern[i + 1 : end]
            neg = body.startswith("!")
            body = body[1:] if neg else body
            if not body:
                return None
            chars = "".join("\\" + c if c in "\\^]" else c for c in body)
            out.append(f"[{'^' if neg else ''}{chars}]")
            i = end + 1
            continue
        elif ch == "{":
            depth += 1
            out.append("(?:")
        elif ch == "}" and depth:
            depth -= 1
            out.append(")")
        elif ch == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(ch))
        i += 1
    if depth:
        return None
    return re.compile("^" + "".join(out) + "$", re.S)


def kyverno_forms(ref: ImageRef) -> tuple[str, ...]:
    """The strings Kyverno may compare its patterns with (normalised and as written)."""
    forms = {ref.text.strip()}
    names = {ref.name}
    if ref.registry == DOCKER_HUB:
        names.add(f"{DOCKER_HUB}/{ref.familiar_name}")
    for name in names:
        forms.add(name)
        if ref.digest:
            forms.add(f"{name}@{ref.digest}")
            if ref.tag:
                forms.add(f"{name}:{ref.tag}@{ref.digest}")
        else:
            forms.add(f"{name}:{ref.tag or 'latest'}")
    return tuple(sorted(forms))


def wildcard_match(pattern: str, text: str) -> bool:
    """`wildcard.Match(pattern, text)`, as Kyverno compares namespace names in `match` and
    `exclude` blocks and `validationFailureActionOverrides`."""
    return kyverno_regex(pattern).match(text) is not None
