"""Discovery: classification by name, excludes, .git skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.discover import classify, discover
from kubeward.source import FileKind

CHARTS = frozenset({"charts/web"})


@pytest.mark.parametrize(
    ("rel", "kind"),
    [
        ("Dockerfile", FileKind.DOCKERFILE),
        ("Containerfile", FileKind.DOCKERFILE),
        ("build/Dockerfile.prod", FileKind.DOCKERFILE),
        ("api.Dockerfile", FileKind.DOCKERFILE),
        ("x/web.dockerfile", FileKind.DOCKERFILE),
        ("Dockerfile.md", None),
        (".github/workflows/ci.yml", FileKind.GHA_WORKFLOW),
        (".github/workflows/release.yaml", FileKind.GHA_WORKFLOW),
        ("actions/setup/action.yml", FileKind.GHA_ACTION),
        ("action.yaml", FileKind.GHA_ACTION),
        (".gitlab-ci.yml", FileKind.GITLAB_CI),
        ("ci/build.gitlab-ci.yml", FileKind.GITLAB_CI),
        ("charts/web/Chart.yaml", FileKind.HELM_CHART),
        ("charts/web/values.yaml", FileKind.HELM_VALUES),
        ("charts/web/values-prod.yaml", FileKind.HELM_VALUES),
        ("charts/web/templates/deployment.yaml", FileKind.HELM_TEMPLATE),
        ("charts/web/templates/_helpers.tpl", FileKind.HELM_TEMPLATE),
        ("charts/web/ci/values.yaml", FileKind.YAML),
        ("other/values.yaml", FileKind.YAML),
        ("overlays/prod/kustomization.yaml", FileKind.KUSTOMIZATION),
        ("base/Kustomization", FileKind.KUSTOMIZATION),
        ("deploy/app.yaml", FileKind.YAML),
        ("deploy/app.json", FileKind.YAML),
        ("keys/cosign.key", FileKind.OTHER),
        ("certs/tls.pem", FileKind.OTHER),
        ("src/main.go", None),
        ("README.md", None),
    ],
)
def test_classify(rel: str, kind: FileKind | None) -> None:
    assert classify(rel, CHARTS) is kind


def test_walk_skips_git_and_honours_excludes(tmp_path: Path) -> None:
    for rel in [
        ".git/config.yaml",
        "a/pod.yaml",
        "vendor/x/pod.yaml",
        "gen/z.generated.yaml",
        "b/Dockerfile",
        "b/notes.txt",
    ]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("a: 1\n")
    items, errors = discover([tmp_path], exclude=["vendor/**", "*.generated.yaml"])
    prefix = tmp_path.as_posix() + "/"
    assert [(d.rel.removeprefix(prefix), d.kind) for d in items] == [
        ("a/pod.yaml", FileKind.YAML),
        ("b/Dockerfile", FileKind.DOCKERFILE),
    ]
    assert errors == []


def test_a_file_given_directly(tmp_path: Path) -> None:
    p = tmp_path / "pod.yaml"
    p.write_text("a: 1\n")
    items, errors = discover([p])
    assert [(d.rel, d.kind) for d in items] == [(p.as_posix(), FileKind.YAML)]
    items, errors = discover([tmp_path / "missing.yaml"])
    assert items == [] and errors[0].reason == "no such file or directory"


def test_workflows_found_when_scanning_the_github_folder(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows" / "ci.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text("on: push\n")
    for root in (tmp_path / ".github", tmp_path / ".github" / "workflows"):
        items, _ = discover([root])
        assert [d.kind for d in items] == [FileKind.GHA_WORKFLOW]
