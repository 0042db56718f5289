"""workflow-run-artifact-poisoning: a `workflow_run` workflow executes the triggering run's
artifacts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kubeward.model.workflow import Job, Step, Workflow
from kubeward.registry import Finding, Layer, Related, Severity, rule

_ROOT_PATHS = frozenset({"", ".", "./", "${{github.workspace}}", "$GITHUB_WORKSPACE"})
# Commands that run what the workspace holds (build files a root-extracted artifact overwrites).
_RUNS_WORKSPACE = re.compile(
    r"(?:^|[;&|(])[ \t]*(?:sudo\s+(?:-\S+\s+)*)?(?:"
    r"\./[\w.-][^\s;&|)]*"
    r"|(?:ba|z)?sh\s+(?!-c\b)[\w./-]+|source\s+\S+|\.\s+[\w./-]+"
    r"|python3?\s+(?!-[cm]\b)[\w./-]+\.py|node\s+[\w./-]+\.m?js"
    r"|make\b|npm\s+(?:install|ci|run|test|start)\b|yarn\b|pnpm\s+(?:install|run|test)\b"
    r"|pip3?\s+install\s+(?:-r\s+\S+|-e\s+\S+|\.(?:\s|$))|go\s+(?:run|generate|test)\b"
    r"|mvn\b|\./gradlew\b|gradle\b|cargo\s+(?:build|run|test)\b"
    r")",
    re.M,
)
_TO_ENV = re.compile(r">>\s*\"?\$\{?GITHUB_(?:ENV|PATH)\b")


def _download_from_run(step: Step) -> tuple[str, str] | None:
    """(how, destination path) when the step downloads artifacts of the triggering run."""
    u = step.uses
    if u is not None and u.is_action("actions/download-artifact"):
        run_id = step.input_str("run-id") or ""
        if "workflow_run" in run_id:
            return "actions/download-artifact", (step.input_str("path") or "")
        return None
    if u is not None and u.is_action("dawidd6/action-download-artifact"):
        return "dawidd6/action-download-artifact", step.input_str("path") or ""
    if u is not None and u.is_action("actions/github-script"):
        script = step.input_str("script") or ""
        if "downloadArtifact" in script and "workflow_run" in script:
            return "actions/github-script downloadArtifact", ""
        return None
    m = re.search(r"\bgh\s+run\s+download\b[^\n]*", step.run_text)
    if m is not None:
        d = re.search(r"(?:-D|--dir)[= ]\s*(\S+)", m.group(0))
        return "gh run download", d.group(1) if d else ""
    return None


def _executes(text: str, path: str) -> re.Match[str] | None:
    """Where a script runs something from `path` (the workspace root when `path` is root)."""
    text = re.sub(r"\$\{\{\s*github\.workspace\s*\}\}/?", "", text)
    if path in _ROOT_PATHS:
        return _RUNS_WORKSPACE.search(text) or _TO_ENV.search(text)
    p = re.escape(path.strip("'\"").removeprefix("./").rstrip("/"))
    target = rf"['\"]?(?:\./)?{p}/[^\s;&|)'\"]+"
    # Run by an interpreter anywhere, or as the command itself (reading it with cat/jq is data).
    use = re.compile(
        rf"\b(?:(?:ba|z)?sh|source|python3?|node|perl|ruby|chmod\s+\+x)\s+{target}"
        rf"|(?:^|[;&|(])[ \t]*(?:\.\s+)?{target}",
        re.M,
    )
    m = use.search(text)
    if m is not None:
        return m
    line = next((ln for ln in text.splitlines() if p and re.search(p, ln)), None)
    if line is not None and _TO_ENV.search(line):
        return re.search(re.escape(line.strip()), text)
    return None


@rule(
    id="workflow-run-artifact-poisoning",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        "https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/",
        "https://github.com/actions/download-artifact#download-artifacts-from-other-workflow-runs-or-repositories",
    ),
)
def workflow_run_artifact_poisoning(wf: Workflow) -> Iterator[Finding]:
    """`workflow_run` workflow downloads the triggering run's artifacts, then executes them.

    A `workflow_run` workflow runs with the base repository's token and secrets after another
    workflow finishes, including a `pull_request` run from a fork. The artifacts of that run
    were written by the fork's code: downloading them (`actions/download-artifact` with
    `run-id: ${{ github.event.workflow_run.id }}`, `dawidd6/action-download-artifact`,
    `gh run download`, `github-script`'s `downloadArtifact`) is safe only while they stay data.
    Running a script from the artifact, or extracting it into the workspace root and then
    running a build (`make`, `npm install`, `./script`: the artifact may overwrite those files),
    or appending it to `$GITHUB_ENV`, runs the fork's code with the privileges.

    ## Why it matters
    This is the pwn-request pattern through artifacts: a pull request from any GitHub user
    gets the privileged workflow's secrets and write token.

    ## Remediation
    Download into a dedicated directory outside the checkout, treat the content as untrusted
    data (validate it, e.g. a PR number with a regular expression), and never execute it:

        - uses: actions/download-artifact@<sha> # v4
          with:
            run-id: ${{ github.event.workflow_run.id }}
            github-token: ${{ github.token }}
            path: ${{ runner.temp }}/artifacts
        - run: |
            pr=$(cat "$RUNNER_TEMP/artifacts/pr-number")
            [[ "$pr" =~ ^[0-9]+$ ]] || exit 1
    """
    if wf.is_action or not wf.has_trigger("workflow_run"):
        return
    trig = wf.triggers["workflow_run"]
    trig_rel = (Related(trig.span, "triggered by workflow_run"),) if trig is not None else ()
    for job in wf.jobs:
        download: _Download | None = None
        for step in job.steps:
            got = _download_from_run(step)
            if got is not None:
                download = _Download(step, *got)
                if step.run is None:
                    continue
            if download is None:
                continue
            rel = (Related(download.step.node.span, f"{download.how} into {download.where}"),)
            yield from _runs_local_action(job, step, download=download, related=rel + trig_rel)
            yield from _runs_artifact_script(
                wf, step, job=job, download=download, related=rel + trig_rel
            )


@dataclass(frozen=True, slots=True)
class _Download:
    """A step that downloads the triggering run's artifacts: how, and into which path."""

    step: Step
    how: str
    path: str

    @property
    def where(self) -> str:
        return "the workspace root" if self.path in _ROOT_PATHS else self.path


