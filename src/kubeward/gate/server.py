"""The gate's HTTPS server: a plain ASGI application served by uvicorn.

Routes: `POST /validate` and `POST /mutate` (AdmissionReview v1), `POST /imagereview`
(ImageReview v1alpha1), `GET /healthz`, `/readyz` (200 once policies and trust material are
loaded) and `/metrics`. TLS only: the certificate and key are re-read when their files
change, at the next handshake (`CertificateReloader`), without a restart.

uvicorn rather than granian: the gate needs its own `ssl.SSLContext` (the SNI callback that
swaps in a re-read certificate), which uvicorn takes through `ssl_context_factory`;
granian terminates TLS in Rust from certificate files given at start. uvicorn runs on
httptools and uvloop when they are installed (they are dependencies): see the gate section
of docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from kubeward.gate.cache import DecisionCache, LocalCache, SharedCache
from kubeward.gate.config import ConfigError, GateConfig, load_config
from kubeward.gate.decide import Gate
from kubeward.gate.ledger import FileLedger, Ledger, RedisLedger
from kubeward.gate.metrics import GateMetrics
from kubeward.gate.model import ImageVerifier
from kubeward.gate.review import (
    BadRequest,
    admission_response,
    digest_patch,
    image_review_response,
    parse_admission_review,
    parse_image_review,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 8 * 1024 * 1024
CONFIG_ENV = "KUBEWARD_GATE_CONFIG"


class CertificateReloader:
    """A server `SSLContext` whose certificate follows the files on disk.

    At each handshake (the SNI callback runs for every ClientHello, with or without a server
    name) the files' modification times are compared, at most once a second; when they
    changed and the new pair loads, new connections get a context with it. A pair that does
    not load (half-written during rotation) keeps the old one in use and is tried again each
    second until it loads; the failure is reported once per change.
    """

    def __init__(self, cert_file: Path, key_file: Path, *, check_every: float = 1.0) -> None:
        self.cert_file, self.key_file = cert_file, key_file
        self._check_every = check_every
        self._lock = threading.Lock()
        self._stamp = self._mtimes()
        self.current = self._context(callback=False)
        self.outer = self._context(callback=True)
        self._checked = time.monotonic()
        self._failed: tuple[int, int] | None = None
        self.reloads = 0

    def _mtimes(self) -> tuple[int, int]:
        return (os.stat(self.cert_file).st_mtime_ns, os.stat(self.key_file).st_mtime_ns)

    def _context(self, *, callback: bool) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        context.set_alpn_protocols(["http/1.1"])
        if callback:
            context.sni_callback = self._on_hello
        return context

    def _on_hello(self, sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        now = time.monotonic()
        if now - self._checked >= self._check_every:
            with self._lock:
                self._checked = now
                stamp: tuple[int, int] | None = None
                try:
                    stamp = self._mtimes()
                    if stamp != self._stamp:
                        self.current = self._context(callback=False)
                        self._stamp = stamp
                        self.reloads += 1
                except (OSError, ssl.SSLError) as exc:
                    if stamp != self._failed:
                        self._failed = stamp
                        print(f"kubeward gate: certificate not reloaded: {exc}", file=sys.stderr)
        sock.context = self.current


def ssl_context_factory(config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """For uvicorn's `ssl_context_factory` (a module-level function: workers import it)."""
    return CertificateReloader(Path(config.ssl_certfile), Path(config.ssl_keyfile)).outer


