"""The image a deployment really gets after Kustomize's `images:` transformers."""

from __future__ import annotations

from pathlib import Path

from kubeward.engine import ScanOptions, scan
from kubeward.model.kustomize import is_pinned_remote, remote_ref
from kubeward.results import Report
from tests.conftest import every_result, rule_hits

DIGEST = "sha256:" + "a" * 64


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def _deployment(*images: str) -> str:
    containers = "".join(
        f"        - name: c{i}\n          image: {img}\n" for i, img in enumerate(images)
    )
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
        f"    spec:\n      containers:\n{containers}"
    )


def _kustomization(resources: list[str], images: str = "") -> str:
    res = "".join(f"  - {r}\n" for r in resources)
    return f"resources:\n{res}" + (f"images:\n{images}" if images else "")


def _scan(root: Path) -> Report:
    rules = ["image-not-pinned-by-digest", "image-mutable-tag"]
    return scan([root], ScanOptions(only_rules=rules, jobs=1))


def test_overlay_override_is_judged_at_the_overlay_and_names_the_base(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "base/deployment.yaml": _deployment("nginx:1.25"),
            "base/kustomization.yaml": _kustomization(["deployment.yaml"]),
            "dev/kustomization.yaml": _kustomization(
                ["../base"], "  - name: nginx\n    newTag: latest\n"
            ),
        },
    )
    report = _scan(tmp_path)
    assert rule_hits(report, tmp_path, "image-mutable-tag") == {("dev/kustomization.yaml", 5)}
    [r] = [r for r in every_result(report) if r.rule.id == "image-mutable-tag"]
    assert "nginx:latest" in r.finding.message and "written nginx:1.25" in r.finding.message
    # The rule itself does not carry related places yet; the ImageUse does (see model test).


def test_base_scanned_without_overlay_is_judged_as_written(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "base/deployment.yaml": _deployment("nginx"),
            "base/kustomization.yaml": _kustomization(["deployment.yaml"]),
        },
    )
    assert rule_hits(_scan(tmp_path), tmp_path, "image-mutable-tag") == {
        ("base/deployment.yaml", 10)
    }


def test_pinning_overlay_clears_only_its_own_deployment(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "base/deployment.yaml": _deployment("nginx:latest"),
            "base/kustomization.yaml": _kustomization(["deployment.yaml"]),
            "prod/kustomization.yaml": _kustomization(
                ["../base"], f"  - name: nginx\n    digest: {DIGEST}\n"
            ),
            "dev/kustomization.yaml": _kustomization(["../base"]),
        },
    )
    report = _scan(tmp_path)
    assert rule_hits(report, tmp_path, "image-mutable-tag") == {("base/deployment.yaml", 10)}
    [r] = [r for r in every_result(report) if r.rule.id == "image-mutable-tag"]
    assert "deployed unchanged by dev/kustomization.yaml" in r.finding.message.replace(
        tmp_path.as_posix() + "/", ""
    )
    # With both overlays pinning, the base's tag no longer reaches any deployment.
    (tmp_path / "dev/kustomization.yaml").write_text(
        _kustomization(["../base"], f"  - name: nginx\n    newTag: '1.27'\n    digest: {DIGEST}\n")
    )
    report = _scan(tmp_path)
    assert rule_hits(report, tmp_path, "image-mutable-tag") == set()
    assert rule_hits(report, tmp_path, "image-not-pinned-by-digest") == set()


def test_nested_overlays_apply_innermost_first(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "base/deployment.yaml": _deployment("nginx:1.25"),
            "base/kustomization.yaml": _kustomization(
                ["deployment.yaml"], "  - name: nginx\n    newName: mirror.example.com/nginx\n"
            ),
            # The outer overlay matches the *renamed* image, as Kustomize would.
            "prod/kustomization.yaml": _kustomization(
                ["../base"], f"  - name: mirror.example.com/nginx\n    digest: {DIGEST}\n"
            ),
        },
    )
    report = _scan(tmp_path)
    assert rule_hits(report, tmp_path, "image-not-pinned-by-digest") == set()


def test_overlay_file_resource_and_cycles_do_not_hang(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/deployment.yaml": _deployment("redis:7.2"),
            "a/kustomization.yaml": _kustomization(
                ["../b", "../app/deployment.yaml"], "  - name: redis\n    newTag: '7.4'\n"
            ),
            "b/kustomization.yaml": _kustomization(["../a"]),
        },
    )
    report = _scan(tmp_path)
    assert not report.errors
    # a and b include each other (Kustomize refuses the cycle), so neither is a root: the file
    # is judged as written and a's images: entry on its own.
    assert rule_hits(report, tmp_path, "image-not-pinned-by-digest") == {
        ("app/deployment.yaml", 10),
        ("a/kustomization.yaml", 6),
    }


def test_one_finding_per_images_entry_with_every_container_named(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "base/one.yaml": _deployment("nginx:1.25"),
            "base/two.yaml": _deployment("nginx:1.24", "nginx:1.23"),
            "base/kustomization.yaml": _kustomization(
                ["one.yaml", "two.yaml"], "  - name: nginx\n    newTag: '1.27'\n"
            ),
        },
    )
    report = _scan(tmp_path)
    [r] = [r for r in report.results if r.rule.id == "image-not-pinned-by-digest"]
    assert (r.span.path.endswith("base/kustomization.yaml"), r.span.start.line) == (True, 6)
    assert "3 containers" in r.finding.message


def test_effective_use_carries_the_base_as_related(tmp_path: Path) -> None:
    from kubeward.model.images import ImageUse
    from kubeward.scan_context import ScanContext

    _write(
        tmp_path,
        {
            "base/deployment.yaml": _deployment("nginx:1.25"),
            "base/kustomization.yaml": _kustomization(["deployment.yaml"]),
            "dev/kustomization.yaml": _kustomization(
                ["../base"], "  - name: nginx\n    newTag: '1.26'\n"
            ),
        },
    )
    report = _scan(tmp_path)  # discovery + parse through the engine
    assert report.files_scanned == 3
    from kubeward.discover import discover
    from kubeward.load import load_file

    items, _ = discover([tmp_path])
    ctx = ScanContext(files=[load_file(d)[0] for d in items])
    [use] = [u for u in ctx.instances(ImageUse) if u.origin == "kustomize-image"]
    assert use.ref.text == "nginx:1.26" and use.span.line == 5
    assert [(r.span.path.endswith("base/deployment.yaml"), r.span.line) for r in use.related] == [
        (True, 10)
    ]


def test_remote_refs() -> None:
    assert remote_ref("github.com/a/b//c?ref=main") == "main"
    assert remote_ref("https://github.com/a/b//c?timeout=9&version=v1") == "v1"
    assert is_pinned_remote("git::https://x.example/r.git//p?ref=" + "0" * 40)
    assert not is_pinned_remote("github.com/a/b//c?ref=" + "0" * 7)
    assert is_pinned_remote("https://raw.githubusercontent.com/o/r/" + "1" * 40 + "/f.yaml")
    assert not is_pinned_remote("https://raw.githubusercontent.com/o/r/v1.0/f.yaml")
