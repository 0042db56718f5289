"""Fixtures for the verification tests: ../shared vectors and a real OCI registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import SHARED
from tests.verify._registry_fixture import Registry, start_registry

VECTORS = SHARED / "vectors"


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
