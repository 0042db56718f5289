"""`kubeward policy generate`: the admission policy for exactly the images a repository's
workloads run, signed by the identities of the pipelines that build them.

`generate(paths, repository=...)` scans the paths (with kubeward's defaults, not the
repository's own `.kubeward.yaml`, which could hide files), takes the workload images the
coverage rule sees and the image builds the pipeline model sees (`kubeward.slsa.ImageBuild`:
which job pushes which image, and the `cosign sign` evidence for it), and returns a `Plan`:
the images covered with their keyless identities, and the images left out with the reason.
`render` writes the Kyverno and policy-controller documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kubeward.policygen._plan import (
    Covered,
    Identity,
    Plan,
    PlanError,
    Repository,
    Uncovered,
    plan,
)
from kubeward.policygen._render import ENGINES, render

__all__ = [
    "ENGINES",
    "Covered",
    "Identity",
    "Plan",
    "PlanError",
    "Repository",
    "Uncovered",
    "generate",
    "git_remote",
    "render",
]

COVERAGE_RULE = "image-not-covered-by-verification-policy"


def git_remote(path: Path) -> str | None:
    """`remote.origin.url` of the git work tree holding `path` (git run as the scan runs it:
    no hooks, no fetch, the user's PATH only), or None."""
    from kubeward.gitsource import GitBudget, GitError, _git, find_checkout

    try:
        checkout = find_checkout(path)
    except GitError:
        return None
    if checkout is None:
        return None
    code, out, _err, _cut = _git(
        ["config", "--get", "remote.origin.url"], cwd=checkout.toplevel, budget=GitBudget()
    )
    return out.strip() or None if code == 0 else None


def generate(paths: Sequence[Path], *, repository: Repository) -> tuple[Plan, int]:
    """The plan for the images of `paths`, and how many files could not be scanned."""
    from kubeward.engine import ScanOptions, scan_with_context
    from kubeward.model.policy import PolicyCoverage
    from kubeward.model.workflow import Workflow
    from kubeward.slsa import ImageBuild

    report, ctx = scan_with_context(paths, ScanOptions(only_rules=[COVERAGE_RULE], jobs=1))
    coverage = ctx.instances(PolicyCoverage)
    uses = coverage[0].images if coverage else ()
    return (
        plan(
            uses,
            ctx.instances(ImageBuild),
            ctx.instances(Workflow),
            repository,
            root=paths[0] if paths[0].is_dir() else paths[0].parent,
        ),
        len(report.errors),
    )
