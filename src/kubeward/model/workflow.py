"""GitHub Actions workflows and actions as typed views: workflows, jobs, steps, `uses:`, and the
`${{ }}` expressions inside every scalar, with exact spans.

Expression spans are found in the file's raw text between the scalar's start and end marks,
not in its decoded value: block scalars (`run: |`) strip indentation and folded or quoted
scalars rewrite line breaks and escapes, so offsets into the value do not map back to the file,
while the raw slice always does. An expression never contains a quote or block indicator that
YAML would rewrite, so the raw text and the value agree on what each expression says.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from kubeward.model.image import parse_image
from kubeward.model.images import ImageUse, image_source
from kubeward.parse.yamlnode import YNode
from kubeward.registry import instances_in, provider
from kubeward.source import FileKind, SourceFile, Span

_EXPR_RE = re.compile(r"\$\{\{(.*?)\}\}", re.S)
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_WS_RE = re.compile(r"\s+")

PR_TRIGGERS = frozenset(
    {
        "pull_request",
        "pull_request_target",
        "pull_request_review",
        "pull_request_review_comment",
        "issue_comment",
        "merge_group",
    }
)
# Triggers that run in the base repository's context (write token, secrets) for events
# outsiders can cause: a fork's pull request, a comment on one, or a run of another workflow.
PRIVILEGED_TRIGGERS = frozenset({"pull_request_target", "workflow_run", "issue_comment"})


@dataclass(frozen=True, slots=True)
class Expr:
    """One `${{ ... }}` expression: its inner text (whitespace collapsed) and its exact span."""

    text: str
    span: Span


def expressions(f: SourceFile, node: YNode | None) -> list[Expr]:
    """Every `${{ }}` expression inside a scalar node, located in the file's raw text."""
    if node is None or not node.is_scalar or "${{" not in str(node.value):
        return []
    start, end = node.start.offset, node.end.offset
    raw = f.text[start:end]
    out = []
    for m in _EXPR_RE.finditer(raw):
        inner = _WS_RE.sub(" ", m.group(1)).strip()
        out.append(Expr(inner, f.span(start + m.start(), start + m.end())))
    return out


@dataclass(frozen=True, slots=True)
class Uses:
    """A parsed `uses:` reference.

    kind: `local` (`./path`), `docker` (`docker://image`), or `repo` (`owner/repo[/path]@ref`).
    """

    text: str
    kind: str
    owner: str = ""
    repo: str = ""
    path: str = ""
    ref: str | None = None
    span: Span | None = None

    @property
    def action(self) -> str:
        """`owner/repo[/path]` in lower case (what matching compares); '' unless a repo action."""
        if self.kind != "repo":
            return ""
        base = f"{self.owner}/{self.repo}".lower()
        return f"{base}/{self.path}".lower() if self.path else base

    @property
    def is_sha_pinned(self) -> bool:
        return self.ref is not None and SHA_RE.match(self.ref) is not None

    def is_action(self, *names: str) -> bool:
        return self.kind == "repo" and self.action in names


def parse_uses(text: str, span: Span | None = None) -> Uses:
    t = text.strip()
    if t.startswith("./") or t.startswith(".\\") or t == ".":
        return Uses(t, "local", span=span)
    if t.startswith("docker://"):
        return Uses(t, "docker", path=t[len("docker://") :], span=span)
    name, at, ref = t.partition("@")
    parts = name.split("/", 2)
    owner = parts[0]
    repo = parts[1] if len(parts) > 1 else ""
    path = parts[2] if len(parts) > 2 else ""
    return Uses(t, "repo", owner, repo, path, ref if at else None, span)


