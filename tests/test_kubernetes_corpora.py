"""Robustness: the Kubernetes pack over every manifest of the real-world corpora.

One scan of `../shared/corpora/` (about 11,500 files) with this pack's rules: no crash, no
internal error, and the findings we know are there (a real typo in Kyverno's tests, Checkov's
runtime-socket fixture, a `k8s.gcr.io` image) are reported where they are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.engine import ScanOptions, scan
from kubeward.results import Report
from tests.conftest import require_shared, rule_hits

PACK_RULES = [
    "image-deprecated-registry",
    "image-pull-policy-not-always",
    "image-registry-not-allowed",
    "image-typosquat",
    "image-unresolved",
    "rbac-admission-webhook-write",
    "rbac-binding-to-broad-subject",
    "rbac-cluster-admin-binding",
    "rbac-escalation-verbs",
    "rbac-pod-exec",
    "rbac-secrets-read",
    "rbac-wildcard",
    "rbac-workload-write",
    "workload-privileged-container",
    "workload-runtime-socket-mount",
    "workload-service-account-privileged",
]


@pytest.fixture(scope="module")
def corpora() -> tuple[Path, Report]:
    root = require_shared("corpora")
    return root, scan([root], ScanOptions(jobs=1, only_rules=PACK_RULES))


def test_no_internal_error_on_any_corpus_file(corpora: tuple[Path, Report]) -> None:
    _, report = corpora
    internal = [e for e in report.errors if "internal error" in e.reason]
    assert internal == []


def test_known_findings_are_reported_where_they_are(corpora: tuple[Path, Report]) -> None:
    root, report = corpora
    socket = rule_hits(report, root, "workload-runtime-socket-mount")
    assert (
        "checkov/tests/kubernetes/checks/example_DockerSocketVolume/scope-2PASSED-1FAILED.yaml",
        363,
    ) in socket
    squats = {
        r.finding.properties.get("looks_like")
        for r in report.results
        if r.rule.id == "image-typosquat"
    }
    assert squats == {"ghcr.io"}, squats  # ghrc.io in Kyverno's tests: the only one found
    deprecated = rule_hits(report, root, "image-deprecated-registry")
    assert any(path.startswith("kyverno-policies/") for path, _ in deprecated)
