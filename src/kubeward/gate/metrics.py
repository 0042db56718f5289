"""Prometheus metrics of the gate, in a registry of their own.

With several workers (`PROMETHEUS_MULTIPROC_DIR` set by `serve` before they start), every
worker writes its values to files there and `/metrics`, whichever worker answers, reports
the sum over all of them (gauges: the lowest live value, so one worker without Redis shows).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class GateMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.review_duration = Histogram(
            "kubeward_admission_review_duration_seconds",
            "Time to answer one review, by decision and whether every image came from the cache",
            ["decision", "cache"],
            buckets=_LATENCY,
            registry=r,
        )
        self.verification_duration = Histogram(
            "kubeward_verification_duration_seconds",
            "Time to verify one image digest, by result (pass, fail, error, timeout)",
            ["result"],
            buckets=_LATENCY,
            registry=r,
        )
        self.registry_requests = Counter(
            "kubeward_registry_requests_total",
            "Registry requests by HTTP status ('error' when no answer came)",
            ["status"],
            registry=r,
        )
        self.cache_lookups = Counter(
            "kubeward_gate_cache_lookups_total",
            "Decision cache lookups, by result (hit, miss)",
            ["result"],
            registry=r,
        )
        self.cache_backend_errors = Counter(
            "kubeward_gate_cache_backend_errors_total",
            "Shared cache (Redis) operations that failed; the local cache answered instead",
            ["operation"],
            registry=r,
        )
        self.cache_backend_up = Gauge(
            "kubeward_gate_cache_backend_up",
            "1 while the shared cache (Redis) answers, 0 while the gate falls back to local",
            registry=r,
            multiprocess_mode="livemin",
        )
        self.decisions = Counter(
            "kubeward_gate_decisions_total",
            "Image decisions by decision (allow, deny, warn) and reason category",
            ["decision", "reason"],
            registry=r,
        )
        self.bad_requests = Counter(
            "kubeward_gate_bad_requests_total",
            "Requests answered with HTTP 400 (not a well-formed review)",
            ["endpoint"],
            registry=r,
        )
        self.ledger_errors = Counter(
            "kubeward_gate_ledger_errors_total",
            "Ledger records that could not be written to their store",
            registry=r,
        )
        self.policy_reloads = Counter(
            "kubeward_gate_policy_reloads_total",
            "Reloads of the policies and trust root after their files changed, by result",
            ["result"],
            registry=r,
        )
        self.ready = Gauge(
            "kubeward_gate_ready",
            "1 once the policies and trust material are loaded",
            registry=r,
            multiprocess_mode="livemin",
        )

    def render(self) -> bytes:
        if os.environ.get(MULTIPROCESS_ENV):
            combined = CollectorRegistry()
            MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
            return generate_latest(combined)
        return generate_latest(self.registry)
