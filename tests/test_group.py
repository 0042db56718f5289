"""One root cause, one result (kubeward.group): merged findings, grouped uses of one image, and
baselines written before or after grouping suppressing the same findings."""

from __future__ import annotations

from pathlib import Path

from kubeward.engine import ScanOptions, read_baseline, scan, write_baseline
from kubeward.group import MAX_GROUP_RELATED, all_absorbed
from kubeward.results import Report
from tests.conftest import every_result

POD = """apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  containers:
    - name: app
      image: {image}
"""
IMAGE_RULES = ["image-mutable-tag", "image-not-pinned-by-digest", "image-pull-policy-not-always"]


def _scan(root: Path, rules: list[str], baseline: set[str] | None = None) -> Report:
    return scan([root], ScanOptions(only_rules=rules, jobs=1, baseline=baseline))


def _pods(root: Path, n: int, image: str, prefix: str = "pod") -> None:
    for i in range(n):
        (root / f"{prefix}{i:03}.yaml").write_text(POD.format(name=f"p{i}", image=image))


def test_digest_finding_stands_for_the_tag_and_pull_policy_findings(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        POD.format(name="a", image="redis:7-alpine") + "      imagePullPolicy: IfNotPresent\n"
    )
    report = _scan(tmp_path, IMAGE_RULES)
    [r] = report.results
    assert r.rule.id == "image-not-pinned-by-digest" and r.span.start.line == 7
    assert [(a.rule.id, a.span.start.line) for a in r.absorbed] == [
        ("image-pull-policy-not-always", 8)
    ]
    assert r.finding.properties["same_cause"] == ["image-pull-policy-not-always"]
    assert any(x.label.startswith("image-pull-policy-not-always: ") for x in r.finding.related)


def test_one_result_per_rule_and_image_with_the_uses_capped(tmp_path: Path) -> None:
    n = MAX_GROUP_RELATED + 15
    _pods(tmp_path, n, "nginx:latest")
    _pods(tmp_path, 2, "busybox:1.36", prefix="other")
    report = _scan(tmp_path, IMAGE_RULES)
    by_image = {r.finding.properties.get("other_uses"): r for r in report.results}
    assert sorted(r.rule.id for r in report.results) == ["image-not-pinned-by-digest"] * 2
    nginx, busybox = by_image[n - 1], by_image[1]
    assert nginx.span.path.endswith("pod000.yaml") and "nginx:latest" in nginx.message
    assert nginx.finding.properties["other_uses_not_listed"] == n - 1 - MAX_GROUP_RELATED
    uses = [x for x in nginx.finding.related if x.label == "another use of this image"]
    assert len(uses) == MAX_GROUP_RELATED
    assert f"{n - 1} other uses of this image ({MAX_GROUP_RELATED} listed, 14 more" in (
        nginx.message
    )
    # every use, and the mutable tag on each, is still known to the result
    assert len(all_absorbed(nginx)) == (n - 1) + n
    assert busybox.span.path.endswith("other000.yaml")


def test_each_root_groups_its_own_uses(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    _pods(a, 2, "nginx:1.27.2")
    _pods(b, 2, "nginx:1.27.2")
    report = scan([a, b], ScanOptions(only_rules=["image-not-pinned-by-digest"], jobs=1))
    assert sorted(Path(r.span.path).parent.name for r in report.results) == ["a", "b"]


def test_a_baseline_from_before_grouping_still_suppresses(tmp_path: Path) -> None:
    _pods(tmp_path, 5, "nginx:latest")
    first = _scan(tmp_path, IMAGE_RULES)
    # What a baseline written before grouping listed: one fingerprint per single finding
    # (the judge computes them before grouping, so they are the absorbed ones' fingerprints).
    before = {r.fingerprint for r in every_result(first)}
    assert len(before) == 10
    again = _scan(tmp_path, IMAGE_RULES, baseline=before)
    assert again.results == [] and len(again.suppressed) == 10


def test_a_baseline_after_grouping_lists_every_finding_and_new_uses_are_new(
    tmp_path: Path,
) -> None:
    _pods(tmp_path, 5, "nginx:latest")
    base = tmp_path.parent / f"{tmp_path.name}-baseline.json"
    write_baseline(_scan(tmp_path, IMAGE_RULES), base)
    fps = read_baseline(base)
    assert len(fps) == 10
    assert _scan(tmp_path, IMAGE_RULES, baseline=fps).results == []
    _pods(tmp_path, 1, "nginx:latest", prefix="zz-new")
    [r] = _scan(tmp_path, IMAGE_RULES, baseline=fps).results
    assert r.span.path.endswith("zz-new000.yaml") and r.rule.id == "image-not-pinned-by-digest"


def test_inline_suppression_of_the_digest_leaves_the_tag_finding(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        POD.format(name="a", image="nginx  # kubeward: ignore[image-not-pinned-by-digest]")
    )
    report = _scan(tmp_path, IMAGE_RULES)
    assert [r.rule.id for r in report.results] == ["image-mutable-tag"]


def test_wildcard_role_stands_for_the_bindings_to_it(tmp_path: Path) -> None:
    (tmp_path / "rbac.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: god}\n"
        "rules:\n"
        "  - apiGroups: ['*']\n    resources: ['*']\n    verbs: ['*']\n"
        "---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        "metadata: {name: god-binding}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: god}\n"
        "subjects:\n  - {kind: ServiceAccount, name: ci, namespace: build}\n"
        "---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        "metadata: {name: admin-binding}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
        "subjects:\n  - {kind: User, name: alice}\n"
    )
    report = _scan(tmp_path, ["rbac-wildcard", "rbac-cluster-admin-binding"])
    got = sorted((r.rule.id, r.span.start.line) for r in report.results)
    # the binding to god is part of god's finding; the one to cluster-admin stands alone
    assert got == [("rbac-cluster-admin-binding", 21), ("rbac-wildcard", 5)]
    wildcard = next(r for r in report.results if r.rule.id == "rbac-wildcard")
    assert [(a.rule.id, a.span.start.line) for a in wildcard.absorbed] == [
        ("rbac-cluster-admin-binding", 14)
    ]


def test_slsa_level_finding_is_part_of_the_missing_provenance(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "release.yml").write_text(
        "on: push\npermissions:\n  contents: read\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: docker/build-push-action@11bd71901bbe5b1630ceea73d27597364c9af683\n"
        "        with:\n          push: true\n          provenance: false\n"
        "          tags: ghcr.io/acme/app:1.0\n"
    )
    report = _scan(tmp_path, ["image-push-without-provenance", "slsa-build-level-below-target"])
    [r] = report.results
    assert r.rule.id == "image-push-without-provenance"
    assert [a.rule.id for a in r.absorbed] == ["slsa-build-level-below-target"]
