"""Dockerfile rules beyond their fixtures: parameters, and what findings point at."""

from __future__ import annotations

from pathlib import Path

from kubeward.config import find_config, load_config
from kubeward.engine import ScanOptions, scan

DOCKERFILE = """\
FROM debian:12.7
RUN apt-get update && apt-get install -y curl && pip install requests
"""


def _hits(root: Path, rule_id: str) -> list[tuple[int, int, str]]:
    cfg = load_config(find_config(root))
    report = scan([root], ScanOptions(config=cfg, only_rules=[rule_id], jobs=1))
    return [
        (r.span.start.line, r.span.start.col, r.message.split(" ", 2)[1]) for r in report.results
    ]


def test_unpinned_install_flags_distro_packages_by_default(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    got = _hits(tmp_path, "dockerfile-unpinned-package-install")
    assert got == [(2, 42, "installs"), (2, 62, "installs")]


def test_unpinned_install_can_leave_distro_packages_alone(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / ".kubeward.yaml").write_text(
        "rules:\n  dockerfile-unpinned-package-install:\n    params: {distro-packages: false}\n"
    )
    got = _hits(tmp_path, "dockerfile-unpinned-package-install")
    assert got == [(2, 62, "installs")]


def test_from_finding_points_at_the_from_value_with_the_arg_as_related(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("ARG BASE=alpine:3.20\nFROM ${BASE} AS build\n")
    cfg = load_config(find_config(tmp_path))
    report = scan(
        [tmp_path], ScanOptions(config=cfg, only_rules=["image-not-pinned-by-digest"], jobs=1)
    )
    (r,) = report.results
    assert (r.span.start.line, r.span.start.col, r.span.end.col) == (2, 6, 13)
    assert "base image of stage build" in r.message
    (rel,) = r.finding.related
    assert (rel.span.start.line, rel.span.start.col, rel.label) == (1, 10, "ARG BASE default")


def test_final_stage_root_says_what_it_knows_of_the_base(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "Dockerfile").write_text("FROM alpine:3.20\nCOPY app /app\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "Dockerfile").write_text("FROM ghcr.io/acme/base:1.0.0\nCOPY app /app\n")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "Dockerfile").write_text("FROM bitnami/nginx:1.25.4\nCOPY app /app\n")
    report = scan([tmp_path], ScanOptions(only_rules=["dockerfile-final-stage-root"], jobs=1))
    by_dir = {Path(r.span.path).parent.name: r for r in report.results}
    assert sorted(by_dir) == ["a", "b"]  # bitnami/nginx sets USER 1001
    assert by_dir["a"].message.endswith(
        "and alpine:3.20 runs as root, so the container runs as root"
    )
    assert "alpinelinux/docker-alpine" in by_dir["a"].finding.properties["base_user_source"]
    assert by_dir["b"].message.endswith(
        "so the container runs as root unless ghcr.io/acme/base:1.0.0 sets a non-root user"
    )
