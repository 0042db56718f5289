"""Fixtures for the gate tests: the real registry (as the verify tests start it), Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gate._harness import Redis, start_redis
from tests.verify._registry_fixture import Registry, start_registry


@pytest.fixture(scope="session")
def gate_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    yield from start_registry(tmp_path_factory.mktemp("gate-registry"))


@pytest.fixture()
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    yield from start_redis(tmp_path_factory.mktemp("redis"))
