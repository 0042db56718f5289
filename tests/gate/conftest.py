"""Fixtures for the gate tests: the real registry (as the verify tests start it), Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gate._harness import Redis, start_redis
from tests.gate._world import World, build_world
from tests.verify._registry_fixture import Registry, start_registry


@pytest.fixture(scope="session")
def gate_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    yield from start_registry(tmp_path_factory.mktemp("gate-registry"))


@pytest.fixture(scope="session")
def world(gate_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The signed, unsigned, tampered and moved images, policies, trust root and TLS."""
    return build_world(gate_registry, tmp_path_factory.mktemp("gate"))


@pytest.fixture()
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    yield from start_redis(tmp_path_factory.mktemp("redis"))
