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