@dataclass(eq=False)
class Workflow:
    """A workflow file (`.github/workflows/*`) or an action metadata file (`action.yml`)."""

    file: SourceFile
    node: YNode
    is_action: bool
    triggers: dict[str, YNode | None] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.file.rel

    @property
    def permissions(self) -> YNode | None:
        return self.node.get("permissions")

    @property
    def on_span(self) -> Span:
        k = self.node.key_node("on") or self.node.key_node("true")
        return k.span if k is not None else self.node.span

    def has_trigger(self, *names: str) -> bool:
        return any(n in self.triggers for n in names)

    @property
    def env(self) -> YNode | None:
        return self.node.get("env")


@dataclass(eq=False)
class Job:
    """A job of a workflow (for an action file: one pseudo-job holding its `runs.steps`)."""

    workflow: Workflow
    id: str
    key: YNode
    node: YNode
    steps: list[Step] = field(default_factory=list)
    uses: Uses | None = None  # a reusable workflow call

    @property
    def file(self) -> SourceFile:
        return self.workflow.file

    @property
    def permissions(self) -> YNode | None:
        return self.node.get("permissions")

    def effective_permissions(self) -> YNode | None:
        """The job's own `permissions:`, else the workflow's."""
        p = self.permissions
        return p if p is not None else self.workflow.permissions

    def permission(self, scope: str) -> str | None:
        """`read`/`write`/`none` for one scope as the job gets it (None: not declared)."""
        p = self.effective_permissions()
        if p is None:
            return None
        if p.is_scalar:
            v = (p.text or "").strip()
            if v == "write-all":
                return "write"
            if v == "read-all":
                return "read"
            return None
        got = p.get_str(scope)
        return got.strip() if got else "none"

    @property
    def runs_on(self) -> YNode | None:
        return self.node.get("runs-on")

    def runner_labels(self) -> list[tuple[str, YNode]]:
        r = self.runs_on
        if r is None:
            return []
        if r.is_scalar:
            return [(r.text or "", r)]
        if r.is_seq:
            return [(n.text or "", n) for n in r.seq() if n.is_scalar]
        if r.is_map:
            labels = r.get("labels")
            out = [(n.text or "", n) for n in (labels.seq() if labels and labels.is_seq else [])]
            if labels is not None and labels.is_scalar:
                out.append((labels.text or "", labels))
            group = r.get("group")
            if group is not None:
                out.append(("group:" + (group.text or ""), group))
            return out
        return []

    @property
    def runner_kind(self) -> str:
        """`self-hosted`, `github-hosted`, or `unknown` (an expression, or a runner group
        alone: groups hold self-hosted runners and GitHub-hosted larger runners alike)."""
        labels = [t.lower() for t, _ in self.runner_labels()]
        plain = [t for t in labels if not t.startswith("group:")]
        if not labels or any("${{" in t for t in labels):
            return "unknown"
        if "self-hosted" in plain:
            return "self-hosted"
        if any(t.startswith(("ubuntu-", "windows-", "macos-")) for t in plain):
            return "github-hosted"
        return "self-hosted" if plain else "unknown"

    @property
    def is_self_hosted(self) -> bool:
        return self.runner_kind == "self-hosted"

    @property
    def env(self) -> YNode | None:
        return self.node.get("env")

    @property
    def name_span(self) -> Span:
        return self.key.span


@dataclass(eq=False)
class Step:
    """One step of a job or a composite action."""

    job: Job
    index: int
    node: YNode
    uses: Uses | None
    run: YNode | None

    @property
    def file(self) -> SourceFile:
        return self.job.file

    @property
    def workflow(self) -> Workflow:
        return self.job.workflow

    @property
    def with_(self) -> YNode | None:
        w = self.node.get("with")
        return w if w is not None and w.is_map else None

    def input(self, key: str) -> YNode | None:
        w = self.with_
        return w.get(key) if w is not None else None

    def input_str(self, key: str) -> str | None:
        n = self.input(key)
        return n.text if n is not None else None

    @property
    def env(self) -> YNode | None:
        return self.node.get("env")

    @property
    def id(self) -> str | None:
        return self.node.get_str("id")

    @property
    def label(self) -> str:
        name = self.node.get_str("name")
        if name:
            return f"step '{name}'"
        if self.uses is not None:
            return f"step {self.index + 1} ({self.uses.text})"
        return f"step {self.index + 1}"

    @property
    def continue_on_error(self) -> bool:
        n = self.node.get("continue-on-error")
        return n is not None and n.bool is True

    @property
    def run_text(self) -> str:
        return (self.run.text or "") if self.run is not None else ""


