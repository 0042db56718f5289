"""The SLSA v1.0 Build level per image-producing pipeline, on one fixture repo per level and CI
system, through the real scan (report section and the below-target rule)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.config import Config
from kubeward.engine import ScanOptions, scan
from kubeward.results import Report
from tests.conftest import FIXTURES, require_shared

SLSA = FIXTURES / "slsa"

# fixture -> (file, job, image, level, words each reason list must contain)
CASES = {
    "github-l0": (
        ".github/workflows/release.yml",
        "image",
        "ghcr.io/acme/l0:1.0",
        0,
        ["L1 missed: Provenance generation: Exists"],
    ),
    "github-l1": (
        ".github/workflows/release.yml",
        "image",
        "ghcr.io/acme/l1:1.0",
        1,
        [
            "L1: Provenance generation: Exists: buildx provenance mode=min",
            "L2 missed: Provenance generation: Authentic",
        ],
    ),
    "github-l1-self-hosted": (
        ".github/workflows/release.yml",
        "image",
        "ghcr.io/acme/l1sh:1.0",
        1,
        [
            "L1: Provenance generation: Exists: actions/attest-build-provenance",
            "L2 missed: Isolation strength: Hosted: job image runs on a self-hosted runner",
        ],
    ),
    "github-l2": (
        ".github/workflows/release.yml",
        "image",
        "ghcr.io/acme/l2:1.0",
        2,
        [
            "L2: Provenance generation: Authentic: actions/attest-build-provenance",
            "Isolation strength: Hosted: GitHub-hosted runner",
            "L3 missed: Provenance generation: Unforgeable",
        ],
    ),
    "github-l3": (
        ".github/workflows/release.yml",
        "build",
        "ghcr.io/acme/l3:1.0",
        3,
        [
            "L3: Provenance generation: Unforgeable: slsa-github-generator",
            "Isolation strength: Isolated",
        ],
    ),
    "github-l3-reusable": (
        ".github/workflows/image-reuse.yml",
        "publish",
        "quay.io/acme/app:${{ github.ref_name }}",
        3,
        ["L3: Provenance generation: Unforgeable: slsa-github-generator"],
    ),
    "github-goreleaser-l0": (
        ".github/workflows/release.yml",
        "release",
        "ghcr.io/acme/app:{{ .Tag }}",
        0,
        ["L1 missed: Provenance generation: Exists"],
    ),
    "gitlab-l0": (
        ".gitlab-ci.yml",
        "build",
        "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA",
        0,
        ["L1 missed: Provenance generation: Exists"],
    ),
    "gitlab-l1": (
        ".gitlab-ci.yml",
        "build",
        "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA",
        1,
        [
            "L1: Provenance generation: Exists: buildx provenance mode=max",
            "L2 missed: Provenance generation: Authentic",
        ],
    ),
    "gitlab-l2": (
        ".gitlab-ci.yml",
        "build",
        "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA",
        2,
        [
            "L2: Provenance generation: Authentic: cosign attest --type slsaprovenance1",
            "L3 missed: Provenance generation: Unforgeable: the signing identity is "
            "reachable from the build steps of job build",
        ],
    ),
    "gitlab-l2-reference": (
        ".gitlab-ci.yml",
        "build",
        "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA",
        2,
        [
            "L2: Provenance generation: Authentic: cosign attest --type slsaprovenance1",
            "Isolation strength: Hosted: GitLab-hosted runner tags saas-linux-small-amd64",
        ],
    ),
    "gitlab-l3": (
        ".gitlab-ci.yml",
        "build",
        "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA",
        3,
        [
            "L3: Provenance generation: Unforgeable: provenance is signed in job attest, "
            "which holds id_tokens",
            "Isolation strength: Hosted: GitLab-hosted runner tags saas-linux-small-amd64",
        ],
    ),
}


def _scan(root: Path, target: int = 3) -> Report:
    cfg = Config(globals={"slsa-target-level": target})
    return scan(
        [root], ScanOptions(config=cfg, only_rules=["slsa-build-level-below-target"], jobs=1)
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_level_and_reasons(name: str) -> None:
    file, job, image, level, words = CASES[name]
    root = SLSA / name
    report = _scan(root)
    [section] = [s for s in report.sections if s.id == "slsa-build-level"]
    [row] = section.rows
    assert row["file"] == f"{root.as_posix()}/{file}"
    assert (row["job"], row["image"], row["level"]) == (job, image, f"L{level}")
    for w in words:
        assert w in row["reasons"], (w, row["reasons"])
    below = [r for r in report.results if r.rule.id == "slsa-build-level-below-target"]
    if level < 3:
        [finding] = below
        assert finding.span.path == row["file"]
        assert finding.finding.properties["slsa_level"] == level
        assert f"reaches SLSA Build L{level}, below the target L3" in finding.message
    else:
        assert below == []


def test_target_level_from_config_silences_lower_levels() -> None:
    report = _scan(SLSA / "github-l2", target=2)
    assert [r for r in report.results if r.rule.id == "slsa-build-level-below-target"] == []
    report = _scan(SLSA / "github-l1", target=2)
    assert [r.span.start.line for r in report.results] == [11]


def test_gitlab_local_include_is_part_of_the_pipeline() -> None:
    """The scan job lives in ci/scan.yml, included locally: the build counts as scanned."""
    report = scan(
        [SLSA / "gitlab-l2"], ScanOptions(only_rules=["image-push-without-vuln-scan"], jobs=1)
    )
    assert report.results == []
    report = scan(
        [SLSA / "gitlab-l0"], ScanOptions(only_rules=["image-push-without-vuln-scan"], jobs=1)
    )
    assert [(r.span.path.rsplit("/", 1)[-1], r.span.start.line) for r in report.results] == [
        (".gitlab-ci.yml", 8)
    ]


def test_local_reusable_workflow_is_signed_by_digest_with_its_callers_token() -> None:
    """The callee signs by digest over a continued command line, keyless, with the id-token
    its caller grants: no signing finding at all."""
    rules = ["image-push-unsigned", "cosign-sign-by-tag", "cosign-keyless-without-id-token"]
    report = scan([SLSA / "github-l3-reusable"], ScanOptions(only_rules=rules, jobs=1))
    assert [(r.rule.id, r.span.start.line) for r in report.results] == []


def test_goreleaser_docker_signs_count_as_signatures_by_tag() -> None:
    rules = ["image-push-unsigned", "cosign-sign-by-tag", "cosign-keyless-without-id-token"]
    report = scan([SLSA / "github-goreleaser-l0"], ScanOptions(only_rules=rules, jobs=1))
    got = [
        (r.rule.id, r.span.path.rsplit("/", 1)[-1], r.span.start.line, r.span.start.col)
        for r in report.results
    ]
    # The finding points at the `${artifact}` argument, which lacks `@${digest}`.
    assert got == [("cosign-sign-by-tag", ".goreleaser.yml", 9, 29)]


def test_evidence_is_matched_per_image_and_the_finding_names_both() -> None:
    """Two images pushed, one signed (by the push step's digest output): the unsigned one is
    reported, its message names the image (resolved from env:) and the signature it lacks."""
    fixture = FIXTURES / "rules" / "image-push-unsigned"
    opts = ScanOptions(only_rules=["image-push-unsigned"], jobs=1)
    report = scan([fixture], opts)
    mine = [r for r in report.results if r.span.path.endswith("two-images.yml")]
    got = {r.span.start.line: r for r in mine}
    assert sorted(got) == [22, 37]
    worker = got[22].message
    assert worker.startswith(
        "image ghcr.io/acme/worker (${{ env.WORKER }}:1.0) pushed by job images"
    )
    assert "cosign sign in the pipeline covers only" in worker
    assert [x.span.start.line for x in got[22].finding.related] == [27, 38]
    assert "image ghcr.io/acme/cli:1.0 pushed by job by-name (docker push)" in got[37].message


def test_scan_of_the_local_build_counts_for_the_image_pushed_under_its_registry_name() -> None:
    """Checkov's docker-slsa workflow scans `IMAGE_NAME:TAG` (loaded locally) and pushes
    `REGISTRY/IMAGE_NAME:TAG`: the same image by its last path segment, so the scan is
    credited (and reported only because its exit-code is 0), not "never scanned"."""
    root = require_shared("corpora", "checkov")
    wf = root / "tests/github_actions/resources/.github/workflows/docker-slsa.yaml"
    opts = ScanOptions(only_rules=["image-push-without-vuln-scan"], jobs=1)
    report = scan([wf.parent.parent.parent], opts)
    got = [(r.span.path.rsplit("/", 1)[-1], r.span.start.line, r.message) for r in report.results]
    [(_, line, message)] = [g for g in got if g[0] == "docker-slsa.yaml"]
    assert line == 158
    assert message.endswith("aquasecurity/trivy-action cannot fail the build (exit-code is 0)")
