"""`make bench-gate`: the admission gate under load, on loopback only, bounded in time.

A real `docker-registry` on 127.0.0.1 holds signed images; `kubeward gate` runs as a
subprocess over TLS (1 and 2 workers); an asyncio load generator beside it keeps N
keep-alive HTTPS connections busy with AdmissionReview POSTs for a fixed time:

- cache hits: a Pod whose image is pinned by digest and already judged (what the validating
  webhook sees after the mutating one pinned it);
- cold: every request names another signed tag and the cache is off (TTLs 0), so each
  decision resolves the tag and verifies the signature against the registry.

When granian is installed in `.bench-venv/granian` (`make bench-gate` puts it there), the
cache-hit runs are repeated with the same application served by granian instead of uvicorn,
for the comparison docs/gate.md cites.

Results go to bench/gate-results.json and into docs/benchmarks.md between the gate markers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "src")]

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from tests.gate._harness import ApiServer, free_port, start_gate  # noqa: E402
from tests.gate._world import admission, build_world, pod  # noqa: E402
from tests.verify._registry_fixture import start_registry  # noqa: E402
from tests.verify.test_own_signatures import Log, _pem_public, _push_image, _sign_image  # noqa: E402
from tests.verify.test_registry_verify import pusher  # noqa: E402

from kubeward.verify.registry import ImageRef  # noqa: E402

DURATION = float(os.environ.get("BENCH_GATE_SECONDS", "4"))
WARMUP = 0.5
CONNECTIONS = (10, 50)
WORKERS = (1, 2)
COLD_IMAGES = 120
MARKERS = ("<!-- gate:begin -->", "<!-- gate:end -->")
GRANIAN_SITE = REPO / ".bench-venv" / "granian"


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes) -> None:
    writer.write(
        b"POST /validate HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
    )
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    answer = json.loads(await reader.readexactly(length))
    assert "response" in answer, answer


async def _connection(
    port: int,
    context: ssl.SSLContext,
    bodies: Iterator[bytes],
    until: float,
    measure_from: float,
    latencies: list[float],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    try:
        while True:
            started = time.perf_counter()
            if started >= until:
                return
            await _one(reader, writer, next(bodies))
            if started >= measure_from:
                latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _load(port: int, ca: Path, bodies: Iterator[bytes], connections: int) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=str(ca))
    latencies: list[float] = []
    start = time.perf_counter()
    measure_from, until = start + WARMUP, start + WARMUP + DURATION
    await asyncio.gather(
        *(
            _connection(port, context, bodies, until, measure_from, latencies)
            for _ in range(connections)
        )
    )
    latencies.sort()
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "per_second": round(len(latencies) / DURATION, 1),
        "p50_ms": round(quantiles[49] * 1000, 2),
        "p99_ms": round(quantiles[98] * 1000, 2),
    }


def _cold_images(world: Any, count: int) -> list[str]:
    """`count` more signed tags, so that no cold request repeats a recent one."""
    client = pusher(world.registry)
    log, key = Log(), ec.generate_private_key(ec.SECP256R1())
    images = []
    for i in range(count):
        ref = ImageRef(world.registry.host, f"app/cold-{i}", "1.0")
        digest = _push_image(client, ref, f"cold {i}")
        _sign_image(client, log, ref, digest, key)
        images.append(f"{world.registry.host}/app/cold-{i}:1.0")
    # The cold images are signed by their own key and log: one policy and root for both sets.
    pem = _pem_public(key).decode()
    policy = "\n".join("          " + line for line in pem.strip().splitlines())
    (world.directory / "cold-policies.yaml").write_text(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
        "metadata: {name: cold}\nspec:\n"
        f'  images: [{{glob: "{world.registry.host}/app/cold-*"}}]\n'
        "  authorities:\n    - name: cold-key\n      key:\n        data: |\n" + policy + "\n"
    )
    log.trusted_root(world.directory / "cold-root.json")
    return images


def _config(world: Any, name: str, *, cold: bool) -> tuple[Path, int]:
    port = free_port()
    config = {
        "policies": ["cold-policies.yaml" if cold else "policies.yaml"],
        "trustedRoot": "cold-root.json" if cold else "root.json",
        "registry": {"ca": str(world.registry.ca_file), "timeoutSeconds": 5},
        "tls": {"certFile": str(world.tls[1]), "keyFile": str(world.tls[2])},
        "listen": {"host": "127.0.0.1", "port": port},
        "timeoutSeconds": 10,
        "deadlineMarginSeconds": 1,
        "cache": {"allowTTLSeconds": 0, "denyTTLSeconds": 0} if cold else {},
        "verifyThreads": 16,
    }
    path = world.directory / f"{name}.yaml"
    path.write_text(json.dumps(config))
    return path, port


class _Granian:
    """The same ASGI application (`app_from_env` as a factory) under granian, TLS from the
    same files; only for the comparison."""

    def __init__(self, world: Any, path: Path, port: int, workers: int, env: dict[str, str]):
        self.log = path.with_suffix(".granian.log")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "asgi",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--ssl-certificate",
                str(world.tls[1]),
                "--ssl-keyfile",
                str(world.tls[2]),
                "--ssl-protocol-min",
                "tls1.2",
                "--log-level",
                "warning",
                "kubeward.gate.server:app_from_env",
            ],
            env={
                **os.environ,
                **env,
                "KUBEWARD_GATE_CONFIG": str(path),
                "PYTHONPATH": f"{GRANIAN_SITE}:{REPO / 'src'}",
            },
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )
        client = ApiServer(port, world.tls[0], timeout=5)
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.request("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"granian did not start: {self.log.read_text()}")
            time.sleep(0.1)
        client.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def _bodies(images: list[str]) -> Iterator[bytes]:
    prepared = [json.dumps(admission(pod(image))).encode() for image in images]
    return itertools.cycle(prepared)


def run() -> dict[str, Any]:
    results: dict[str, Any] = {
        "duration_seconds": DURATION,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        for sub in ("registry", "world"):
            (Path(tmp) / sub).mkdir()
        registries = start_registry(Path(tmp) / "registry")
        registry = next(registries)
        try:
            world = build_world(registry, Path(tmp) / "world")
            env = {"DOCKER_CONFIG": str(registry.docker_config)}
            hit_image = f"{world.image('app/signed:1.0')}@{world.digests['app/signed']}"
            cold_images = _cold_images(world, COLD_IMAGES)
            servers = ["uvicorn"] + (["granian"] if GRANIAN_SITE.exists() else [])
            plan = [
                (server, workers, scenario)
                for server in servers
                for workers in WORKERS
                for scenario in (("hit", "cold") if server == "uvicorn" else ("hit",))
            ]
            for server, workers, scenario in plan:
                name = f"{server}-{scenario}-{workers}"
                path, port = _config(world, name, cold=scenario == "cold")
                gate: Any = (
                    start_gate(path, ca_file=world.tls[0], env=env, port=port, workers=workers)
                    if server == "uvicorn"
                    else _Granian(world, path, port, workers, env)
                )
                try:
                    images = [hit_image] if scenario == "hit" else cold_images
                    asyncio.run(_load(port, world.tls[0], _bodies(images), 2))  # warm up
                    for connections in CONNECTIONS:
                        row = asyncio.run(_load(port, world.tls[0], _bodies(images), connections))
                        row.update(
                            server=server,
                            scenario=scenario,
                            workers=workers,
                            connections=connections,
                            load_average=round(os.getloadavg()[0], 2),
                        )
                        print(json.dumps(row), flush=True)
                        results["runs"].append(row)
                finally:
                    gate.stop()
        finally:
            registries.close()
    return results


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Load average before the runs: {results['load_average_before']} on "
        f"{results['cpus']} CPUs (the machine is shared).",
        "",
        "| server | decisions | workers | connections | req/s | p50 ms | p99 ms | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["runs"]:
        what = "cache hit" if row["scenario"] == "hit" else "cold (resolve + verify)"
        lines.append(
            f"| {row['server']} | {what} | {row['workers']} | {row['connections']} | "
            f"{row['per_second']} | {row['p50_ms']} | {row['p99_ms']} | {row['load_average']} |"
        )
    return "\n".join(lines)


def main() -> int:
    results = run()
    (REPO / "bench" / "gate-results.json").write_text(json.dumps(results, indent=2) + "\n")
    doc = REPO / "docs" / "benchmarks.md"
    text = doc.read_text()
    begin, end = MARKERS
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        doc.write_text(f"{head}{begin}\n{_markdown(results)}\n{end}{tail}")
    print(_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
