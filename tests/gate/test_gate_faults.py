"""Faults the gate must ride out, the suite again playing the apiserver: Redis going away
(the local cache answers and the metrics say so), the serving certificate rotated on disk
mid-run (new connections get the new one, no restart), SIGTERM with a review in flight
(answered before exit), and every workload manifest of the real-world corpora."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeward.gate.review import POD_SPEC_PATHS
from tests.conftest import require_shared
from tests.gate._harness import ApiServer, start_gate, start_redis
from tests.gate._world import (
    STOPPED,
    TIMEOUT,
    World,
    admission,
    env_for,
    pod,
    write_config,
    write_tls,
)


def test_redis_down_falls_back_to_the_local_cache(world: World, tmp_path: Path) -> None:
    redis = start_redis(tmp_path / "redis")
    server = next(redis)
    path, port = write_config(world, "redis-down", cache={"redis": server.url})
    gate = start_gate(path, ca_file=world.tls[0], env=env_for(world), port=port)
    api = ApiServer(port, world.tls[0], timeout=TIMEOUT)
    try:
        pinned = f"{world.image('app/signed:1.0')}@{world.digests['app/signed']}"
        assert api.post("/validate", admission(pod(pinned)))["response"]["allowed"]
        assert api.metrics()["kubeward_gate_cache_backend_up"] == 1
        server.stop()
        unsigned = f"{world.image('app/unsigned:1.0')}@{world.digests['app/unsigned']}"
        for _ in range(3):  # the first denial is verified, then remembered locally
            response = api.post("/validate", admission(pod(unsigned)))["response"]
            assert response["allowed"] is False
            assert "no signature found" in response["status"]["message"]
        metrics = api.metrics()
        assert metrics["kubeward_gate_cache_backend_up"] == 0
        assert (
            sum(
                v
                for k, v in metrics.items()
                if k.startswith("kubeward_gate_cache_backend_errors_total")
            )
            >= 1
        )
        assert metrics['kubeward_gate_cache_lookups_total{result="hit"}'] >= 2
    finally:
        api.close()
        assert gate.stop() in STOPPED
        redis.close()


def _served_issuer(port: int) -> str:
    """The issuer CN of the certificate the gate presents to a new connection."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    from cryptography import x509

    assert der is not None
    cert = x509.load_der_x509_certificate(der)
    return cert.issuer.rfc4514_string() + " " + str(cert.serial_number)


