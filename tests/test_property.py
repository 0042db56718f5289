"""Property tests: no exception escapes the parsers or the engine, whatever the bytes."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeward.discover import Discovered
from kubeward.engine import ScanOptions, scan
from kubeward.load import load_file
from kubeward.model.image import parse_image
from kubeward.source import FileKind

_PIECES = [
    *"abc:-[]{}&*!|>'\"#@$%{} \n\t\\0123",
    "image: ",
    "kind: Pod\n",
    "apiVersion: v1\n",
    "containers:\n",
    "- ",
    "<<: ",
    "{{ .x }}",
    "FROM ",
    "RUN ",
    "  ",
    "&a ",
    "*a",
]
YAMLISH = st.lists(st.sampled_from(_PIECES), max_size=120).map("".join)


def _load(data: bytes, kind: FileKind, name: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_bytes(data)
        _f, err = load_file(Discovered(name, str(p), kind, len(data)))
        assert err is None or (err.path == name and err.reason)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_yaml_loader_never_raises_on_bytes(data: bytes) -> None:
    _load(data, FileKind.YAML, "x.yaml")


@settings(max_examples=300, deadline=None)
@given(YAMLISH)
def test_yaml_loader_never_raises_on_yamlish_text(text: str) -> None:
    _load(text.encode(), FileKind.YAML, "x.yaml")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=300).map(str.encode))
def test_dockerfile_loader_never_raises(data: bytes) -> None:
    _load(data, FileKind.DOCKERFILE, "Dockerfile")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=120))
def test_parse_image_never_raises(text: str) -> None:
    ref = parse_image(text)
    assert ref.error is not None or ref.templated or ref.repository


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "a.yaml",
                    "b.yml",
                    "c.json",
                    "Dockerfile",
                    ".github/workflows/w.yml",
                    "action.yml",
                    ".gitlab-ci.yml",
                    "Chart.yaml",
                    "values.yaml",
                    "kustomization.yaml",
                    "templates/t.yaml",
                    "cosign.key",
                ]
            ),
            YAMLISH | st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
        ),
        max_size=5,
    )
)
def test_engine_never_raises(files: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for name, text in files:
            p = root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8", errors="surrogateescape")
        report = scan([root], ScanOptions(jobs=1))
        internal = [e for e in report.errors if "internal error" in e.reason]
        assert not internal, internal
