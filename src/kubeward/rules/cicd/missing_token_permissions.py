"""missing-token-permissions: a workflow that leaves its token scope to the default."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.workflow import Workflow
from kubeward.registry import Finding, Layer, Related, Severity, rule


@rule(
    id="missing-token-permissions",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        "https://docs.github.com/en/actions/security-for-github-actions/security-guides/automatic-token-authentication#permissions-for-the-github_token",
    ),
)
def missing_token_permissions(wf: Workflow) -> Iterator[Finding]:
    """Workflow declares no `permissions:`, so its jobs get the default token scope.

    Without a `permissions:` block the `GITHUB_TOKEN` gets the repository's or organisation's
    default, which is read-write on every scope for repositories created before February 2023
    and for many organisations. A job without its own block and a workflow without a top-level
    one leaves that decision to a setting nobody reviews with the code. Reusable workflows
    (`on: workflow_call` only) are exempt: they get the caller's token, which is where to
    narrow it.

    ## Why it matters
    Any step compromised in such a job (an action, a dependency, an injected script) can push
    commits, publish releases and packages, and rewrite workflows with the token.

    ## Remediation
    Start from nothing at the top and grant each job what it needs:

        permissions: {}
        jobs:
          build:
            permissions:
              contents: read
    """
    if wf.is_action or wf.permissions is not None:
        return
    if set(wf.triggers) == {"workflow_call"}:
        return  # a reusable workflow gets its caller's token (it can only narrow it)
    bare = [j for j in wf.jobs if j.permissions is None]
    if not bare:
        return
    key = wf.node.key_node("jobs")
    span = key.span if key is not None else wf.on_span
    names = ", ".join(j.id for j in bare)
    yield Finding(
        span,
        f"no permissions: at workflow level and none on job(s) {names}: they run with the "
        "default GITHUB_TOKEN scope (possibly write-all)",
        related=tuple(Related(j.name_span, f"job {j.id} has no permissions:") for j in bare[:5]),
    )