def _runs_local_action(
    job: Job, step: Step, *, download: _Download, related: tuple[Related, ...]
) -> Iterator[Finding]:
    """A local action run from where the artifacts were extracted."""
    if step.uses is None or step.uses.kind != "local":
        return
    local = step.uses.text.removeprefix("./")
    path = download.path
    if path in _ROOT_PATHS or local.startswith(path.removeprefix("./").rstrip("/")):
        yield Finding(
            step.uses.span or step.node.span,
            f"job {job.id} runs the local action {step.uses.text} after {download.how} "
            f"extracted the triggering run's artifacts into {download.where}",
            related=related,
        )


def _runs_artifact_script(
    wf: Workflow, step: Step, *, job: Job, download: _Download, related: tuple[Related, ...]
) -> Iterator[Finding]:
    """A `run:` script that executes what the artifacts hold (after the download, when it is
    the script that downloads them)."""
    if step.run is None or (step is download.step and "gh run download" not in download.how):
        return
    text = step.run_text
    skipped = 0  # lines of the script before the part searched
    if step is download.step:
        after = text.find("\n", text.find("gh run download"))
        skipped = text[: after + 1].count("\n") if after >= 0 else len(text)
        text = text[after + 1 :] if after >= 0 else ""
    m = _executes(text, download.path)
    if m is None:
        return
    needle = m.group(0).lstrip(";&|( \t\n").split("\n", 1)[0].strip()
    # The line of the match: block scalars (`|`, `>`) start on the line after the key.
    block = wf.file.text[step.run.start.offset : step.run.start.offset + 1] in "|>"
    line = step.run.start.line + int(block) + skipped
    line += text[: m.start() + len(m.group(0)) - len(m.group(0).lstrip(";&|( \t\n"))].count("\n")
    span = wf.file.find_span(needle, first_line=line, last_line=step.run.end.line)
    yield Finding(
        span,
        f"job {job.id} runs `{needle}` after {download.how} put the triggering run's artifacts "
        f"in {download.where}; a fork's pull request can write those artifacts",
        related=related,
    )
