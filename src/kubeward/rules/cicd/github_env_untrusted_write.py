"""github-env-untrusted-write: event data an attacker writes reaches $GITHUB_ENV, $GITHUB_PATH
or $GITHUB_OUTPUT in a privileged-trigger workflow."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.workflow import PRIVILEGED_TRIGGERS, Job, Step, Workflow, expressions
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Layer, Related, Severity, rule
from kubeward.rules.cicd._github import GHA_SECURITY
from kubeward.rules.cicd.template_injection import attacker_contexts

# `>> $GITHUB_ENV`, `> "${GITHUB_PATH}"`, `| tee -a $GITHUB_OUTPUT`
_WRITE = re.compile(
    r"(?:>>?|\btee\s+(?:-a\s+)?)\s*[\"']?\$\{?(GITHUB_ENV|GITHUB_PATH|GITHUB_OUTPUT)\b"
)
_ASSIGN = re.compile(r"^\s*(?:export\s+|local\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
# A check that narrows a value before it is written: `[[ "$v" =~ ^[0-9]+$ ]]`, `case "$v" in`,
# `git check-ref-format --branch "$v"`.
_VALIDATES = re.compile(r"=~|\bcase\s+\S*\$|\bcheck-ref-format\b")


def _tainted_env(wf: Workflow, job: Job, step: Step) -> dict[str, str]:
    """Environment variables (workflow, job, step) set from an attacker-controlled context."""
    out: dict[str, str] = {}
    for env in (wf.env, job.env, step.env):
        if env is None or not env.is_map:
            continue
        for key, value in env.items():
            name = key.text or ""
            found = [c for e in expressions(wf.file, value) for c in attacker_contexts(e.text)]
            if found:
                out[name] = found[0]
            else:
                out.pop(name, None)  # an inner level redefines it
    return out


@rule(
    id="github-env-untrusted-write",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        GHA_SECURITY,
        "https://securitylab.github.com/resources/github-actions-untrusted-input/",
        "https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/workflow-commands-for-github-actions#environment-files",
    ),
)
def github_env_untrusted_write(wf: Workflow) -> Iterator[Finding]:
    """Privileged-trigger workflow writes attacker-controlled event data to an environment file.

    In a `pull_request_target`, `workflow_run` or `issue_comment` workflow (base repository
    token and secrets, for anyone's pull request or comment), a `run:` step appends to
    `$GITHUB_ENV`, `$GITHUB_PATH` or `$GITHUB_OUTPUT` a value that comes from the event: an
    environment variable set from an attacker-controlled context (`TITLE: ${{
    github.event.pull_request.title }}`, a branch name, a comment body), or a shell variable
    assigned from one (`msg=$(echo "$TITLE" | ...)`). The same context expanded inline in the
    script is `template-injection`'s finding; artifacts of the triggering run written there are
    `workflow-run-artifact-poisoning`'s. A variable validated before the write (`[[ "$v" =~
    ... ]]`, `case "$v" in`, `git check-ref-format --branch "$v"`) passes. `$GITHUB_ENV` and
    `$GITHUB_PATH` are high (a newline in the value adds any variable to every later step:
    `LD_PRELOAD`, `BASH_ENV`, `NODE_OPTIONS`, or a directory of the attacker's first on
    `PATH`); `$GITHUB_OUTPUT` is medium (it reaches whatever later reads the output).

    ## Why it matters
    Environment files are read by the runner after the step: one crafted pull request title
    turns into code execution in every later step of the job, with the job's secrets.

    ## Remediation
    Do not write event data to environment files in privileged workflows. If a value must
    pass between steps, validate it to a strict pattern first, and use it from `env:` where
    it is read:

        - run: |
            [[ "$TITLE" =~ ^[A-Za-z0-9\\ ._-]{1,80}$ ]] || exit 1
            echo "title=$TITLE" >> "$GITHUB_OUTPUT"
          env:
            TITLE: ${{ github.event.pull_request.title }}
    """
    triggers = sorted(t for t in PRIVILEGED_TRIGGERS if wf.has_trigger(t))
    if wf.is_action or not triggers:
        return
    trig = wf.triggers[triggers[0]]
    trig_rel = (Related(trig.span, f"triggered by {triggers[0]}"),) if trig is not None else ()
    for job in wf.jobs:
        for step in job.steps:
            if step.run is None or not step.run.is_scalar or "GITHUB_" not in step.run_text:
                continue
            tainted = _tainted_env(wf, job, step)
            if tainted:
                yield from _writes(wf, step, job=job, tainted=tainted, related=trig_rel)


def _writes(
    wf: Workflow, step: Step, *, job: Job, tainted: dict[str, str], related: tuple[Related, ...]
) -> Iterator[Finding]:
    run: YNode | None = step.run
    assert run is not None
    taint = dict(tainted)
    for line in step.run_text.split("\n"):
        used = [v for v in _VAR.findall(line) if v in taint]
        if used and _VALIDATES.search(line):  # validated: what is written is what was checked
            for v in used:
                taint.pop(v)
            continue
        m = _ASSIGN.match(line)
        if m and used and not _WRITE.search(line):  # msg=$(echo "$TITLE" | ...)
            taint[m.group(1)] = taint[used[0]]
            continue
        w = _WRITE.search(line)
        if w is None or not used:
            continue
        target = w.group(1)
        span = wf.file.find_span(line.strip(), first_line=run.start.line, last_line=run.end.line)
        yield Finding(
            span,
            f"job {job.id} writes ${used[0]} (from {taint[used[0]]}) to ${target} in "
            f"{step.label}: whoever sets that field controls the job's later steps",
            related=related,
            severity=Severity.MEDIUM if target == "GITHUB_OUTPUT" else None,
            properties={"file": target, "context": taint[used[0]]},
        )
