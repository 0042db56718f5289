"""The bundled example repository (`make demo`): each seeded mistake is found, at its line,
and its correct twin is not."""

from __future__ import annotations

from pathlib import Path

from kubeward.engine import ScanOptions, scan
from tests.conftest import REPO, every_result

SHOP = "shop"

# (file, line, rule): the mistakes the example's comments announce.
MISTAKES = [
    ("Dockerfile", 3, "image-not-pinned-by-digest"),
    ("Dockerfile", 6, "dockerfile-remote-code-execution"),
    (".github/workflows/release.yml", 24, "action-not-pinned-to-sha"),
    (".github/workflows/release.yml", 30, "template-injection"),
    ("deploy/deployment.yaml", 17, "image-not-pinned-by-digest"),
    ("deploy/deployment.yaml", 25, "image-mutable-tag"),
    ("deploy/deployment.yaml", 25, "image-not-pinned-by-digest"),
    ("deploy/deployment.yaml", 41, "image-mutable-tag"),
    ("deploy/rbac.yaml", 17, "rbac-wildcard"),
    ("deploy/rbac.yaml", 27, "rbac-cluster-admin-binding"),
    ("policy/verify-images.yaml", 7, "kyverno-verify-images-audit"),
]
# (file, first line, last line, rules that must stay silent there): the correct twins.
TWINS = [
    (
        "Dockerfile",
        9,
        13,
        {"image-not-pinned-by-digest", "image-mutable-tag", "dockerfile-final-stage-root"},
    ),
    (".github/workflows/release.yml", 19, 22, {"action-not-pinned-to-sha"}),
    (".github/workflows/release.yml", 31, 34, {"template-injection"}),
    ("deploy/deployment.yaml", 19, 22, {"image-not-pinned-by-digest", "image-mutable-tag"}),
    ("deploy/rbac.yaml", 1, 10, {"rbac-wildcard", "rbac-secrets-read"}),
    (
        "policy/verify-images.yaml",
        27,
        55,
        {"kyverno-verify-images-audit", "kyverno-verify-images-weakened"},
    ),
]


def _hits() -> set[tuple[str, int, str]]:
    root = REPO / "examples"
    report = scan([root], ScanOptions(jobs=1))
    assert not report.errors, report.errors
    prefix = f"{root.as_posix()}/{SHOP}/"
    return {
        (r.span.path.removeprefix(prefix), r.span.start.line, r.rule.id)
        for r in every_result(report)
    }


def test_mistakes_found_and_twins_clean() -> None:
    hits = _hits()
    missing = [m for m in MISTAKES if m not in hits]
    assert not missing, f"seeded mistakes not reported: {missing}"
    for path, first, last, rules in TWINS:
        wrong = sorted(h for h in hits if h[0] == path and first <= h[1] <= last and h[2] in rules)
        assert not wrong, f"correct twin reported: {wrong}"
    assert Path(REPO / "examples" / SHOP / "README.md").is_file()
