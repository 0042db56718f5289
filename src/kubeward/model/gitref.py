"""Git object names shared by the rules that ask "is this pinned to a commit?"."""

from __future__ import annotations

import re

# A full commit id: 40 hex digits (SHA-1) or 64 (repositories in SHA-256 object format).
_FULL_COMMIT_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def is_full_commit(ref: str) -> bool:
    """Whether `ref` is a full commit id (not a branch, a tag or an abbreviated id)."""
    return _FULL_COMMIT_RE.match(ref) is not None
