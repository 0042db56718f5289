"""Fixtures for the verification tests: ../shared vectors and a real OCI registry."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.verify._registry_fixture import Registry, start_registry

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


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A real registry on 127.0.0.1 over TLS with basic auth (skips if not installed)."""
    yield from start_registry(tmp_path_factory.mktemp("registry"))


@pytest.fixture()
def registry_env(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> Registry:
    """The registry, with DOCKER_CONFIG pointing at its credentials."""
    monkeypatch.setenv("DOCKER_CONFIG", str(registry.docker_config))
    return registry
