"""The gate's decisions: namespaces, deadlines, the cache, warn mode, break-glass, the ledger.

Every answer is given before `budget` seconds have passed since the request arrived. A
resolution or verification still running at the deadline is a deny with that reason (fail
closed); it goes on in its thread and, when definitive, fills the cache for the next request.
Identical work in flight (the same tag, the same digest) is done once.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from kubeward.gate.cache import DecisionCache, cache_key
from kubeward.gate.config import GateConfig
from kubeward.gate.ledger import Ledger, LedgerRecord
from kubeward.gate.metrics import GateMetrics
from kubeward.gate.model import GateError, GateVerdict, ImageVerifier, Mode, Resolved
from kubeward.gate.review import ContainerImage, ReviewRequest, pin

T = TypeVar("T")


@dataclass(frozen=True)
class ImageDecision:
    container: ContainerImage
    verdict: GateVerdict
    cache: str
    """hit, miss or none (nothing looked up)."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    message: str
    warnings: tuple[str, ...]
    pins: dict[str, str]
    """Pointer -> `repo:tag@sha256:…` for the images a mutating review pins."""
    images: tuple[ImageDecision, ...]
    audit: dict[str, str]


def _deny(reason: str, category: str, digest: str | None = None) -> GateVerdict:
    return GateVerdict(
        allowed=False,
        reason=reason,
        digest=digest,
        policy_name=None,
        mode=Mode.ENFORCE,
        category=category,
        definitive=False,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Gate:
    """One gate process's decision engine. `start()` loads the verifier in the background;
    until it is loaded every image is denied as "not ready" and `/readyz` says 503."""

    def __init__(
        self,
        config: GateConfig,
        *,
        load_verifier: Callable[[], ImageVerifier],
        cache: DecisionCache,
        ledger: Ledger | None,
        metrics: GateMetrics,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self._load_verifier = load_verifier
        self._cache = cache
        self._ledger = ledger
        self._executor = ThreadPoolExecutor(
            max_workers=config.verify_threads, thread_name_prefix="kubeward-verify"
        )
        self.verifier: ImageVerifier | None = None
        self.load_error: str | None = None
        self._in_flight: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Future[None] | None = None
        self._stamp: tuple[tuple[int, int] | None, ...] = ()

    # --- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Load the policies and trust material; then, with `reload_seconds`, watch them."""
        self._stamp = self._sources()
        await self._load()
        if self.config.reload_seconds > 0:
            self._watcher = asyncio.ensure_future(self._watch())

    async def _load(self) -> bool:
        loop = asyncio.get_running_loop()
        try:
            verifier = await loop.run_in_executor(self._executor, self._load_verifier)
        except Exception as exc:  # reported on /readyz and stderr; the old verifier stays
            self.load_error = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            print(f"kubeward gate: policies not loaded: {self.load_error}", file=sys.stderr)
            return False
        self.verifier, self.load_error = verifier, None
        self.metrics.ready.set(1)
        return True

    def _sources(self) -> tuple[tuple[int, int] | None, ...]:
        """(mtime, size) of each policy file and the trust root; None for a missing one.
        Mounted ConfigMaps and Secrets change by an atomic symlink swap, which this sees."""
        paths = [*self.config.policies, self.config.trusted_root]
        stamps: list[tuple[int, int] | None] = []
        for path in paths:
            try:
                st = path.stat() if path is not None else None
            except OSError:
                st = None
            stamps.append(None if st is None else (st.st_mtime_ns, st.st_size))
        return tuple(stamps)

    async def _watch(self) -> None:
        """Reload when the files change. A change that does not load keeps the verifier in
        use (and its cache keys); a loaded one changes the fingerprint, so no verdict made
        under the old policies is reused."""
        while True:
            await asyncio.sleep(self.config.reload_seconds)
            stamp = self._sources()
            if stamp == self._stamp:
                continue
            self._stamp = stamp
            loaded = await self._load()
            self.metrics.policy_reloads.labels("loaded" if loaded else "failed").inc()

    @property
    def ready(self) -> bool:
        return self.verifier is not None

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
        await self._cache.close()
        if self._ledger is not None:
            await self._ledger.close()

    # --- one image ------------------------------------------------------------------------

    async def _shared(
        self,
        key: tuple[str, str],
        call: Callable[[], T],
        deadline: float,
        on_result: Callable[[T], None] | None = None,
    ) -> T | None:
        """Run `call` in a thread (once for all callers of the same key); None at deadline.

        `on_result` gets the result whenever it comes, also after the deadline."""
        future = self._in_flight.get(key)
        if future is None:
            future = asyncio.get_running_loop().run_in_executor(self._executor, call)
            self._in_flight[key] = future

            def done(f: asyncio.Future[Any]) -> None:
                self._in_flight.pop(key, None)
                if on_result is not None and not f.cancelled() and f.exception() is None:
                    on_result(f.result())

            future.add_done_callback(done)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            result: T = await asyncio.wait_for(asyncio.shield(future), remaining)
        except TimeoutError:
            return None
        return result

    def _remember(self, key: str, verdict: GateVerdict) -> None:
        if not verdict.definitive:
            return
        ttl = self.config.allow_ttl if verdict.allowed else self.config.deny_ttl
        task = asyncio.ensure_future(self._cache.put(key, verdict, ttl=ttl))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _timed_verify(self, verifier: ImageVerifier, ref: Resolved, deadline: float) -> GateVerdict:
        started = time.monotonic()
        try:
            verdict = verifier.verify(ref, deadline=deadline)
        except GateError as exc:
            verdict = _deny(exc.reason, exc.category, ref.digest)
        result = "pass" if verdict.allowed else ("fail" if verdict.definitive else "error")
        self.metrics.verification_duration.labels(result).observe(time.monotonic() - started)
        return verdict

    async def judge(self, image: str, *, deadline: float) -> tuple[GateVerdict, str]:
        """The verdict for one image as written, and hit/miss/none for the cache."""
        verifier = self.verifier
        if verifier is None:
            return _deny(
                "the gate is not ready (policies or trust material not loaded)", "not-ready"
            ), "none"
        try:
            ref = verifier.parse(image)
        except GateError as exc:
            return _deny(exc.reason, exc.category), "none"
        if ref.digest is None:
            resolved = await self._resolve(verifier, ref, image, deadline)
            if isinstance(resolved, GateVerdict):
                return resolved, "none"
            ref = resolved
        key = cache_key(ref.pinned, verifier.fingerprint)
        cached = await self._cache.get(key)
        if cached is not None:
            self.metrics.cache_lookups.labels("hit").inc()
            return cached, "hit"
        self.metrics.cache_lookups.labels("miss").inc()
        verdict = await self._shared(
            ("verify", key),
            lambda: self._timed_verify(verifier, ref, deadline),
            deadline,
            lambda v: self._remember(key, v),
        )
        if verdict is None:
            self.metrics.verification_duration.labels("timeout").observe(self.config.budget)
            return _deny(
                f"verification of {ref.pinned} did not finish within the "
                f"{self.config.budget:g} s deadline (fails closed)",
                "deadline",
                ref.digest,
            ), "miss"
        return verdict, "miss"

    async def _resolve(
        self, verifier: ImageVerifier, ref: Resolved, image: str, deadline: float
    ) -> Resolved | GateVerdict:
        def call() -> Resolved | GateVerdict:
            try:
                return verifier.resolve(ref, deadline=deadline)
            except GateError as exc:
                return _deny(exc.reason, exc.category)

        result = await self._shared(("resolve", image), call, deadline)
        if result is None:
            return _deny(
                f"the registry did not answer within the {self.config.budget:g} s "
                "deadline (fails closed)",
                "deadline",
            )
        return result

    # --- one review -----------------------------------------------------------------------

    async def review(self, request: ReviewRequest, *, mutate: bool = False) -> Decision:
        started = time.monotonic()
        deadline = started + self.config.budget
        decision = await self._review(request, mutate=mutate, deadline=deadline)
        caches = {d.cache for d in decision.images} - {"none"}
        cache = "none" if not caches else ("hit" if caches == {"hit"} else "miss")
        self.metrics.review_duration.labels("allow" if decision.allowed else "deny", cache).observe(
            time.monotonic() - started
        )
        return decision

    async def _review(self, request: ReviewRequest, *, mutate: bool, deadline: float) -> Decision:
        review = request.kind + ("/mutate" if mutate else "")
        if self.config.excluded(request.namespace):
            reason = f"namespace {request.namespace} is excluded from the gate"
            if not mutate and request.containers:
                self.metrics.decisions.labels("allow", "excluded-namespace").inc(
                    len(request.containers)
                )
            await self._log(
                request, review, [(c, None, "skip", reason, "none") for c in request.containers]
            )
            return Decision(True, reason, (), {}, (), {})
        jobs: dict[str, Awaitable[tuple[GateVerdict, str]]] = {}
        for container in request.containers:
            if container.image not in jobs:
                jobs[container.image] = (
                    self._pin_only(container.image, deadline)
                    if mutate
                    else self.judge(container.image, deadline=deadline)
                )
        results = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))
        images = tuple(ImageDecision(c, *results[c.image]) for c in request.containers)
        return await self._conclude(request, review, images, mutate=mutate)

    async def _pin_only(self, image: str, deadline: float) -> tuple[GateVerdict, str]:
        """The mutating review: resolve the tag; judging is the validating review's job."""
        verifier = self.verifier
        if verifier is None:
            return _deny("the gate is not ready", "not-ready"), "none"
        try:
            ref = verifier.parse(image)
        except GateError as exc:
            return _deny(exc.reason, exc.category), "none"
        if ref.digest is not None:
            return GateVerdict(
                True, "pinned by digest", ref.digest, None, Mode.ENFORCE, "pinned"
            ), "none"
        resolved = await self._resolve(verifier, ref, image, deadline)
        if isinstance(resolved, GateVerdict):
            return resolved, "none"
        return GateVerdict(
            True, "tag resolved", resolved.digest, None, Mode.ENFORCE, "resolved"
        ), "none"

    async def _conclude(
        self,
        request: ReviewRequest,
        review: str,
        images: Sequence[ImageDecision],
        *,
        mutate: bool,
    ) -> Decision:
        warnings: list[str] = []
        pins: dict[str, str] = {}
        audit: dict[str, str] = {}
        denied = []
        records = []
        glass = self.config.break_glass and request.break_glass
        for item in images:
            c, v = item.container, item.verdict
            image = f"image {c.image or '<none>'}"
            where = image if request.kind == "ImageReview" else f"{c.display} {image}"
            if mutate:
                if v.allowed and v.digest and "@" not in c.image:
                    pins[c.pointer] = pin(c.image, v.digest)
                elif not v.allowed:
                    warnings.append(f"{where}: not pinned: {v.reason}")
                records.append((c, v, "pin" if v.allowed else "unpinned", v.reason, item.cache))
                continue
            warnings += [f"{where}: {w}" for w in v.warnings]
            if v.allowed:
                verdict = "warn" if v.warnings else "allow"
            elif glass:
                verdict = "break-glass"
            else:
                verdict = "deny"
                denied.append(f"{where}: {v.reason}")
            self.metrics.decisions.labels(
                "deny" if verdict == "deny" else ("warn" if verdict == "warn" else "allow"),
                "break-glass" if verdict == "break-glass" else v.category,
            ).inc()
            records.append((c, v, verdict, v.reason, item.cache))
        if glass and not mutate:
            audit["break-glass"] = "true"
            warnings.append(
                "break-glass annotation honoured: images admitted whatever their verdict"
            )
        await self._log(request, review, records)
        message = ""
        if denied:
            what = "the pod" if request.kind == "ImageReview" else request.object_display
            message = f"kubeward gate denied {what}: " + "; ".join(denied)
        return Decision(not denied, message, tuple(warnings), pins, tuple(images), audit)

    async def _log(
        self,
        request: ReviewRequest,
        review: str,
        items: Sequence[tuple[ContainerImage, GateVerdict | None, str, str, str]],
    ) -> None:
        if self._ledger is None:
            return
        when = _now()
        await self._ledger.append(
            [
                LedgerRecord(
                    time=when,
                    review=review,
                    uid=request.uid,
                    namespace=request.namespace,
                    object=request.object_display,
                    operation=request.operation,
                    container=c.display,
                    image=c.image,
                    digest=v.digest if v else None,
                    policy=v.policy_name if v else None,
                    verdict=verdict,
                    reason=reason,
                    cache=cache,
                    dry_run=request.dry_run,
                )
                for c, v, verdict, reason, cache in items
            ]
        )
