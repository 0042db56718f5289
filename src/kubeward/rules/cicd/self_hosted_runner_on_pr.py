"""self-hosted-runner-on-pr: a self-hosted runner runs jobs triggered by pull requests."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.workflow import PR_TRIGGERS, Job
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._github import GHA_SECURITY


@rule(
    id="self-hosted-runner-on-pr",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(GHA_SECURITY + "#hardening-for-self-hosted-runners",),
)
def self_hosted_runner_on_pr(job: Job) -> Iterator[Finding]:
    """Self-hosted runner runs jobs triggered by pull requests.

    A pull request (or a comment on one) from anyone runs code on the self-hosted machine.
    Unlike GitHub-hosted runners, self-hosted ones are usually not ephemeral: the code can
    persist on the machine, read other jobs' secrets and caches, and reach the internal network.

    ## Why it matters
    GitHub advises never to use self-hosted runners with public repositories; the same holds
    for any workflow outsiders can trigger.

    ## Remediation
    Run pull-request jobs on GitHub-hosted runners, or on ephemeral, isolated self-hosted
    runners (one VM per job, `--ephemeral`) in a runner group restricted to trusted workflows:

        runs-on: ubuntu-24.04
    """
    wf = job.workflow
    trig = [t for t in PR_TRIGGERS if wf.has_trigger(t)]
    if wf.is_action or not trig or not job.is_self_hosted:
        return
    labels = job.runner_labels()
    node = next((n for t, n in labels if t.lower() == "self-hosted"), labels[0][1])
    yield Finding(
        node.span,
        f"job {job.id} runs on a self-hosted runner and is triggered by {sorted(trig)[0]}",
    )
