"""excessive-permissions: token permissions broader than the job needs."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.workflow import Job, Workflow
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Layer, Severity, rule

# Steps that use the OIDC token or push packages (conservative: any third-party action may).
_OIDC_RUN = re.compile(
    r"\bcosign\b|ACTIONS_ID_TOKEN_REQUEST|--provenance|\bgetIDToken\b|sigstore"
    r"|\b(?:npm|pnpm|bun|yarn(?:\s+npm)?)\s+publish\b|\b(?:twine|uv|poetry)\s+(?:upload|publish)\b"
    r"|\bcargo\s+publish\b|\bgem\s+push\b|\bvault\b|\b(?:aws|gcloud|az)\b"
)
_PUSH_RUN = re.compile(
    r"\b(?:docker|podman|buildah|helm|crane|oras|skopeo)\b[^\n]*\b(?:push|login|copy|cp|publish)\b|\bko\b\s+(?:build|publish|resolve|apply)|ghcr\.io|npm\s+publish|\bgh\b|dotnet\s+nuget\s+push|mvn\b[^\n]*deploy|gradle\b[^\n]*publish"
)


def _only_plain_steps(job: Job) -> bool:
    """A job whose steps are `run:` scripts and GitHub's own basic actions (none of which
    reach for an OIDC token or a package registry by themselves)."""
    if job.uses is not None:
        return False
    for s in job.steps:
        if s.uses is None:
            continue
        a = s.uses.action
        if (
            s.uses.kind != "repo"
            or not a.startswith("actions/")
            or a.startswith(("actions/attest", "actions/github-script"))
        ):
            return False
    return True


@rule(
    id="excessive-permissions",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        "https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#permissions",
    ),
)
def excessive_permissions(wf: Workflow) -> Iterator[Finding]:
    """Token permissions broader than the job needs: `write-all`, or a write it never uses.

    `permissions: write-all` grants every scope. `id-token: write` lets any step mint an OIDC
    token for cloud roles and keyless signing; `packages: write` lets any step publish packages.
    A job whose steps are only `run:` scripts and GitHub's basic `actions/*` and that neither
    signs, attests, logs in to a registry nor pushes does not need those two (jobs calling
    other actions are given the benefit of the doubt).

    ## Why it matters
    The token's scope is the blast radius of any compromised step in the job.

    ## Remediation
    Grant per job only what it uses:

        permissions:
          contents: read
    """
    yield from _write_all(wf)
    yield from _unused_writes(wf)


def _write_all(wf: Workflow) -> Iterator[Finding]:
    """`permissions: write-all` on the workflow (when it reaches a job) or on a job."""
    scopes: list[tuple[YNode, str]] = []
    if wf.permissions is not None:
        scopes.append((wf.permissions, "workflow"))
    scopes += [(j.permissions, f"job {j.id}") for j in wf.jobs if j.permissions is not None]
    # A workflow-level grant reaches only the jobs without their own `permissions:`.
    workflow_reaches = any(j.permissions is None for j in wf.jobs) or wf.is_action
    for node, where in scopes:
        if where == "workflow" and not workflow_reaches:
            continue
        if node.is_scalar and (node.text or "").strip() == "write-all":
            yield Finding(
                node.span, f"{where} grants write-all: every scope of the GITHUB_TOKEN is writable"
            )


def _unused_writes(wf: Workflow) -> Iterator[Finding]:
    """`id-token: write` or `packages: write` that no step of the jobs it reaches uses."""
    workflow_grants: dict[str, tuple[YNode, list[tuple[str, bool]]]] = {}
    for job in wf.jobs:
        perms = job.effective_permissions()
        inherited = perms is not job.permissions
        if perms is None or not perms.is_map:
            continue
        run = "\n".join(s.run_text for s in job.steps)
        plain = _only_plain_steps(job)
        for scope, pattern in (("id-token", _OIDC_RUN), ("packages", _PUSH_RUN)):
            v = perms.get(scope)
            if v is None or (v.text or "").strip() != "write":
                continue
            unused = plain and not pattern.search(run)
            if inherited:
                # One finding on the workflow's grant, when no job it reaches uses it.
                workflow_grants.setdefault(scope, (v, []))[1].append((job.id, unused))
            elif unused:
                yield Finding(v.span, f"job {job.id} grants {scope}: write but no step uses it")
    for scope, (v, reached) in workflow_grants.items():
        if all(unused for _, unused in reached):
            names = ", ".join(j for j, _ in reached)
            yield Finding(
                v.span, f"the workflow grants {scope}: write to job(s) {names}, which do not use it"
            )
