"""The decision cache: verdicts keyed by image digest + policy and trust fingerprint.

Never keyed by tag: a tag is resolved to its digest first, so a tag moved after signing
meets a fresh verification. Only definitive verdicts are cached (the caller decides), allow
and deny with their own TTLs. `LocalCache` is in-process; `SharedCache` puts Redis in front
so replicas share results, and falls back to the local cache while Redis fails.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from kubeward.gate.metrics import GateMetrics
from kubeward.gate.model import GateVerdict


def cache_key(digest: str, fingerprint: str) -> str:
    return f"{digest}|{fingerprint}"


class DecisionCache(Protocol):
    async def get(self, key: str) -> GateVerdict | None: ...

    async def put(self, key: str, verdict: GateVerdict, *, ttl: float) -> None: ...

    async def close(self) -> None: ...


class LocalCache:
    """A bounded in-process cache with per-entry expiry (least recently used evicted)."""

    def __init__(
        self, *, max_entries: int = 10000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, GateVerdict]] = OrderedDict()
        self._max = max_entries
        self._clock = clock

    async def get(self, key: str) -> GateVerdict | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, verdict = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return verdict

    async def put(self, key: str, verdict: GateVerdict, *, ttl: float) -> None:
        if ttl <= 0:
            return
        self._entries[key] = (self._clock() + ttl, verdict)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def close(self) -> None:
        self._entries.clear()


class SharedCache:
    """Redis shared by the replicas, with the local cache in front and as the fallback.

    While Redis fails, lookups and writes go to the local cache only, each failure is counted
    (`kubeward_gate_cache_backend_errors_total`, `kubeward_gate_cache_backend_up` 0), and
    Redis is tried again after `retry_after` seconds rather than on every request.
    """

    def __init__(
        self,
        url: str,
        *,
        metrics: GateMetrics,
        prefix: str = "kubeward:gate:",
        local: LocalCache | None = None,
        timeout: float = 0.25,
        retry_after: float = 5.0,
        local_ttl: float = 5.0,
    ) -> None:
        import redis.asyncio

        self._redis = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=None
        )
        self._metrics = metrics
        self._prefix = prefix
        self.local = local or LocalCache()
        self._retry_after = retry_after
        self._local_ttl = local_ttl
        self._down_until = 0.0
        metrics.cache_backend_up.set(1)

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, operation: str) -> None:
        self._metrics.cache_backend_errors.labels(operation).inc()
        self._metrics.cache_backend_up.set(0)
        self._down_until = time.monotonic() + self._retry_after

    async def get(self, key: str) -> GateVerdict | None:
        local = await self.local.get(key)
        if local is not None or not self._available():
            return local
        try:
            raw = await self._redis.get(self._prefix + key)
        except Exception:  # any Redis failure (connection, timeout, protocol): fall back
            self._failed("get")
            return None
        self._metrics.cache_backend_up.set(1)
        if raw is None:
            return None
        try:
            verdict = GateVerdict.from_json(json.loads(raw))
        except ValueError:
            return None
        # A short local copy spares Redis the hot keys; never longer than Redis keeps it.
        await self.local.put(key, verdict, ttl=self._local_ttl)
        return verdict

    async def put(self, key: str, verdict: GateVerdict, *, ttl: float) -> None:
        await self.local.put(
            key, verdict, ttl=min(ttl, self._local_ttl) if self._available() else ttl
        )
        if ttl <= 0 or not self._available():
            return
        try:
            await self._redis.set(
                self._prefix + key, json.dumps(verdict.to_json()), px=max(1, int(ttl * 1000))
            )
        except Exception:  # any Redis failure: the local cache holds it
            self._failed("put")
            await self.local.put(key, verdict, ttl=ttl)
            return
        self._metrics.cache_backend_up.set(1)

    async def close(self) -> None:
        await self._redis.aclose()
