"""Fixtures for the verification tests: ../shared vectors and a real OCI registry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
VECTORS = SHARED / "vectors"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip (fail with KUBEWARD_REQUIRE_SHARED=1) if absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is absent (../shared is not beside this clone)"
        if os.environ.get("KUBEWARD_REQUIRE_SHARED") == "1":
            pytest.fail(reason + " but KUBEWARD_REQUIRE_SHARED=1")
        pytest.skip(reason)
    return path


def vectors_available() -> bool:
    return VECTORS.exists()