async def _body(receive: Receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BadRequest(f"request body larger than {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, doc: dict[str, Any]) -> None:
    await _send(send, 200, json.dumps(doc).encode(), "application/json")


class GateApp:
    """The ASGI application around one `Gate`."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self._start: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Loading runs in the background: /healthz answers at once, /readyz when done.
                self._start = asyncio.ensure_future(self.gate.start())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._start is not None:
                    self._start.cancel()
                await self.gate.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if method == "GET" and path == "/healthz":
            return await _send(send, 200, b"ok\n", "text/plain")
        if method == "GET" and path == "/readyz":
            if self.gate.ready:
                return await _send(send, 200, b"ready\n", "text/plain")
            why = self.gate.load_error or "loading policies and trust material"
            return await _send(send, 503, f"not ready: {why}\n".encode(), "text/plain")
        if method == "GET" and path == "/metrics":
            return await _send(
                send, 200, self.gate.metrics.render(), "text/plain; version=0.0.4; charset=utf-8"
            )
        handlers = {
            "/validate": self._admission,
            "/mutate": self._admission,
            "/imagereview": self._image_review,
        }
        handler = handlers.get(path)
        if handler is None:
            return await _send(send, 404, b"not found\n", "text/plain")
        if method != "POST":
            return await _send(send, 405, b"use POST\n", "text/plain")
        try:
            body = await _body(receive)
            doc = await handler(body, mutate=path == "/mutate")
        except BadRequest as exc:
            self.gate.metrics.bad_requests.labels(path.lstrip("/")).inc()
            return await _send(send, 400, f"bad request: {exc.reason}\n".encode(), "text/plain")
        except ConnectionError:
            return None
        await _send_json(send, doc)

    async def _admission(self, body: bytes, *, mutate: bool) -> dict[str, Any]:
        request = parse_admission_review(body)
        decision = await self.gate.review(request, mutate=mutate)
        return admission_response(
            request.uid,
            allowed=decision.allowed,
            message=decision.message,
            warnings=decision.warnings,
            patch=digest_patch(decision.pins),
            audit=decision.audit,
        )

    async def _image_review(self, body: bytes, *, mutate: bool) -> dict[str, Any]:
        request = parse_image_review(body)
        decision = await self.gate.review(request)
        return image_review_response(
            allowed=decision.allowed, reason=decision.message, audit=decision.audit
        )


def build_gate(
    config: GateConfig, *, load_verifier: Callable[[], ImageVerifier] | None = None
) -> Gate:
    """The gate for `config`, with its cache, ledger and metrics."""
    metrics = GateMetrics()
    local = LocalCache(max_entries=config.max_entries)
    cache: DecisionCache = (
        SharedCache(config.redis_url, metrics=metrics, local=local) if config.redis_url else local
    )
    ledger: Ledger | None = None
    if config.ledger_file is not None:
        ledger = FileLedger(config.ledger_file, metrics=metrics)
    elif config.ledger_redis is not None:
        ledger = RedisLedger(config.ledger_redis, stream=config.ledger_stream, metrics=metrics)
    if load_verifier is None:
        from kubeward.gate._verifier import load_verifier as core

        def load_verifier() -> ImageVerifier:
            return core(config, metrics)

    return Gate(config, load_verifier=load_verifier, cache=cache, ledger=ledger, metrics=metrics)


def app_from_env() -> GateApp:
    """uvicorn's application factory (`--factory`): the config path is in the environment,
    so every worker process builds the same gate."""
    return GateApp(build_gate(load_config(Path(os.environ[CONFIG_ENV]))))


def uvicorn_config(config: GateConfig, config_path: Path, *, workers: int = 1) -> Any:
    import uvicorn

    if config.cert_file is None or config.key_file is None:
        raise ConfigError("tls.certFile and tls.keyFile are required (the gate serves TLS only)")
    os.environ[CONFIG_ENV] = str(config_path.resolve())
    return uvicorn.Config(
        "kubeward.gate.server:app_from_env",
        factory=True,
        host=config.host,
        port=config.port,
        workers=workers,
        ssl_certfile=str(config.cert_file),
        ssl_keyfile=str(config.key_file),
        ssl_context_factory=ssl_context_factory,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=60,
        timeout_graceful_shutdown=max(1, int(config.timeout_seconds)),
    )


def serve(config: GateConfig, config_path: Path, *, workers: int = 1) -> None:
    """Serve until SIGTERM/SIGINT: then stop accepting, finish the reviews in flight (up to
    `timeoutSeconds`) and exit. Several workers share one listening socket."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    settings = uvicorn_config(config, config_path, workers=workers)
    if workers <= 1:
        uvicorn.Server(settings).run()
        return
    from kubeward.gate.metrics import MULTIPROCESS_ENV

    with tempfile.TemporaryDirectory(prefix="kubeward-gate-metrics-") as directory:
        os.environ[MULTIPROCESS_ENV] = directory  # before the workers import prometheus_client
        sock = settings.bind_socket()
        Multiprocess(settings, sockets=[sock]).run()
