"""Coverage across documents, one scan per engine and case, plus each engine's glob semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.model.image import parse_image
from kubeward.model.policy import ResourceMatch
from kubeward.policy import policy_controller
from kubeward.policy.kyverno import gobwas_regex, kyverno_forms, kyverno_regex
from tests.conftest import FIXTURES
from tests.expectations import Expectations, hits, run_rule

RULE = "image-not-covered-by-verification-policy"
CASES = FIXTURES / "rules" / RULE / "cases"


def read_case_marks(root: Path) -> Expectations:
    """`# case-expect:` / `# case-ok:` marks: the cases are scanned alone, one folder at a
    time, so their marks must not count in the rule's whole-folder fixture run."""
    out = Expectations()
    for path in sorted(root.rglob("*.yaml")):
        lines = path.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines[:-1], start=1):
            text = line.strip()
            if text == f"# case-expect: {RULE}":
                out.expect.add((path.relative_to(root).as_posix(), i + 1))
            elif text == f"# case-ok: {RULE}":
                out.ok.add((path.relative_to(root).as_posix(), i + 1))
    return out


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_coverage_case(case: str) -> None:
    root = CASES / case
    exp = read_case_marks(root)
    assert exp.expect or exp.ok
    report = run_rule(root, RULE)
    assert not [e for e in report.errors if "internal error" in e.reason]
    got = hits(report, root, RULE)
    assert got == exp.expect
    assert not (got & exp.ok)


def test_every_engine_has_every_case() -> None:
    names = {p.name for p in CASES.iterdir()}
    for engine in ("kyverno", "kyverno-ivpol", "pc", "gatekeeper"):
        for case in ("covered", "uncovered", "audit"):
            assert f"{engine}-{case}" in names
    assert "no-policy" in names


def test_messages_name_the_mode_and_the_policy() -> None:
    report = run_rule(CASES / "pc-audit", RULE)
    (result,) = report.results
    assert "mode: warn" in result.finding.message
    assert result.finding.related[0].span.path.endswith("pc-audit/policy.yaml")
    report = run_rule(CASES / "no-policy", RULE)
    (result,) = report.results
    assert "2 workload images" in result.finding.message


def test_image_validating_policy_messages() -> None:
    report = run_rule(CASES / "kyverno-ivpol-audit", RULE)
    (result,) = report.results
    assert "ImageValidatingPolicy/verify-ivpol (kyverno)" in result.finding.message
    assert "validationActions: [Audit, Warn] without Deny" in result.finding.message
    assert result.finding.related[0].span.start.line == 6  # the validationActions value
    report = run_rule(CASES / "kyverno-ivpol-expression", RULE)
    (result,) = report.results
    (related,) = result.finding.related
    assert "no image for certain" in related.label
    assert "CEL matchImageReferences not evaluated statically" in related.label
    assert "ref.startsWith('ivpol.example.com/acme/')" in related.label


@pytest.mark.parametrize(
    ("glob", "image", "expected"),
    [
        ("ghcr.io/acme/*", "ghcr.io/acme/team/app:1", True),  # '*' crosses '/', no separators
        ("ghcr.io/acme/*", "ghcr.io/acmeevil/app:1", False),
        ("ghcr.io/{acme,tools}/*", "ghcr.io/tools/app:1", True),
        ("ghcr.io/acme/[a-c]pp:*", "ghcr.io/acme/app:1", True),
        ("ghcr.io/acme/[!a]pp:*", "ghcr.io/acme/app:1", False),
        ("docker.io/library/nginx:*", "nginx:1.27", True),
        ("ghcr.io/{acme/*", "ghcr.io/acme/app:1", False),  # rejected glob: covers nothing
    ],
)
def test_image_validating_policy_globs(glob: str, image: str, expected: bool) -> None:
    rx = gobwas_regex(glob)
    got = rx is not None and any(rx.match(f) for f in kyverno_forms(parse_image(image)))
    assert got is expected


def _kyverno(pattern: str, image: str) -> bool:
    return any(kyverno_regex(pattern).match(f) for f in kyverno_forms(parse_image(image)))


def _pc(glob: str, image: str) -> bool:
    return policy_controller.selects(glob, parse_image(image))


