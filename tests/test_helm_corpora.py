"""Every real chart and kustomization scans without a crash; findings on them are reviewed."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.engine import ScanOptions, scan
from kubeward.registry import Severity, load_rules
from kubeward.results import Report
from tests.conftest import every_result, require_shared

pytestmark = pytest.mark.shared

MY_RULES = sorted(r for r in load_rules() if r.startswith(("helm-", "kustomize-")))
IMAGE_RULES = ["image-mutable-tag", "image-not-pinned-by-digest"]


def _hits(report: Report, root: Path) -> set[tuple[str, str, int]]:
    prefix = root.as_posix() + "/"
    return {
        (r.rule.id, r.span.path.removeprefix(prefix), r.span.start.line) for r in report.results
    }


def _line_of(path: Path, needle: str, after: str | None = None) -> int:
    lines = path.read_text().split("\n")
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if after in line)
    return next(i for i, line in enumerate(lines) if i >= start and needle in line) + 1


@pytest.fixture(scope="module")
def charts() -> tuple[Path, Report]:
    root = require_shared("corpora", "charts")
    return root, scan([root], ScanOptions(only_rules=[*MY_RULES, *IMAGE_RULES], jobs=1))


def test_every_bitnami_chart_scans_without_error(charts: tuple[Path, Report]) -> None:
    root, report = charts
    # Every chart renders; one says what it renders without: the corpus holds 40 of
    # Bitnami's charts, not the two exporters kube-prometheus enables by default.
    assert [(e.path.removeprefix(f"{root}/"), e.reason) for e in report.errors] == [
        (
            "bitnami/kube-prometheus/Chart.yaml",
            "dependency node-exporter, kube-state-metrics is not vendored under charts/ nor in "
            "the scan: the chart is rendered without it",
        )
    ]
    assert report.files_scanned > 1000  # templates included: read as text, never as YAML


def test_bitnami_locks_and_templates_raise_no_false_alarm(charts: tuple[Path, Report]) -> None:
    root, report = charts
    fired = {rule for rule, _, _ in _hits(report, root)}
    # Every Chart.lock matches (Helm's digest), no template hard-codes an image, no plain
    # http, and one repository per chart name: none of those may fire on Bitnami.
    quiet = {
        "helm-chart-lock-missing",
        "helm-chart-lock-stale",
        "helm-template-hardcoded-image",
        "helm-repository-plain-http",
        "helm-dependency-confusion",
        "helm-vendored-chart-without-provenance",
    }
    assert fired & quiet == set()


def test_bitnami_ranges_are_low_because_the_lock_pins_them(charts: tuple[Path, Report]) -> None:
    root, report = charts
    chart = root / "bitnami" / "redis" / "Chart.yaml"
    line = _line_of(chart, "version: 2.x.x")
    [r] = [
        r
        for r in report.results
        if r.rule.id == "helm-dependency-version-range" and r.span.path == chart.as_posix()
    ]
    assert r.span.start.line == line and r.severity is Severity.LOW
    assert "Chart.lock pins 2.31.4" in r.finding.message
    # The location names the file; the message names the chart, not the path again.
    assert r.finding.message.startswith("dependency common of chart redis accepts")


def test_a_range_is_not_also_reported_as_an_oci_tag(charts: tuple[Path, Report]) -> None:
    root, report = charts
    ranges = {
        (p, n) for rule, p, n in _hits(report, root) if rule == "helm-dependency-version-range"
    }
    oci = [r for r in report.results if r.rule.id == "helm-oci-dependency-without-digest"]
    assert ranges  # every Bitnami dependency is an OCI range, pinned only by Chart.lock
    assert oci == []


def test_bitnami_values_images_point_at_the_digest_line(charts: tuple[Path, Report]) -> None:
    root, report = charts
    values = root / "bitnami" / "redis" / "values.yaml"
    # The main image block: registry/repository/tag and an empty `digest: ""`.
    repo_line = _line_of(values, "repository: bitnami/redis\n".strip())
    digest_line = _line_of(values, 'digest: ""', after="repository: bitnami/redis")
    assert digest_line > repo_line
    hits = _hits(report, root)
    assert ("image-not-pinned-by-digest", "bitnami/redis/values.yaml", digest_line) in hits
    assert not any(
        rule == "image-mutable-tag" and path.endswith("values.yaml") for rule, path, _ in hits
    )


def _kustomizations() -> list[Path]:
    root = require_shared("corpora")
    names = ("kustomization.yaml", "kustomization.yml", "Kustomization")
    return sorted(p for n in names for p in root.rglob(n))


def test_every_kustomization_in_the_corpora_scans_without_error() -> None:
    files = _kustomizations()
    assert len(files) > 250
    report = scan(files, ScanOptions(only_rules=[*MY_RULES, *IMAGE_RULES], jobs=1))
    assert report.errors == []
    root = require_shared("corpora")
    hits = _hits(report, root)
    known = root / "argo-cd" / "examples" / "known-hosts" / "kustomization.yaml"
    assert (
        "kustomize-remote-resource-not-pinned",
        "argo-cd/examples/known-hosts/kustomization.yaml",
        _line_of(known, "?ref=stable"),
    ) in hits


def test_argo_cd_base_is_judged_at_its_images_entry() -> None:
    root = require_shared("corpora", "argo-cd", "manifests", "base")
    report = scan([root], ScanOptions(only_rules=["image-mutable-tag"], jobs=1))
    assert report.errors == []
    k = root / "kustomization.yaml"
    [r] = [r for r in every_result(report) if r.span.path == k.as_posix()]
    assert r.span.start.line == _line_of(k, "newTag: latest")
    assert "containers" in r.finding.message and "written quay.io/argoproj/argocd:latest" in (
        r.finding.message
    )
