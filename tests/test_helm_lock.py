"""Chart.lock digests computed the way Helm does (internal/resolver HashReq / HashV2Req)."""

from __future__ import annotations

from pathlib import Path

from kubeward.discover import discover
from kubeward.load import load_file
from kubeward.model.helm import HelmChart, hash_req, hash_v2_req, lock_matches
from kubeward.registry import instances_in
from tests.conftest import FIXTURES, require_shared
from tests.expectations import run_rule


def _charts(root: Path) -> list[HelmChart]:
    items, _ = discover([root])
    out = []
    for d in items:
        if d.rel.endswith("/Chart.yaml") or d.rel == "Chart.yaml":
            f, err = load_file(d)
            assert err is None, err
            out.extend(instances_in(f, HelmChart))
    return out


def test_hash_req_reproduces_helms_digest_for_a_known_input() -> None:
    # The baseline of Helm's resolver tests: the same dependency requested and locked.
    dep = {"name": "alpine", "version": "0.1.0", "repository": "http://localhost:8879/charts"}
    assert (
        hash_req([dep], [dep])
        == "sha256:fb239e836325c5fa14b29d1540a13b7d3ba13151b67fe719f820e0ef6d66aaaf"
    )


def test_hash_follows_go_json_field_order_omitempty_and_html_escaping() -> None:
    a = {"repository": "https://x", "name": "a", "version": ">=1.0.0 <2.0.0", "alias": ""}
    b = {"name": "a", "version": ">=1.0.0 <2.0.0", "repository": "https://x"}
    assert hash_req([a], []) == hash_req([b], [])  # key order and empty alias do not matter
    assert hash_req([b], []) != hash_req([{**b, "enabled": True}], [])
    assert hash_req([b], []) == hash_req([{**b, "enabled": False}], [])
    assert hash_v2_req([b]) != hash_req([b], [])


def test_every_bitnami_chart_lock_matches_its_dependencies() -> None:
    root = require_shared("corpora", "charts", "bitnami")
    charts = _charts(root)
    locked = [c for c in charts if c.lock is not None]
    assert len(locked) >= 39
    mismatched = [c.file.rel for c in locked if lock_matches(c) is not True]
    assert mismatched == []
    # Their Chart.yaml ranges are pinned by the lock: the locked version is known.
    redis = next(c for c in charts if c.name == "redis")
    assert [(d.name, d.version, d.locked_version) for d in redis.dependencies] == [
        ("common", "2.x.x", "2.31.4")
    ]


def test_stale_lock_is_explained_and_points_at_the_recorded_digest() -> None:
    root = FIXTURES / "rules" / "helm-chart-lock-stale"
    report = run_rule(root, "helm-chart-lock-stale")
    [r] = report.results
    assert r.span.path.endswith("stale/Chart.yaml") and r.span.start.line == 6
    assert "redis is locked at 19.0.1, not 19.1.0" in r.finding.message
    [rel] = r.finding.related
    assert rel.span.path.endswith("stale/Chart.lock") and rel.span.start.line == 5


def test_helm2_requirements_lock_is_checked_with_the_v2_hash() -> None:
    [chart] = _charts(FIXTURES / "rules" / "helm-chart-lock-stale" / "helm2")
    assert chart.api_version == "v1" and chart.lock_name == "requirements.lock"
    assert [d.name for d in chart.dependencies] == ["mysql"]
    assert lock_matches(chart) is True
