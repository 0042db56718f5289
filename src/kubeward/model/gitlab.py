"""GitLab CI pipelines: jobs, script lines, `image:`/`services:`, `include:`.

A pipeline is a `.gitlab-ci.yml` and the local files it includes (`include: local:` or a bare
path), resolved inside the scan. Jobs are read from every file of the pipeline; hidden jobs
(`.name`, templates for `extends:`) are kept, since their scripts run wherever they are
extended. `extends:` is merged for the pipeline view (`resolve_extends`): a job gets the
top-level keys it does not set from its templates, nearest first (GitLab merges hashes
deeply; one level is what the rules read). `!reference` tags are not followed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kubeward.model.image import parse_image
from kubeward.model.images import ImageUse, image_source
from kubeward.parse.yamlnode import YNode
from kubeward.registry import scan_provider
from kubeward.source import FileKind, SourceFile

if TYPE_CHECKING:
    from kubeward.scan_context import ScanContext

# Top-level keys that are not jobs.
RESERVED = frozenset(
    {
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "before_script",
        "after_script",
        "cache",
        "types",
        "spec",
    }
)
SCRIPT_KEYS = ("before_script", "script", "after_script")


@dataclass(eq=False)
class GitlabJob:
    """One job (or the `default:` / top-level defaults, as the pseudo-job `default`)."""

    file: SourceFile
    name: str
    key: YNode
    node: YNode
    pipeline: str  # rel path of the root .gitlab-ci.yml

    @property
    def hidden(self) -> bool:
        return self.name.startswith(".")

    def script_lines(self) -> Iterator[YNode]:
        """Every scalar command line of `before_script`, `script`, `after_script` (nested lists
        flattened, as GitLab does)."""
        for key in SCRIPT_KEYS:
            n = self.node.get(key)
            if n is None:
                continue
            stack = [n]
            while stack:
                cur = stack.pop(0)
                if cur.is_scalar and cur.text:
                    yield cur
                elif cur.is_seq and not is_reference(cur):  # unresolved: names, not commands
                    stack[0:0] = cur.seq()

    @property
    def image(self) -> YNode | None:
        """The image name node (`image: x` or `image: {name: x}`)."""
        return _image_name(self.node.get("image"))

    def services(self) -> Iterator[YNode]:
        s = self.node.get("services")
        for item in s.seq() if s is not None else []:
            n = _image_name(item)
            if n is not None:
                yield n

    @property
    def tags(self) -> list[str]:
        t = self.node.get("tags")
        if t is None or is_reference(t):
            return []
        return [n.text or "" for n in t.seq() if n.is_scalar]

    @property
    def id_tokens(self) -> YNode | None:
        return self.node.get("id_tokens")

    @property
    def allow_failure(self) -> bool:
        n = self.node.get("allow_failure")
        return n is not None and (n.bool is True or n.is_map)


def _image_name(n: YNode | None) -> YNode | None:
    if n is None:
        return None
    if n.is_map:
        n = n.get("name")
    return n if n is not None and n.is_scalar and n.text else None


def _extends(node: YNode) -> list[str]:
    e = node.get("extends")
    if e is None:
        return []
    return [n.text or "" for n in e.seq()] if e.is_seq else [e.text or ""]


# "The extends keyword supports up to eleven levels of inheritance" (GitLab's CI/CD YAML
# reference, `extends`).
_MAX_EXTENDS_DEPTH = 11

REFERENCE_TAG = "!reference"
_MAX_REFERENCE_DEPTH = 10  # GitLab's own nesting limit
_MAX_SPLICED = 100_000  # items `!reference`s may splice into the lists of one pipeline


def is_reference(n: YNode) -> bool:
    """A `!reference [job, key, ...]` tag (a tagged sequence to the YAML loader)."""
    return n.is_seq and n._tag == REFERENCE_TAG


def resolve_references(jobs: list[GitlabJob]) -> list[GitlabJob]:
    """Jobs with their `!reference [job, key, ...]` tags replaced by the nodes they name (from
    any job of the pipeline, hidden ones included). In a list, a reference to a list is spliced
    in, as GitLab does for `script:`. A reference that names nothing is left as it is."""
    by_name = {j.name: j for j in jobs}
    # Each node is resolved once per depth, and splicing stops at a budget: references that
    # each splice several references in grow exponentially (8 per level, 7 levels: 16 s).
    memo: dict[tuple[int, int], YNode] = {}
    spliced = 0

    def lookup(ref: YNode, depth: int) -> YNode | None:
        path = [x.text for x in ref.seq()]
        if not path or not all(p and isinstance(p, str) for p in path):
            return None
        job = by_name.get(str(path[0]))
        n: YNode | None = job.node if job is not None else None
        for key in path[1:]:
            n = n.get(str(key)) if n is not None and n.is_map else None
        return resolve(n, depth + 1) if n is not None else None

    def resolve(n: YNode, depth: int) -> YNode:
        if depth > _MAX_REFERENCE_DEPTH or n.is_scalar:
            return n
        key = (id(n), depth)
        got = memo.get(key)
        if got is None:
            got = memo[key] = _resolve(n, depth)
        return got

    def _resolve(n: YNode, depth: int) -> YNode:
        nonlocal spliced
        if is_reference(n):
            return lookup(n, depth) or n
        if n.is_seq:
            items: list[YNode] = []
            for it in n.seq():
                got = lookup(it, depth) if is_reference(it) else None
                if got is not None and got.is_seq:
                    if spliced + len(got.seq()) > _MAX_SPLICED:
                        items.append(it)  # over the budget: the reference stays as written
                        continue
                    spliced += len(got.seq())
                    items.extend(got.seq())
                else:
                    items.append(got or resolve(it, depth))
            orig = n.seq()
            if len(items) == len(orig) and all(a is b for a, b in zip(items, orig, strict=True)):
                return n
            out = copy.copy(n)
            out.value = items
            return out
        if n.is_map:
            pairs = [(k, resolve(v, depth)) for k, v in n.items()]
            if all(v is w for (_, v), (_, w) in zip(pairs, n.items(), strict=True)):
                return n
            out = copy.copy(n)
            out.value = pairs
            return out
        return n

    def uses(n: YNode) -> bool:
        return any(is_reference(x) for x in n.walk())

    return [
        GitlabJob(j.file, j.name, j.key, resolve(j.node, 0), j.pipeline)
        if REFERENCE_TAG in j.file.text and uses(j.node)
        else j
        for j in jobs
    ]


def resolve_extends(jobs: list[GitlabJob]) -> list[GitlabJob]:
    """Jobs with the keys they inherit through `extends:` merged in (cycles cut), then their
    `!reference` tags resolved."""
    by_name = {j.name: j for j in jobs}
    # Each (job, level) is merged once: templates that each extend the two before them made
    # this exponential (28 of them: 12 s). Levels stop at GitLab's own limit.
    memo: dict[tuple[str, int], YNode] = {}

    def merged(job: GitlabJob, seen: frozenset[str], level: int) -> YNode:
        got = memo.get((job.name, level))
        if got is not None:
            return got
        parents = [by_name[n] for n in _extends(job.node) if n in by_name and n not in seen]
        if not parents or level >= _MAX_EXTENDS_DEPTH:
            memo[(job.name, level)] = job.node
            return job.node
        pairs = list(job.node.items())
        have = {str(k.value) for k, _ in pairs if k.is_scalar}
        # The last template listed wins in GitLab; so look at them from last to first.
        for parent in reversed(parents):
            for k, v in merged(parent, seen | {job.name}, level + 1).items():
                if k.is_scalar and str(k.value) not in have and k.value != "extends":
                    pairs.append((k, v))
                    have.add(str(k.value))
        out = copy.copy(job.node)  # the job's own node (position, tag) with the merged pairs
        out.value = pairs
        memo[(job.name, level)] = out
        return out

    return resolve_references(
        [
            GitlabJob(j.file, j.name, j.key, merged(j, frozenset(), 0), j.pipeline)
            if _extends(j.node)
            else j
            for j in jobs
        ]
    )


def looks_like_gitlab(f: SourceFile) -> bool:
    """A `.gitlab-ci.yml`, or a plain YAML file shaped like one (jobs with `script:`)."""
    if f.kind is FileKind.GITLAB_CI:
        return True
    if f.kind is not FileKind.YAML or "script" not in f.text or not f.documents:
        return False
    doc = f.documents[0]
    if not doc.is_map or doc.get("apiVersion") is not None or doc.get("kind") is not None:
        return False
    return any(v.is_map and v.get("script") is not None for _, v in doc.items())


def jobs_in(f: SourceFile, pipeline: str) -> list[GitlabJob]:
    out: list[GitlabJob] = []
    for doc in f.documents:
        if not doc.is_map:
            continue
        for k, v in doc.items():
            if not k.is_scalar or not v.is_map:
                continue
            name = str(k.value)
            if name == "default" or name not in RESERVED:
                out.append(GitlabJob(f, name, k, v, pipeline))
        # Top-level (deprecated) defaults: image, services, before_script...
        if any(doc.get(key) is not None for key in ("image", "services", *SCRIPT_KEYS)):
            out.append(GitlabJob(f, "<top level>", doc, doc, pipeline))
    return out


def includes(f: SourceFile) -> Iterator[tuple[str, YNode]]:
    """(kind, node) for each `include:` entry: kind is local, project, remote, template or
    component; node is the entry (a scalar for the short form, else the mapping)."""
    for doc in f.documents:
        inc = doc.get("include") if doc.is_map else None
        if inc is None:
            continue
        for item in inc.seq() if inc.is_seq else [inc]:
            if item.is_scalar and item.text:
                t = item.text
                yield ("remote" if t.startswith(("http://", "https://")) else "local"), item
            elif item.is_map:
                for kind in ("local", "project", "remote", "template", "component"):
                    if item.get(kind) is not None:
                        yield kind, item
                        break


def local_include_paths(f: SourceFile) -> list[str]:
    out = []
    for kind, node in includes(f):
        if kind != "local":
            continue
        path = node.text if node.is_scalar else node.get_str("local")
        if path and "*" not in path and "$" not in path:
            out.append(path.lstrip("/"))
    return out


def pipeline_files(ctx: ScanContext, root: SourceFile) -> list[SourceFile]:
    """The root file and the local files it includes (transitively), found in the scan."""
    prefix = _scan_prefix(root)
    seen = {root.rel}
    out = [root]
    queue = [root]
    while queue:
        cur = queue.pop(0)
        for path in local_include_paths(cur):
            rel = prefix + path
            if rel in seen:
                continue
            seen.add(rel)
            got = ctx.file(rel)
            if got is not None and got.documents:
                out.append(got)
                queue.append(got)
    return out


def _scan_prefix(root: SourceFile) -> str:
    """Include paths are relative to the repository root: the directory of `.gitlab-ci.yml`."""
    return root.rel.rsplit("/", 1)[0] + "/" if "/" in root.rel else ""


def _pipelines(ctx: ScanContext) -> Iterator[tuple[SourceFile, list[SourceFile]]]:
    """Each `.gitlab-ci.yml` of the scan with the pipeline files no earlier root has reached:
    a file that two pipelines include is read once."""
    done: set[str] = set()
    for f in ctx.files:
        if f.kind is not FileKind.GITLAB_CI or not f.documents:
            continue
        fresh = []
        for pf in pipeline_files(ctx, f):
            if pf.rel not in done:
                done.add(pf.rel)
                fresh.append(pf)
        yield f, fresh


@scan_provider(GitlabJob)
def gitlab_jobs(ctx: ScanContext) -> Iterator[GitlabJob]:
    for root, files in _pipelines(ctx):
        yield from resolve_extends([job for pf in files for job in jobs_in(pf, root.rel)])


@dataclass(frozen=True, slots=True)
class GitlabInclude:
    """One `include:` entry of a GitLab CI file."""

    file: SourceFile
    kind: str
    node: YNode
    extra: dict[str, str] = field(default_factory=dict)


@scan_provider(GitlabInclude)
def gitlab_includes(ctx: ScanContext) -> Iterator[GitlabInclude]:
    for _, files in _pipelines(ctx):
        for pf in files:
            for kind, node in includes(pf):
                yield GitlabInclude(pf, kind, node)


@image_source
def gitlab_images(f: SourceFile) -> Iterator[ImageUse]:
    if not looks_like_gitlab(f):
        return
    for job in jobs_in(f, f.rel):
        where = (
            "the GitLab CI top-level defaults"
            if job.name == "<top level>"
            else "GitLab defaults"
            if job.name == "default"
            else f"GitLab job {job.name}"
        )
        img = job.image
        if img is not None:
            yield ImageUse(
                ref=parse_image(img.text or ""),
                span=img.span,
                origin="gitlab-image",
                where=f"image of {where}",
            )
        for svc in job.services():
            yield ImageUse(
                ref=parse_image(svc.text or ""),
                span=svc.span,
                origin="gitlab-service",
                where=f"service of {where}",
            )