def test_certificate_rotated_mid_run(world: World, tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    first = write_tls(live)
    config = dict(tls={"certFile": str(first[1]), "keyFile": str(first[2])})
    path, port = write_config(world, "rotate", **config)
    gate = start_gate(path, ca_file=first[0], env=env_for(world), port=port)
    old_client = ApiServer(port, first[0], timeout=TIMEOUT)
    try:
        assert old_client.request("GET", "/healthz")[0] == 200  # kept alive across rotation
        before = _served_issuer(port)
        staged = tmp_path / "staged"
        staged.mkdir()
        new_ca, new_cert, new_key = write_tls(staged)
        os.replace(new_key, first[2])  # as kubelet swaps a Secret volume: whole files
        os.replace(new_cert, first[1])
        new_client = ApiServer(port, new_ca, timeout=TIMEOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                assert new_client.request("GET", "/readyz")[0] == 200
                break
            except ssl.SSLError:
                assert time.monotonic() < deadline, "the new certificate was never served"
                time.sleep(0.2)
        assert _served_issuer(port) != before
        # The connection opened before the rotation still works; a new one trusting only
        # the old CA is refused.
        assert old_client.request("GET", "/healthz")[0] == 200
        with pytest.raises(ssl.SSLCertVerificationError):
            ApiServer(port, first[0], timeout=TIMEOUT).request("GET", "/healthz")
        new_client.close()
    finally:
        old_client.close()
        assert gate.stop() in STOPPED


def test_sigterm_answers_the_review_in_flight(world: World) -> None:
    path, port = write_config(world, "graceful")
    gate = start_gate(path, ca_file=world.tls[0], env=env_for(world), port=port)
    api = ApiServer(port, world.tls[0], timeout=TIMEOUT)
    answers: list[dict[str, Any]] = []
    with socket.socket() as silent:  # a registry that never answers keeps the review busy
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        review = admission(pod(f"127.0.0.1:{silent.getsockname()[1]}/app/x:1"))
        worker = threading.Thread(target=lambda: answers.append(api.post("/validate", review)))
        worker.start()
        time.sleep(0.5)
        gate.process.send_signal(signal.SIGTERM)
        worker.join(timeout=30)
    assert answers and answers[0]["response"]["uid"] == review["request"]["uid"]
    assert answers[0]["response"]["allowed"] is False
    assert gate.stop() in STOPPED
    api.close()


def _workloads(root: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file():
            continue
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
            continue
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") in POD_SPEC_PATHS:
                found.append((str(path.relative_to(root)), doc))
    return found


def test_corpus_manifests_every_container_judged(world: World, tmp_path: Path) -> None:
    root = require_shared("corpora", "kubernetes-examples")
    workloads = _workloads(root)
    assert len(workloads) > 50
    ledger = tmp_path / "corpus-ledger.jsonl"
    # No internet here: every registry is reached through a proxy that refuses at once, so
    # each tag is an immediate, reasoned deny.
    path, port = write_config(
        world,
        "corpus",
        ledger={"file": str(ledger)},
        registry={"timeoutSeconds": 1, "retries": 0},
    )
    env = {
        **env_for(world),
        "https_proxy": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
    }
    gate = start_gate(path, ca_file=world.tls[0], env=env, port=port)
    api = ApiServer(port, world.tls[0], timeout=TIMEOUT)
    expected: dict[str, int] = {}
    try:
        for where, doc in workloads:
            review = admission(doc)
            status, body = api.request("POST", "/validate", json.dumps(review).encode())
            if status == 400:  # only for objects that are not well-formed reviews
                assert b"bad request" in body, where
                continue
            assert status == 200, (where, body)
            response = json.loads(body)["response"]
            assert response["uid"] == review["request"]["uid"], where
            spec = doc
            for key in POD_SPEC_PATHS[doc["kind"]]:
                spec = (spec or {}).get(key) or {}
            count = sum(
                len(spec.get(k) or [])
                for k in ("initContainers", "containers", "ephemeralContainers")
            )
            expected[review["request"]["uid"]] = count
            if count:
                assert response["allowed"] is False, where  # nothing here is signed
    finally:
        api.close()
        assert gate.stop() in STOPPED
    records = [json.loads(line) for line in ledger.read_text().splitlines()]
    judged: dict[str, int] = {}
    for record in records:
        judged[record["uid"]] = judged.get(record["uid"], 0) + 1
        assert record["verdict"] == "deny" and record["reason"], record
    assert {uid: n for uid, n in expected.items() if n} == judged
    assert sum(judged.values()) > 100


def test_two_workers_report_one_set_of_metrics(world: World) -> None:
    """With --workers 2 each connection lands on either worker; /metrics, from whichever,
    counts the reviews of both."""
    path, port = write_config(world, "two-workers")
    gate = start_gate(path, ca_file=world.tls[0], env=env_for(world), port=port, workers=2)
    pinned = f"{world.image('app/signed:1.0')}@{world.digests['app/signed']}"
    try:
        for _ in range(12):  # a new connection each time: the kernel spreads them
            api = ApiServer(port, world.tls[0], timeout=TIMEOUT)
            assert api.post("/validate", admission(pod(pinned)))["response"]["allowed"]
            api.close()
        for _ in range(4):
            api = ApiServer(port, world.tls[0], timeout=TIMEOUT)
            metrics = api.metrics()
            api.close()
            counts = [
                v
                for k, v in metrics.items()
                if k.startswith("kubeward_admission_review_duration_seconds_count")
            ]
            assert sum(counts) == 12, metrics
            assert metrics["kubeward_gate_ready"] == 1
    finally:
        assert gate.stop() in STOPPED
