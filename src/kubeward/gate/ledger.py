"""The admission ledger: one JSON line per image decision, to a file or a Redis stream.

The cluster view reads it to find drift between what was admitted and what runs.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from kubeward.gate.metrics import GateMetrics


@dataclass(frozen=True)
class LedgerRecord:
    time: str
    """RFC 3339, UTC."""
    review: str
    """`AdmissionReview`, `AdmissionReview/mutate` or `ImageReview`."""
    uid: str
    namespace: str
    object: str
    operation: str
    container: str
    image: str
    """As written in the object."""
    digest: str | None
    """The digest the decision was made for (None when it could not be resolved)."""
    policy: str | None
    verdict: str
    """allow, deny, warn, skip (namespace excluded) or break-glass."""
    reason: str
    cache: str
    """hit or miss (none when nothing was looked up)."""
    dry_run: bool = False
    """The apiserver asked with `dryRun`: nothing was admitted, whatever the verdict."""

    def to_json_line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)


class Ledger(Protocol):
    async def append(self, records: list[LedgerRecord]) -> None: ...

    async def close(self) -> None: ...


class FileLedger:
    """Appends to a file opened with O_APPEND: one write per review, lines never interleave
    with another process's (each write is one `write(2)` call)."""

    def __init__(self, path: Path, *, metrics: GateMetrics) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._metrics = metrics

    async def append(self, records: list[LedgerRecord]) -> None:
        if not records:
            return
        data = "".join(r.to_json_line() + "\n" for r in records).encode()
        try:
            os.write(self._fd, data)
        except OSError as exc:
            self._metrics.ledger_errors.inc(len(records))
            print(f"kubeward gate: ledger write failed: {exc.strerror}", file=sys.stderr)

    async def close(self) -> None:
        os.close(self._fd)


class RedisLedger:
    """`XADD` to a Redis stream (field `record`), capped at about `max_length` entries."""

    def __init__(
        self, url: str, *, stream: str, metrics: GateMetrics, max_length: int = 1_000_000
    ) -> None:
        import redis.asyncio

        self._redis = redis.asyncio.Redis.from_url(url, socket_timeout=0.5, retry=None)
        self._stream = stream
        self._max = max_length
        self._metrics = metrics

    async def append(self, records: list[LedgerRecord]) -> None:
        if not records:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for record in records:
                    pipe.xadd(
                        self._stream,
                        {"record": record.to_json_line()},
                        maxlen=self._max,
                        approximate=True,
                    )
                await pipe.execute()
        except Exception:  # Redis down: the decision stands, the loss is counted and logged
            self._metrics.ledger_errors.inc(len(records))
            for record in records:
                print(f"kubeward gate: ledger (unsent): {record.to_json_line()}", file=sys.stderr)

    async def close(self) -> None:
        await self._redis.aclose()
