"""Every real Kyverno policy, Gatekeeper constraint and Flux/Argo CD manifest scans without a
crash; the findings of the gitops pack on them are reviewed (true positives asserted by place,
near misses asserted quiet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.engine import ScanOptions, scan
from kubeward.registry import load_rules
from kubeward.results import Report
from tests.conftest import require_shared, rule_hits

pytestmark = pytest.mark.shared

MY_RULES = sorted(
    r.id for r in load_rules().values() if r.func.__module__.startswith("kubeward.rules.gitops")
)


def _scan(name: str) -> tuple[Path, Report]:
    root = require_shared("corpora", name)
    report = scan([root], ScanOptions(jobs=1, only_rules=MY_RULES))
    internal = [e for e in report.errors if "internal error" in e.reason]
    assert internal == []
    return root, report


@pytest.fixture(scope="module")
def kyverno() -> tuple[Path, Report]:
    return _scan("kyverno-policies")


def test_kyverno_policies(kyverno: tuple[Path, Report]) -> None:
    root, report = kyverno
    assert report.files_scanned > 5000
    audit = rule_hits(report, root, "kyverno-verify-images-audit")
    # The library's image-verification samples ship in Audit mode.
    assert ("other/verify-image-slsa/verify-image-slsa.yaml", 21) in audit
    assert ("flux/verify-flux-images/verify-flux-images.yaml", 19) in audit
    # verify-image.yaml enforces: no finding there.
    assert not {p for p, _ in audit if p == "other/verify-image/verify-image.yaml"}
    weakened = rule_hits(report, root, "kyverno-verify-images-weakened")
    assert weakened == {("flux/verify-flux-images/verify-flux-images.yaml", 43)}
    # Every attestation in the library has conditions; every keyless entry names an identity.
    assert rule_hits(report, root, "kyverno-attestation-without-conditions") == set()
    assert rule_hits(report, root, "kyverno-keyless-identity-unbounded") == set()
    # Tekton bundle checks (PipelineRun/TaskRun with imageExtractors) do not cover Pods, so the
    # enforcing "*" of signed-pipeline-bundle does not hide uncovered Pod images.
    uncovered = [
        r for r in report.results if r.rule.id == "image-not-covered-by-verification-policy"
    ]
    uses = sum(int(r.finding.properties.get("uses", 1)) for r in uncovered)
    assert uses > 10_000
    # One finding per image and verdict (166 images), not one per pod (over 17,000 uses).
    assert len(uncovered) < 300
    [busybox] = [
        r
        for r in uncovered
        if r.finding.message.startswith("ghcr.io/kyverno/test-busybox:1.35 in ")
        and "is not covered by any enforcing" in r.finding.message
    ]
    assert int(busybox.finding.properties["uses"]) > 5000
    assert len(busybox.finding.related) > 5  # the nearest policy and the first other uses


@pytest.fixture(scope="module")
def gatekeeper() -> tuple[Path, Report]:
    return _scan("gatekeeper-library")


def test_gatekeeper_library(gatekeeper: tuple[Path, Report]) -> None:
    root, report = gatekeeper
    assert report.files_scanned > 1000
    # Every allowed-repos sample ends its prefixes with '/', and no image constraint of the
    # library is in dryrun or warn.
    assert rule_hits(report, root, "gatekeeper-allowed-repo-lookalike") == set()
    assert rule_hits(report, root, "gatekeeper-image-constraint-not-enforced") == set()
    # No signature verification anywhere: said once, not per image.
    assert len(rule_hits(report, root, "image-not-covered-by-verification-policy")) == 1


@pytest.fixture(scope="module")
def flux() -> tuple[Path, Report]:
    return _scan("flux2")


def test_flux2(flux: tuple[Path, Report]) -> None:
    root, report = flux
    unverified = rule_hits(report, root, "flux-source-unverified")
    assert ("cmd/flux/testdata/build-kustomization/podinfo-source.yaml", 15) in unverified
    assert ("cmd/flux/testdata/create_source_chart/verify_basic.yaml", 15) in unverified
    keys = {p for p, _ in rule_hits(report, root, "committed-private-key")}
    assert "cmd/flux/testdata/create_secret/git/git-ssh-secret.yaml" in keys
    assert rule_hits(report, root, "flux-source-insecure-transport") == set()


@pytest.fixture(scope="module")
def argo() -> tuple[Path, Report]:
    return _scan("argo-cd")


def test_argo_cd(argo: tuple[Path, Report]) -> None:
    root, report = argo
    revs = rule_hits(report, root, "argocd-target-revision-mutable")
    assert ("applicationset/examples/cluster/cluster-example.yaml", 17) in revs
    # Templated revisions ('{{ branch }}', '{{ head_sha }}') are left alone.
    for path, line in revs:
        text = (root / path).read_text().split("\n")[line - 1]
        assert "{{" not in text
