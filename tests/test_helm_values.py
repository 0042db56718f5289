"""Images in Helm values, and templates that are read as text."""

from __future__ import annotations

from pathlib import Path

from kubeward.discover import discover
from kubeward.engine import ScanOptions, scan
from kubeward.load import load_file
from kubeward.model.images import ImageUse, image_uses
from kubeward.registry import load_rules
from kubeward.source import FileKind


def _chart(root: Path, files: dict[str, str]) -> None:
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 1.0.0\n")
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def _uses(root: Path, name: str) -> list[ImageUse]:
    load_rules()  # the packs register their image sources (Helm values among them)
    items, _ = discover([root])
    [d] = [d for d in items if d.rel.endswith(name)]
    f, err = load_file(d)
    assert err is None and f.kind is FileKind.HELM_VALUES
    return image_uses(f)


def test_global_image_registry_replaces_each_images_registry(tmp_path: Path) -> None:
    _chart(
        tmp_path,
        {
            "values-prod.yaml": (
                "global:\n  imageRegistry: mirror.example.com\n"
                "image:\n  registry: docker.io\n  repository: bitnami/redis\n"
                "  tag: 8.2.1\n  digest: ''\n"
            )
        },
    )
    [use] = _uses(tmp_path, "values-prod.yaml")
    assert use.ref.registry == "mirror.example.com"
    assert use.ref.repository == "bitnami/redis" and use.ref.tag == "8.2.1"
    assert use.span.line == 7  # the empty digest: what is missing
    assert "global.imageRegistry" in use.where


def test_latest_tag_points_at_the_tag_line_and_pinned_at_the_repository(tmp_path: Path) -> None:
    _chart(
        tmp_path,
        {
            "values.yaml": (
                "a:\n  image:\n    repository: x/a\n    tag: latest\n    digest: ''\n"
                "b:\n  image:\n    repository: x/b\n    tag: '1'\n"
                f"    digest: sha256:{'c' * 64}\n"
            )
        },
    )
    uses = {u.ref.repository: u for u in _uses(tmp_path, "values.yaml")}
    assert uses["x/a"].span.line == 4 and uses["x/a"].ref.tag == "latest"
    assert uses["x/b"].span.line == 8 and uses["x/b"].ref.is_pinned


def test_unusual_values_and_go_templates_never_crash(tmp_path: Path) -> None:
    _chart(
        tmp_path,
        {
            "values.yaml": (
                "image: [1, 2]\nother:\n  image:\n    repository: {a: b}\n"
                "x: &a {image: {repository: 'r/x', tag: '1'}}\ny: *a\n"
                "listed:\n  - image: 'nginx:1'\n  - image: {repository: ''}\n"
            ),
            "templates/weird.yaml": (
                "{{- range .Values.x }}\nimage: {{ . }}\n{{- end }}\n"
                'image: "{{ .Values.a }}\n  unterminated: [\n'
            ),
            "templates/_helpers.tpl": '{{- define "x" -}}\nimage: busybox\n{{- end -}}\n',
        },
    )
    report = scan([tmp_path], ScanOptions(jobs=1))
    assert [e for e in report.errors if "internal error" in e.reason] == []
    # The template renders to YAML that does not parse (Helm would refuse it too): one entry.
    assert [
        (e.path.rsplit("/", 1)[-1], e.reason.split(":")[0])
        for e in report.errors
        if "templates/" in e.path
    ] == [("weird.yaml", "Helm rendered output is not valid YAML")]
    refs = sorted(u.ref.text for u in _uses(tmp_path, "values.yaml"))
    assert refs == ["nginx:1", "r/x:1"]  # the alias is one image, not two
