"""Sigstore policy-controller's image globs (`ClusterImagePolicy` `spec.images[].glob`).

This reproduces `pkg/apis/glob` of github.com/sigstore/policy-controller (`glob.go`, checked at
commit f925c0c1, its `glob_test.go` table is tests/test_policy_glob.py):

- A glob is valid when it consists only of `[a-zA-Z0-9-_:/*.@]` (so `[a-z]*`, `.+` and the
  empty glob are rejected: the API server refuses such a policy).
- `**` matches any run of characters, `/` included; `*` any run without `/` (it does cross
  `:` and `@`, so `repo*` also matches `repo:tag`); `.` is literal; the glob must match the
  whole name.
- A bare `*` means `index.docker.io/library/*` and `*/*` means `index.docker.io/*/*`.
- `Match(glob, image)` compares with go-containerregistry's `Reference.Name()` of the image:
  the registry with Docker Hub spelled `index.docker.io`, the repository (`library/` added for
  official images), then `:tag` (`:latest` when there is none) or `@digest` (a `tag@digest`
  reference keeps only the digest). When that fails it tries the text as written (a fallback
  upstream calls deprecated).

Admission never reaches that fallback: the webhook passes `ref.Name()` itself
(`GetMatchingPolicies(ref.Name(), ...)` in `pkg/webhook/validator.go`), so `selects` compares
with the full name only; `glob_match` is upstream's `Match`, fallback included.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kubeward.model.image import DOCKER_HUB, ImageRef, parse_image

_VALID_GLOB = re.compile(r"[a-zA-Z0-9\-_:/*.@]+")
_DOCKER_HUB_HOST = "index.docker.io"


class InvalidGlob(ValueError):
    """A glob policy-controller rejects (`invalid glob "..."`)."""


@lru_cache(maxsize=4096)
def compile_glob(glob: str) -> re.Pattern[str]:
    """`glob.Compile`: the regular expression a glob stands for; raises `InvalidGlob`."""
    if glob == "*/*":
        glob = "index.docker.io/*/*"
    if glob == "*":
        glob = "index.docker.io/library/*"
    if not _VALID_GLOB.fullmatch(glob):
        raise InvalidGlob(
            f"invalid glob {glob!r}: policy-controller allows only letters, digits and "
            "'-_:/*.@' ('*' within a path segment, '**' across segments)"
        )
    pattern = glob.replace(".", r"\.").replace("**", "#").replace("*", "[^/]*").replace("#", ".*")
    return re.compile(pattern)


def reference_name(ref: ImageRef) -> str:
    """go-containerregistry's `Reference.Name()`: `index.docker.io/library/nginx:latest`."""
    registry = _DOCKER_HUB_HOST if ref.registry == DOCKER_HUB else ref.registry
    name = f"{registry}/{ref.repository}"
    return f"{name}@{ref.digest}" if ref.digest else f"{name}:{ref.tag or 'latest'}"


def selects(glob: str, ref: ImageRef) -> bool:
    """Whether admission applies a policy with this glob to the image (an invalid glob or a
    reference that is not literal and valid: no)."""
    if not ref.is_resolved:
        return False
    try:
        rx = compile_glob(glob)
    except InvalidGlob:
        return False
    return rx.fullmatch(reference_name(ref)) is not None


def glob_match(glob: str, image: str) -> bool:
    """`glob.Match(glob, image)`; raises `InvalidGlob`, or `ValueError` for an image that is
    not a valid reference."""
    rx = compile_glob(glob)
    ref = parse_image(image)
    if ref.error is not None or ref.templated:
        raise ValueError(f"{image!r} is not a valid image reference: {ref.error or 'templated'}")
    name = reference_name(ref)
    if rx.fullmatch(name) is not None:
        return True
    return name != image and rx.fullmatch(image) is not None