def _triggers(node: YNode | None) -> dict[str, YNode | None]:
    if node is None:
        return {}
    if node.is_scalar:
        return {node.text or "": node}
    if node.is_seq:
        return {n.text or "": n for n in node.seq() if n.is_scalar}
    if node.is_map:
        return {str(k.value): v for k, v in node.items() if k.is_scalar}
    return {}


def _steps(job: Job, seq: YNode | None) -> list[Step]:
    out = []
    for i, s in enumerate(seq.seq() if seq is not None else []):
        if not s.is_map:
            continue
        u = s.get("uses")
        uses = (
            parse_uses(u.text or "", u.span) if u is not None and u.is_scalar and u.text else None
        )
        out.append(Step(job, i, s, uses, s.get("run")))
    return out


def parse_workflow(f: SourceFile) -> Workflow | None:
    if f.kind not in (FileKind.GHA_WORKFLOW, FileKind.GHA_ACTION) or not f.documents:
        return None
    doc = f.documents[0]
    if not doc.is_map:
        return None
    wf = Workflow(f, doc, f.kind is FileKind.GHA_ACTION)
    if wf.is_action:
        runs = doc.get("runs")
        if runs is not None and runs.is_map:
            key = doc.key_node("runs") or doc
            job = Job(wf, "runs", key, runs)
            job.steps = _steps(job, runs.get("steps"))
            wf.jobs.append(job)
        return wf
    on = doc.get("on")
    if on is None:
        on = doc.get("true")  # `on` written unquoted in a YAML 1.1 mapping key
    wf.triggers = _triggers(on)
    jobs = doc.get("jobs")
    if jobs is not None and jobs.is_map:
        for k, v in jobs.items():
            if not k.is_scalar or not v.is_map:
                continue
            job = Job(wf, str(k.value), k, v)
            u = v.get("uses")
            if u is not None and u.is_scalar and u.text:
                job.uses = parse_uses(u.text, u.span)
            job.steps = _steps(job, v.get("steps"))
            wf.jobs.append(job)
    return wf


@provider(Workflow)
def workflows(f: SourceFile) -> Iterator[Workflow]:
    wf = parse_workflow(f)
    if wf is not None:
        yield wf


@provider(Job)
def jobs(f: SourceFile) -> Iterator[Job]:
    for wf in instances_in(f, Workflow):
        yield from wf.jobs


@provider(Step)
def steps(f: SourceFile) -> Iterator[Step]:
    for job in instances_in(f, Job):
        yield from job.steps


def _image_node(n: YNode | None) -> YNode | None:
    if n is not None and n.is_map:
        n = n.get("image")
    return n if n is not None and n.is_scalar and n.text else None


@image_source
def workflow_images(f: SourceFile) -> Iterator[ImageUse]:
    """Job `container:` and `services:` images of GitHub workflows (judged by the image rules)."""
    for job in instances_in(f, Job):
        node = _image_node(job.node.get("container"))
        if node is not None:
            yield ImageUse(
                ref=parse_image(node.text or ""),
                span=node.span,
                origin="github-container",
                where=f"container of job {job.id}",
            )
        services = job.node.get("services")
        for name, svc in services.items() if services is not None else ():
            node = _image_node(svc)
            if node is not None:
                yield ImageUse(
                    ref=parse_image(node.text or ""),
                    span=node.span,
                    origin="github-service",
                    where=f"service {name.value} of job {job.id}",
                )
