"""Run Helm's engine in a child process with a time and memory budget.

Helm's template engine cannot be bounded in-process: `until 100000000` allocates until the Go
runtime aborts the whole process, and a nested `range` can loop for hours; neither takes a
context. So charts are rendered by a worker process (`kubeward.render._worker`) that limits its
own address space (RLIMIT_AS) before loading Helm, and that the parent kills when one render
overruns its time budget; the next chart gets a new worker. One worker serves every chart of a
scan while it behaves, so the cost of starting Helm's runtime (~0.25 s) is paid once.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT_S = 30.0
"""Wall time one chart may take to render; Bitnami's largest charts take under 1 s here."""
DEFAULT_MEMORY_BYTES = 3 << 30
"""Address space of the worker. A Bitnami chart renders with ~100 MB resident, but Go's
runtime reserves address space in large arenas at random places: under a 1.5 GiB limit one
start in ten died in its first allocation (measured here, 2 of 20), none in 50 at 3 GiB."""
MAX_OUTPUT_BYTES = 32 << 20
"""Rendered manifests of one chart, as JSON; more is refused, not read."""
START_TIMEOUT_S = 60.0


def sdk_available() -> bool:
    """Whether helm-python-sdk is installed (it is loaded only in the worker)."""
    return importlib.util.find_spec("helm_python") is not None


class RenderFailed(Exception):
    """A chart that did not render; `str()` is Helm's message or the budget that was spent."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Budget:
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_bytes: int = DEFAULT_MEMORY_BYTES


class Renderer:
    """A render worker, started on first use and restarted after a crash or a timeout."""

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget()
        self._proc: subprocess.Popen[bytes] | None = None
        self.version: str | None = None
        self.renders = 0
        self.seconds = 0.0

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()

    def _start(self) -> subprocess.Popen[bytes]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            "KUBEWARD_RENDER_AS": str(self.budget.memory_bytes),
            "KUBEWARD_RENDER_OUT": str(MAX_OUTPUT_BYTES),
            # Helm's Go runtime: one OS thread for Go code is plenty for one template at a time,
            # and the machine's cores stay with the scan.
            "GOMAXPROCS": "1",
            "HOME": "/nonexistent",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "kubeward.render._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a Go runtime abort prints megabytes of stacks
            env=env,
            cwd="/",
        )
        self._proc = proc
        hello = self._read(proc, START_TIMEOUT_S)
        if "ready" not in hello:
            self._kill()
            raise RenderFailed(
                str(hello.get("error", "render worker did not start")), kind="missing"
            )
        self.version = str(hello["ready"])
        return proc

    def _read(self, proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        buf = bytearray()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._kill()
                    raise RenderFailed(
                        f"rendering took over {timeout:g} s; stopped (a template that loops?)",
                        kind="timeout",
                    )
                if not sel.select(left):
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    code = proc.poll()
                    self._kill()
                    raise RenderFailed(
                        "rendering stopped the Helm engine (over the memory budget of "
                        f"{self.budget.memory_bytes >> 20} MiB, or a crash; exit {code})",
                        kind="crash",
                    )
                buf += chunk
                if len(buf) > MAX_OUTPUT_BYTES + 4096:
                    self._kill()
                    raise RenderFailed("rendered output too large; not read", kind="limit")
        answer = json.loads(bytes(buf).decode("utf-8", "replace"))
        if not isinstance(answer, dict):
            raise RenderFailed("render worker answered nonsense", kind="internal")
        return answer

    def render(
        self,
        archive: bytes,
        values: dict[str, Any],
        *,
        set_values: list[str] | None = None,
        name: str = "release",
        namespace: str = "default",
        _retried: bool = False,
    ) -> dict[str, str]:
        """Template path -> rendered text; raises `RenderFailed`."""
        proc = self._proc if self._proc is not None and self._proc.poll() is None else None
        if proc is None:
            proc = self._start()
        req = {
            "archive": base64.b64encode(archive).decode("ascii"),
            "values": values,
            "set": set_values or [],
            "name": name,
            "namespace": namespace,
        }
        assert proc.stdin is not None
        started = time.monotonic()
        try:
            proc.stdin.write(json.dumps(req).encode() + b"\n")
            proc.stdin.flush()
        except OSError:
            self._kill()
            raise RenderFailed("the render worker exited", kind="crash") from None
        try:
            answer = self._read(proc, self.budget.timeout_s)
        except RenderFailed as e:
            if e.kind != "crash" or _retried:
                raise
            # Once more in a new worker: a Go runtime can die at start under the limit.
            return self.render(
                archive,
                values,
                set_values=set_values,
                name=name,
                namespace=namespace,
                _retried=True,
            )
        finally:
            self.renders += 1
            self.seconds += time.monotonic() - started
        if "manifests" in answer and isinstance(answer["manifests"], dict):
            return {str(k): str(v) for k, v in answer["manifests"].items()}
        raise RenderFailed(str(answer.get("error", "no answer")), kind=str(answer.get("kind")))
