"""dangerous-trigger-checkout: a privileged-trigger workflow checks out the pull request head."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.workflow import PRIVILEGED_TRIGGERS, Job, Step, Workflow
from kubeward.registry import Finding, Layer, Related, Severity, rule

_HEAD_REF = re.compile(
    r"github\.event\.pull_request\.head\.(?:sha|ref)|github\.head_ref"
    r"|github\.event\.pull_request\.merge_commit_sha|github\.event\.workflow_run\.head_(?:sha|branch)"
    r"|github\.event\.pull_request\.number|github\.event\.number"
)
# One shell command of a `run:` script: split at newlines, `;`, `&&`, `||` and pipes.
_COMMAND_SPLIT = re.compile(r"\n|;|&&|\|\|?")
# A git command that brings code into the work tree, with its arguments.
_GIT = re.compile(
    r"^(?:sudo\s+)?git\s+(?:-C\s+\S+\s+|-c\s+\S+\s+)*"
    r"(fetch|pull|checkout|switch|worktree\s+add|reset|clone)\b(.*)$"
)
_GH_PR_CHECKOUT = re.compile(r"^(?:sudo\s+)?gh\s+pr\s+checkout\b")
# What names the pull request head among a git command's arguments: a `pull/N/head` refspec
# (`refs/pull/`, `pull/` after a remote) or an expression for the head.
_HEAD_ARG = re.compile(
    r"(?:^|[\s:+'\"])(?:refs/)?pull/"
    r"|\$\{\{\s*github\.(?:head_ref|event\.(?:pull_request|workflow_run)\.head)"
)


@rule(
    id="dangerous-trigger-checkout",
    layer=Layer.BUILD,
    severity=Severity.CRITICAL,
    references=(
        "https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/",
        "https://docs.github.com/en/actions/writing-workflows/choosing-when-your-workflow-runs/events-that-trigger-workflows#pull_request_target",
    ),
)
def dangerous_trigger_checkout(wf: Workflow) -> Iterator[Finding]:
    """Privileged-trigger workflow checks out the untrusted pull request head.

    `pull_request_target`, `workflow_run` and `issue_comment` run in the base repository's
    context, with a write token and secrets, even for pull requests from forks (`issue_comment`
    for a comment on any pull request: the usual `/ok-to-test` bot). Checking out the PR head
    (`ref: ${{ github.event.pull_request.head.sha }}`,
    `gh pr checkout`, `git fetch origin pull/N/head`, `refs/pull/N/merge`) and then building
    or testing it runs the fork's code with those privileges: a "pwn request". In `run:`
    scripts only the commands that bring code in are read (`git fetch`, `pull`, `checkout`,
    `switch`, `reset`, `worktree add`, `clone`, and `gh pr checkout`): `refs/pull/` in an
    image name, a URL or an `echo` is not a checkout. A `pull_request_target` workflow that
    only labels or comments, without the head's code, is not flagged.

    ## Why it matters
    Any GitHub user can open a pull request; the build scripts, tests and tool configuration
    of the checked-out head then run with the repository's secrets.

    ## Remediation
    Build untrusted code under `pull_request` (no secrets, read-only token) and pass results to
    a privileged `workflow_run` workflow as data (artifacts you parse, never execute). If the
    head must be checked out, do not run anything from it and set `persist-credentials: false`.
    """
    triggers = sorted(t for t in PRIVILEGED_TRIGGERS if wf.has_trigger(t))
    if wf.is_action or not triggers:
        return
    trig = wf.triggers[triggers[0]]
    related = (Related(trig.span, f"triggered by {triggers[0]}"),) if trig is not None else ()
    for job in wf.jobs:
        for step in job.steps:
            where = f"in a {triggers[0]} workflow"
            if step.uses is not None and step.uses.is_action("actions/checkout"):
                yield from _checkout_of_head(step, job=job, where=where, related=related)
            elif step.run is not None:
                yield from _fetch_of_head(wf, step, job=job, where=where, related=related)


def _checkout_of_head(
    step: Step, *, job: Job, where: str, related: tuple[Related, ...]
) -> Iterator[Finding]:
    """`actions/checkout` whose `ref:` or `repository:` names the pull request head."""
    for key in ("ref", "repository"):
        n = step.input(key)
        if n is None or not n.is_scalar:
            continue
        text = n.text or ""
        if (
            _HEAD_REF.search(text)
            or "refs/pull/" in text
            or (key == "repository" and "head.repo" in text)
        ):
            yield Finding(
                n.span,
                f"job {job.id} checks out the untrusted head ({key}: {text.strip()}) {where}",
                related=related,
            )
            return


def _fetch_of_head(
    wf: Workflow, step: Step, *, job: Job, where: str, related: tuple[Related, ...]
) -> Iterator[Finding]:
    """A `run:` script with a git command (or `gh pr checkout`) that fetches or checks out the
    pull request head. Only commands that bring code in count: `refs/pull/` in an image name,
    a URL or an `echo` is not a checkout."""
    if step.run is None:
        return
    for command in _COMMAND_SPLIT.split(step.run_text):
        command = command.strip()
        git = _GIT.match(command)
        if not (_GH_PR_CHECKOUT.match(command) or (git and _HEAD_ARG.search(git.group(2)))):
            continue
        span = wf.file.find_span(
            command, first_line=step.run.start.line, last_line=step.run.end.line
        )
        yield Finding(
            span, f"job {job.id} fetches the untrusted pull request head {where}", related=related
        )
        return