@pytest.mark.parametrize(
    ("pattern", "image", "expected"),
    [
        ("ghcr.io/acme/*", "ghcr.io/acme/app:1", True),
        ("ghcr.io/acme/*", "ghcr.io/acme/team/app:1", True),  # Kyverno's * crosses '/'
        ("ghcr.io/acme/*", "ghcr.io/acmeevil/app:1", False),
        ("docker.io/library/nginx:*", "nginx:1.27", True),
        ("docker.io/nginx:*", "nginx:1.27", True),
        ("nginx:*", "nginx:1.27", True),
        ("ghcr.io/acme/app:v?", "ghcr.io/acme/app:v1", True),
        ("ghcr.io/acme/app:v?", "ghcr.io/acme/app:v10", False),
        ("*", "anything.example/x/y@sha256:" + "a" * 64, True),
    ],
)
def test_kyverno_wildcards(pattern: str, image: str, expected: bool) -> None:
    assert _kyverno(pattern, image) is expected


@pytest.mark.parametrize(
    ("glob", "image", "expected"),
    [
        ("ghcr.io/acme/*", "ghcr.io/acme/app:1", True),  # '*' crosses ':'
        ("ghcr.io/acme/*", "ghcr.io/acme/team/app:1", False),  # but not '/'
        ("ghcr.io/acme/**", "ghcr.io/acme/team/app:1", True),
        ("*", "busybox", True),  # means index.docker.io/library/*
        ("*", "ghcr.io/acme/app", False),
        ("*/*", "acme/app:1", True),  # index.docker.io/*/*
        ("index.docker.io/library/nginx:**", "nginx:1.27", True),
        (
            "ghcr.io/acme/app@sha256:*",
            "ghcr.io/acme/app@sha256:" + "b" * 64,
            True,
        ),  # '@' is allowed in globs since policy-controller 6ac055c9 (2022)
        ("ghcr.io/acme/[a-z]*", "ghcr.io/acme/app", False),  # rejected glob
    ],
)
def test_policy_controller_globs(glob: str, image: str, expected: bool) -> None:
    assert _pc(glob, image) is expected


def test_coverage_section_rows() -> None:
    from kubeward.engine import ScanOptions, scan

    root = FIXTURES / "rules" / RULE
    report = scan([root / "apps", root / "policies"], ScanOptions(only_rules=[RULE], jobs=1))
    (section,) = [s for s in report.sections if s.id == "image-verification-coverage"]
    status = {row["image"]: row["status"] for row in section.rows}
    assert status["ghcr.io/acme/team/migrate:1.0"] == "enforced"
    assert status["quay.io/platform/agent:2.0"] == "enforced"
    assert status["quay.io/platform/team/sidecar:2.0"] == "uncovered"
    assert status["registry.example.com/audit/legacy:3"] == "not enforced"
    assert "{{ .Values.image }}" not in status


def test_no_section_without_policies() -> None:
    from kubeward.engine import ScanOptions, scan

    report = scan([CASES / "no-policy"], ScanOptions(only_rules=[RULE], jobs=1))
    assert not [s for s in report.sections if s.id == "image-verification-coverage"]


def test_policy_controller_match_is_named_in_the_related_location() -> None:
    report = run_rule(CASES / "pc-match", RULE)
    labels = {r.finding.span.start.line: r.finding.related[0].label for r in report.results}
    assert labels[11].endswith("covers ghcr.io/acme/cm/* for v1/configmaps")
    assert "for v1/pods labelled verify=true" in labels[41]
    assert "stops at '/'" not in labels[41]  # the glob matches: the match left the image out


@pytest.mark.parametrize(
    ("entry", "kind", "labels", "expected"),
    [
        (("apps", "*", "deployments"), "Deployment", {}, True),
        (("apps", "v1", "deployments"), "StatefulSet", {}, False),
        (("", "v1", "pods"), "Pod", {}, True),
        (("", "v2", "pods"), "Pod", {}, False),
        # policy-controller's kind table puts DaemonSet in the core group and has no
        # ReplicaSet (it compares as the empty group, version and resource).
        (("", "v1", "daemonsets"), "DaemonSet", {}, True),
        (("apps", "v1", "daemonsets"), "DaemonSet", {}, False),
        (("", "", ""), "ReplicaSet", {}, True),
    ],
)
def test_policy_controller_resource_match(
    entry: tuple[str, str, str], kind: str, labels: dict[str, str], expected: bool
) -> None:
    assert ResourceMatch(*entry).matches(kind, labels) is expected
