"""runtime-detection-missing: any deployed runtime detection silences it; nothing to configure,
nothing to say."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.engine import ScanOptions, scan

RULE = "runtime-detection-missing"
POLICY = """apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: verify
spec:
  rules: []
"""
RUNTIME = {
    "falco-daemonset.yaml": """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: falco
spec:
  template:
    spec:
      containers:
        - name: falco
          image: docker.io/falcosecurity/falco:0.39.2
""",
    "falco-release.yaml": """apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: falco
spec:
  chart:
    spec:
      chart: falco
      sourceRef: {kind: HelmRepository, name: falcosecurity}
""",
    "tetragon.yaml": """apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: exec
spec: {}
""",
    "rules/falco_rules.local.yaml": """- rule: Drop and execute new binary in container
  enabled: true
""",
}


def _results(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, int]]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    report = scan([tmp_path], ScanOptions(only_rules=[RULE], jobs=1))
    prefix = tmp_path.as_posix() + "/"
    return [(r.span.path.removeprefix(prefix), r.span.start.line) for r in report.results]


def test_policies_without_runtime_detection(tmp_path: Path) -> None:
    assert _results(tmp_path, {"policy.yaml": POLICY}) == [("policy.yaml", 2)]


@pytest.mark.parametrize("name", sorted(RUNTIME))
def test_each_kind_of_runtime_detection_counts(tmp_path: Path, name: str) -> None:
    assert _results(tmp_path, {"policy.yaml": POLICY, name: RUNTIME[name]}) == []


def test_plain_application_repository_is_not_a_cluster_config(tmp_path: Path) -> None:
    app = RUNTIME["falco-daemonset.yaml"].replace("falcosecurity/falco", "acme/shop")
    assert _results(tmp_path, {"app.yaml": app}) == []


def test_each_scan_root_is_its_own_project(tmp_path: Path) -> None:
    # two repositories scanned together: runtime detection deployed by one does not cover the
    # other, and each finding names its root and sits at its admission policy, not at the
    # first source of the whole scan
    a, b = tmp_path / "a-platform", tmp_path / "b-apps"
    (a / "falco").mkdir(parents=True)
    (a / "policy.yaml").write_text(POLICY)
    (a / "falco" / "falco-daemonset.yaml").write_text(RUNTIME["falco-daemonset.yaml"])
    (b / "deep" / "apps").mkdir(parents=True)
    (b / "deep" / "apps" / "source.yaml").write_text(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: apps}\n"
        "spec: {url: https://github.com/acme/apps}\n"
    )
    (b / "policy.yaml").write_text(POLICY)
    report = scan([a, b], ScanOptions(only_rules=[RULE], jobs=1))
    [r] = report.results
    assert r.span.path == (b / "policy.yaml").as_posix() and r.span.start.line == 2
    assert f"scan root {b.as_posix()}" in r.message
    alone = scan([b], ScanOptions(only_rules=[RULE], jobs=1))
    assert [x.span.path for x in alone.results] == [(b / "policy.yaml").as_posix()]
    assert "the scan configures a cluster" in alone.results[0].message
