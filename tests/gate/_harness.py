"""Real parts for the gate tests: Debian's `redis-server`, the gate as a subprocess serving
TLS, and a client that plays the kube-apiserver's part (no apiserver can run here): it POSTs
reviews over HTTPS trusting only the webhook's CA, with the webhook's timeout."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

REDIS_BINARY = Path("/usr/bin/redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _missing(what: str) -> None:
    reason = f"{what} is missing"
    if os.environ.get("KUBEWARD_REQUIRE_SHARED") == "1":
        pytest.fail(reason + " but KUBEWARD_REQUIRE_SHARED=1")
    pytest.skip(reason)


@dataclass
class Redis:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_redis(directory: Path) -> Iterator[Redis]:
    """redis-server on 127.0.0.1 on a free port, no persistence, its own directory."""
    if not REDIS_BINARY.exists():
        _missing(f"{REDIS_BINARY} (apt-get install redis-server)")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [
            str(REDIS_BINARY),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
            "--logfile",
            str(directory / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)
    redis = Redis(f"redis://127.0.0.1:{port}/0", process)
    try:
        yield redis
    finally:
        redis.stop()


class _Connection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 whatever the host name, which is kept for SNI and verification."""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            sock, server_hostname=self.host
        )


class ApiServer:
    """The apiserver's side of a webhook call: HTTPS to the service, trusting the caBundle
    only, one request timeout (the webhook's `timeoutSeconds`), keep-alive."""

    def __init__(
        self,
        port: int,
        ca_file: Path | None = None,
        *,
        timeout: float,
        ca_data: str | None = None,
        server_name: str | None = None,
    ) -> None:
        """`server_name`: the Service's DNS name, sent as SNI and checked in the certificate
        (the connection itself goes to 127.0.0.1)."""
        self.port, self.timeout, self.server_name = port, timeout, server_name
        self.context = ssl.create_default_context(
            cafile=None if ca_file is None else str(ca_file), cadata=ca_data
        )
        self._conn: http.client.HTTPSConnection | None = None

    def _connection(self) -> http.client.HTTPSConnection:
        if self._conn is None:
            self._conn = _Connection(
                self.server_name or "127.0.0.1",
                self.port,
                context=self.context,
                timeout=self.timeout,
            )
        return self._conn

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, response.read()
        except Exception:
            conn.close()
            self._conn = None
            raise

    def post(self, path: str, doc: dict[str, Any]) -> dict[str, Any]:
        status, body = self.request("POST", path, json.dumps(doc).encode())
        assert status == 200, (status, body)
        answer: dict[str, Any] = json.loads(body)
        return answer

    def metrics(self) -> dict[str, float]:
        """`/metrics` as {'name{labels}': value}."""
        status, body = self.request("GET", "/metrics")
        assert status == 200
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


@dataclass
class GateProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> int:
        """SIGTERM, and the exit status; the log must show no traceback."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        assert "Traceback" not in self.log.read_text(), self.log.read_text()
        return self.process.returncode


def start_gate(
    config: Path,
    *,
    ca_file: Path,
    env: dict[str, str],
    port: int,
    workers: int = 1,
    server_name: str | None = None,
    ready: bool = True,
    ready_within: float = 60,
) -> GateProcess:
    """`kubeward gate --config CONFIG` in a subprocess, waited for until /readyz says 200
    (with `ready=False`: until /healthz does)."""
    log = config.with_suffix(".log")
    full_env = {**os.environ, **env, "PYTHONPATH": str(REPO / "src")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubeward",
            "gate",
            "--config",
            str(config),
            "--workers",
            str(workers),
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=full_env,
    )
    gate = GateProcess(process, port, log)
    client = ApiServer(port, ca_file, timeout=5, server_name=server_name)
    deadline = time.monotonic() + ready_within
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the gate exited: {log.read_text()}")
            try:
                status, _ = client.request("GET", "/readyz" if ready else "/healthz")
                if status == 200:
                    return gate
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gate did not become ready: {log.read_text()}")
            time.sleep(0.1)
    except BaseException:
        if gate.stop() not in (0, -15):
            raise RuntimeError(f"the gate failed: {log.read_text()}") from None
        raise
    finally:
        client.close()


def copy_pki(source: tuple[Path, Path, Path], directory: Path) -> tuple[Path, Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    targets = tuple(directory / p.name for p in source)
    for src, dst in zip(source, targets, strict=True):
        shutil.copy(src, dst)
    return targets  # type: ignore[return-value]
