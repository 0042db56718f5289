"""--exclude in gitignore semantics, the scanned repository's .gitignore files, and kubeward's
own reports left out of the next scan."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kubeward.cli import main
from kubeward.discover import discover

POD = """apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: c
      image: nginx:latest
"""


def tree(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(POD, encoding="utf-8")
    return root


def found(root: Path, *exclude: str) -> list[str]:
    items, errors = discover([root], exclude=list(exclude))
    assert not errors
    prefix = root.as_posix() + "/"
    return [d.rel.removeprefix(prefix) for d in items]


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, timeout=60, capture_output=True)


def test_exclude_is_gitignore_syntax_with_negation(tmp_path: Path) -> None:
    root = tree(tmp_path, "a.yaml", "keep.yaml", "vendor/v.yaml", "deep/x/a.yaml", "deep/b.yaml")
    assert found(root, "vendor/") == ["a.yaml", "deep/b.yaml", "deep/x/a.yaml", "keep.yaml"]
    assert found(root, "*.yaml", "!keep.yaml") == ["keep.yaml"]
    assert found(root, "/a.yaml") == ["deep/b.yaml", "deep/x/a.yaml", "keep.yaml", "vendor/v.yaml"]
    assert found(root, "a.yaml") == ["deep/b.yaml", "keep.yaml", "vendor/v.yaml"]  # any level
    assert found(root, "deep/*.yaml") == ["a.yaml", "deep/x/a.yaml", "keep.yaml", "vendor/v.yaml"]
    assert found(root, "deep/**") == ["a.yaml", "keep.yaml", "vendor/v.yaml"]


def test_gitignore_files_root_and_nested_outside_git(tmp_path: Path) -> None:
    root = tree(tmp_path, "a.yaml", "build/out.yaml", "sub/gen.yaml", "sub/own.yaml", "x.gen.yaml")
    (root / ".gitignore").write_text("build/\n*.gen.yaml\n")
    (root / "sub" / ".gitignore").write_text("gen.yaml\n")
    assert found(root) == ["a.yaml", "sub/own.yaml"]
    # a deeper .gitignore takes back what a shallower one left out
    (root / "sub" / ".gitignore").write_text("!x.gen.yaml\n")
    tree(root, "sub/x.gen.yaml")
    assert found(root) == ["a.yaml", "sub/gen.yaml", "sub/own.yaml", "sub/x.gen.yaml"]
    # and --exclude's `!` takes back a path from a .gitignore
    assert found(root, "!x.gen.yaml") == [
        "a.yaml", "sub/gen.yaml", "sub/own.yaml", "sub/x.gen.yaml", "x.gen.yaml"
    ]  # fmt: skip


def test_a_file_git_tracks_is_scanned_even_when_its_gitignore_names_it(tmp_path: Path) -> None:
    # the hostile repository commits a manifest, then lists it in its .gitignore
    root = tree(tmp_path, "deploy.yaml", "hidden/pod.yaml", "local.yaml")
    git(root, "init", "-q")
    git(root, "add", "deploy.yaml", "hidden/pod.yaml")
    (root / ".gitignore").write_text("deploy.yaml\nhidden/\nlocal.yaml\n")
    assert found(root) == ["deploy.yaml", "hidden/pod.yaml"]  # local.yaml: untracked, ignored


def test_reports_and_baselines_kubeward_wrote_are_not_scanned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tree(tmp_path / "repo", "pod.yaml")
    before = found(root)
    outs = ["-f", f"json={root}/report.json", "-f", f"sarif={root}/scan.sarif.json"]
    main(["scan", "-q", str(root), *outs, "--write-baseline", str(root / ".kubeward-base.json")])
    assert {p.name for p in root.iterdir()} >= {"report.json", "scan.sarif.json"}
    assert found(root) == before
    capsys.readouterr()
    main(["scan", "--no-progress", "-f", "json", str(root)])
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["files_scanned"] == 1 and not doc["errors"]


@pytest.mark.parametrize(
    "forged",
    [
        # kubeward's signature, then a Pod's keys: a manifest, scanned
        '{"schema_version": 1, "tool": {"name": "kubeward"}, "apiVersion": "v1", "kind": "Pod"}',
        '{"kubeward_baseline": 1, "findings": [], "apiVersion": "v1", "kind": "Pod",'
        ' "spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}}',
        '{"kubeward_baseline": 1, "auths": {"r.example": {"auth": "dTpw"}}}',
    ],
)
def test_a_file_that_only_starts_like_a_report_is_scanned(tmp_path: Path, forged: str) -> None:
    (tmp_path / "x.json").write_text(forged)
    assert found(tmp_path) == ["x.json"]
