"""gitlab-script-injection: merge-request or commit text parsed again as code in a GitLab script."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.cicd._shell import ShellScript

# GitLab variables whoever pushes a branch or opens a merge request chooses.
GITLAB_ATTACKER_VARS = (
    "CI_MERGE_REQUEST_TITLE",
    "CI_MERGE_REQUEST_DESCRIPTION",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
    "CI_COMMIT_MESSAGE",
    "CI_COMMIT_TITLE",
    "CI_COMMIT_DESCRIPTION",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_TAG",
    "CI_COMMIT_TAG_MESSAGE",
    "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME",
    "CI_COMMIT_AUTHOR",
    "GITLAB_USER_NAME",
    "CI_MERGE_REQUEST_LABELS",
    "CI_MERGE_REQUEST_MILESTONE",
)
_VAR_RE = re.compile(r"\$\{?(" + "|".join(GITLAB_ATTACKER_VARS) + r")\b\}?")
# Commands that parse their string argument again as code.
_REPARSE = re.compile(
    r"\beval\b|\b(?:ba|z|da)?sh\s+-c\b|\b(?:python3?|perl|ruby)\s+-[ce]\b|\bnode\s+-e\b|\bssh\b"
)


@rule(
    id="gitlab-script-injection",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=("https://docs.gitlab.com/ci/variables/predefined_variables/",),
)
def gitlab_script_injection(script: ShellScript) -> Iterator[Finding]:
    """Merge-request or commit text reaches a command that parses it again as code.

    GitLab passes `$CI_MERGE_REQUEST_TITLE`, `$CI_COMMIT_MESSAGE`, `$CI_COMMIT_BRANCH` and
    friends to the shell as environment variables, which is safe when quoted
    (`"$CI_COMMIT_MESSAGE"`).
    It turns into code injection when the value is handed to something that parses it again:
    `eval`, `sh -c "...$VAR..."`, `python -c`, `node -e`, or a remote `ssh` command line.
    Plain uses are not flagged.

    ## Why it matters
    Whoever opens a merge request or pushes a branch chooses these values; the job runs with
    its CI/CD variables and the job token.

    ## Remediation
    Keep the value data: pass it as an argument or through the environment of the inner
    program, never inside code text:

        python -c 'import os; print(os.environ["CI_COMMIT_MESSAGE"])'
    """
    if script.system != "gitlab":
        return
    text = script.text
    if not _REPARSE.search(text):
        return
    for m in _VAR_RE.finditer(text):
        # Single-quoted for an inner program that reads the environment is fine.
        before = text[: m.start()]
        if before.count("'") % 2 == 1 and "eval" not in before:
            continue
        yield Finding(
            script.span_of(m.start(), m.end()),
            f"${m.group(1)} is parsed again as code in {script.where}",
        )
