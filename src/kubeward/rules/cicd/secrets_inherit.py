"""secrets-inherit: a reusable workflow called with `secrets: inherit`."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.workflow import Job
from kubeward.registry import Finding, Layer, Severity, rule


@rule(
    id="secrets-inherit",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        "https://docs.github.com/en/actions/sharing-automations/reusing-workflows#passing-inputs-and-secrets-to-a-reusable-workflow",
    ),
)
def secrets_inherit(job: Job) -> Iterator[Finding]:
    """Reusable workflow is called with `secrets: inherit`.

    `inherit` hands every secret of the calling repository (and organisation) to the called
    workflow, whatever it needs. A change to that workflow, or to any action it calls, can then
    read all of them.

    ## Why it matters
    Least privilege for secrets: the blast radius of the called workflow becomes every secret
    you hold, not the one or two it uses.

    ## Remediation
    Pass the secrets the workflow declares, by name:

        uses: ./.github/workflows/deploy.yml
        secrets:
          DEPLOY_TOKEN: ${{ secrets.DEPLOY_TOKEN }}
    """
    s = job.node.get("secrets")
    if (
        job.uses is not None
        and s is not None
        and s.is_scalar
        and (s.text or "").strip() == "inherit"
    ):
        yield Finding(s.span, f"job {job.id} passes every secret to {job.uses.text}")
