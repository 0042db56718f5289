"""What a generated admission policy covers: the images the scan's workloads run, and for each
the keyless identities of the pipelines the scan found signing it.

A GitHub Actions job signs keyless with a Fulcio certificate whose SAN is
`https://github.com/{job_workflow_ref}` (`OWNER/REPO/.github/workflows/FILE@REF`, the
workflow that defines the job, a local reusable workflow's own file included) and issuer
`https://token.actions.githubusercontent.com`; a GitLab CI job's SAN is
`https://{ci_config_ref_uri}` (`gitlab.com/GROUP/PROJECT//.gitlab-ci.yml@REF`) with issuer
`https://gitlab.com` (sigstore/fulcio docs/oidc.md). The ref is what triggers the workflow:
`refs/heads/<branch>` for the branches a `push` names, `refs/tags/...` for tags and releases;
pull-request runs are never admitted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kubeward.model.image import ImageRef, parse_image
from kubeward.model.images import ImageUse
from kubeward.model.workflow import Workflow
from kubeward.parse.yamlnode import YNode
from kubeward.slsa import Evidence, ImageBuild

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
_FORGES = {"github.com": GITHUB_ISSUER, "gitlab.com": GITLAB_ISSUER}
_PR_TRIGGERS = frozenset(
    {"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"}
)
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+")
_SAFE_PATH = re.compile(r"[A-Za-z0-9._/-]+")
_ANY_BRANCH, _ANY_TAG = "refs/heads/.+", "refs/tags/.+"


class PlanError(ValueError):
    """The inputs cannot give a policy (an unknown forge, a malformed --repository)."""


@dataclass(frozen=True, order=True)
class Repository:
    """Where the scanned repository lives: `github.com` or `gitlab.com`, and its path."""

    host: str
    path: str
    """`OWNER/REPO` (GitHub) or `GROUP[/SUBGROUP]/PROJECT` (GitLab)."""

    @classmethod
    def parse(cls, text: str) -> Repository:
        """`OWNER/REPO` (GitHub), `github.com/OWNER/REPO`, `gitlab.com/GROUP/PROJECT`, or a
        git remote URL of one of these (`https://`, `ssh://`, `git@host:path`)."""
        t = text.strip()
        t = re.sub(r"^(?:https?|ssh|git)://(?:[^@/]+@)?", "", t)
        t = re.sub(r"^[^@/:]+@([^:/]+):", r"\1/", t)  # scp-like git@github.com:o/r
        t = t.removesuffix("/").removesuffix(".git")
        parts = t.split("/")
        if len(parts) < 2:
            raise PlanError(f"{text!r} is not OWNER/REPO (or gitlab.com/GROUP/PROJECT)")
        if len(parts) == 2:
            parts = ["github.com", *parts]
        host = parts[0].lower().split(":", 1)[0]
        path = "/".join(parts[1:])
        if host not in _FORGES:
            raise PlanError(
                f"{text!r}: keyless identities are known for github.com and gitlab.com only"
            )
        segments = path.split("/")
        if len(segments) < 2 or (host == "github.com" and len(segments) != 2):
            raise PlanError(f"{text!r} is not OWNER/REPO (or gitlab.com/GROUP/PROJECT)")
        if not all(_SAFE_NAME.fullmatch(s) and s not in (".", "..") for s in segments):
            raise PlanError(f"{text!r}: repository names are letters, digits, '.', '_', '-'")
        return cls(host, path)

    @property
    def issuer(self) -> str:
        return _FORGES[self.host]

    @property
    def system(self) -> str:
        return "github" if self.host == "github.com" else "gitlab"


@dataclass(frozen=True)
class Identity:
    """One keyless signer: the issuer and the certificate SAN, exact or an anchored RE2
    expression (dots escaped)."""

    issuer: str
    subject: str | None
    subject_regexp: str | None
    pipeline: str
    """The workflow or CI file that signs, for names and comments."""

    @property
    def sort_key(self) -> tuple[str, str, str]:
        return (self.pipeline, self.subject or "", self.subject_regexp or "")


@dataclass(frozen=True)
class Covered:
    """An image the policy covers, with who may sign it."""

    repository: str
    """`registry/repository` as admission normalises it (`docker.io/library/nginx`)."""
    ref: ImageRef
    identities: tuple[Identity, ...]
    uses: tuple[str, ...]


@dataclass(frozen=True)
class Uncovered:
    """An image the policy leaves out, and why the scan cannot say who signs it."""

    repository: str
    reason: str
    uses: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    repository: Repository
    covered: tuple[Covered, ...]
    uncovered: tuple[Uncovered, ...]
    notes: tuple[str, ...] = field(default=())


def repository_name(ref: ImageRef) -> str:
    return f"{ref.registry}/{ref.repository}"


def _substitute(repo: str, forge: Repository) -> str:
    """The forge's own variables in an image name (`ghcr.io/${{ github.repository }}`,
    `$CI_REGISTRY_IMAGE`), which the pipeline does not set but the forge does."""
    owner = forge.path.split("/", 1)[0]
    values = {
        "github.repository": forge.path,
        "github.repository_owner": owner,
        "CI_PROJECT_PATH": forge.path,
        "CI_PROJECT_NAMESPACE": forge.path.rsplit("/", 1)[0],
        "CI_PROJECT_NAME": forge.path.rsplit("/", 1)[1],
        "CI_REGISTRY": "registry.gitlab.com",
        "CI_REGISTRY_IMAGE": f"registry.gitlab.com/{forge.path}",
    }
    for name in sorted(values, key=len, reverse=True):
        repo = repo.replace("$" + name.lower(), values[name].lower())
        repo = repo.replace("$" + name, values[name].lower())
    return repo


def _pushed_repository(key: str, forge: Repository) -> str | None:
    """`registry/repository` of a pushed image key, when it is literal once the forge's
    variables are known."""
    text = _substitute(key, forge)
    if "$" in text or "{" in text:
        return None
    ref = parse_image(text)
    if ref.error is not None or ref.templated or not ref.repository:
        return None
    return repository_name(ref)


def _strings(node: YNode | None, key: str) -> list[str] | None:
    value = node.get(key) if node is not None and node.is_map else None
    if value is None:
        return None
    items = value.seq() if value.is_seq else [value]
    return [str(n.text) for n in items if n.text]


Ref = tuple[str, str | None]
"""A ref as an RE2 alternative (literal parts escaped), and its literal text when it is one."""


def github_refs(wf: Workflow | None) -> list[Ref]:
    """The refs a workflow's runs can have when they are not pull-request runs; empty when it
    runs only for pull requests."""
    any_branch: Ref = (_ANY_BRANCH, None)
    any_tag: Ref = (_ANY_TAG, None)
    if wf is None or not wf.triggers:
        return [any_branch, any_tag]
    alts: list[Ref] = []
    for name, node in wf.triggers.items():
        if name in _PR_TRIGGERS:
            continue
        if name == "release":
            alts.append(any_tag)
        elif name == "push":
            branches, tags = _strings(node, "branches"), _strings(node, "tags")
            branches_ignore = _strings(node, "branches-ignore") is not None
            tags_ignore = _strings(node, "tags-ignore") is not None
            if not (branches or tags or branches_ignore or tags_ignore):
                alts += [any_branch, any_tag]
                continue
            alts += _filtered("refs/heads/", branches, branches_ignore, any_branch)
            alts += _filtered("refs/tags/", tags, tags_ignore, any_tag)
        else:  # workflow_dispatch, schedule, workflow_call (the caller's ref), ...
            alts += [any_branch, any_tag]
    return list(dict.fromkeys(alts))


def _filter_ref(prefix: str, pattern: str) -> Ref | None:
    """A `branches`/`tags` filter pattern as a ref: literal, or `*` (not `/`) and `**` as RE2;
    None for the rest of GitHub's filter syntax (`?`, `+`, `[...]`, `!`), which is widened."""
    if not _SAFE_PATH.fullmatch(pattern.replace("*", "")):
        return None
    if "*" not in pattern:
        return (re.escape(prefix + pattern), prefix + pattern)
    body = ".*".join(
        "[^/]*".join(re.escape(piece) for piece in part.split("*")) for part in pattern.split("**")
    )
    return (re.escape(prefix) + body, None)


def _filtered(prefix: str, patterns: list[str] | None, ignore: bool, wide: Ref) -> list[Ref]:
    """The refs a `push` filter lets through (`ignore`: a `-ignore` list is set)."""
    if patterns:
        refs = [_filter_ref(prefix, p) for p in patterns]
        return [wide] if any(r is None for r in refs) else [r for r in refs if r is not None]
    return [wide] if ignore else []


def _identity(prefix: str, refs: list[Ref], *, issuer: str, pipeline: str) -> Identity:
    if len(refs) == 1 and refs[0][1] is not None:
        return Identity(issuer, prefix + refs[0][1], None, pipeline)
    rxs = [r for r, _ in refs]
    body = rxs[0] if len(rxs) == 1 else "(?:" + "|".join(rxs) + ")"
    return Identity(issuer, None, "^" + re.escape(prefix) + body + "$", pipeline)


def _relative(path: str, root: Path) -> str | None:
    """`path` from the repository top (the scan root), or None when outside it."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def identity_of(
    e: Evidence,
    b: ImageBuild,
    forge: Repository,
    workflows: dict[str, Workflow],
    root: Path,
) -> Identity | str:
    """The keyless identity that signing evidence `e` of build `b` signs with, or why there
    is none the scan can name."""
    where = f"{e.how} in {e.span.path}:{e.span.line}"
    if not e.keyless:
        key = e.key or "unknown"
        return f"signed with a key ({key}; {where}): its public key is not in the scan"
    if e.tlog_off:
        return f"signed with --tlog-upload=false ({where}): no Rekor entry to verify"
    if b.system != forge.system:
        return f"signed by a {b.system} pipeline ({where}) but the repository is on {forge.host}"
    if b.system == "github":
        path = e.span.path
        marker = path.find(".github/workflows/")
        workflow_path = path[marker:] if marker >= 0 else ""
        if (
            not workflow_path
            or not _SAFE_PATH.fullmatch(workflow_path)
            or workflow_path.count("/") != 2
        ):
            return f"signed in {path!r}, which is not a workflow file an identity can name"
        refs = github_refs(workflows.get(path))
        if not refs:
            return f"signed only in pull-request runs of {workflow_path} ({where})"
        prefix = f"https://github.com/{forge.path}/{workflow_path}@"
        return _identity(prefix, refs, issuer=forge.issuer, pipeline=workflow_path)
    config = _relative(b.file.abspath, root)
    if config is None or not _SAFE_PATH.fullmatch(config):
        return f"signed in {b.pipeline!r}, which is not a CI file an identity can name"
    prefix = f"https://gitlab.com/{forge.path}//{config}@"
    any_ref: list[Ref] = [(_ANY_BRANCH, None), (_ANY_TAG, None)]
    return _identity(prefix, any_ref, issuer=forge.issuer, pipeline=config)


def _place(use: ImageUse) -> str:
    return f"{use.span.path}:{use.span.line}"


def plan(
    uses: Sequence[ImageUse],
    builds: Iterable[ImageBuild],
    workflows: Iterable[Workflow],
    forge: Repository,
    *,
    root: Path,
) -> Plan:
    """Which images in use a policy can cover, and with which identities. `root` is the
    repository's top directory (a GitLab CI file's path in the identity is taken from it)."""
    by_file = {wf.file.rel: wf for wf in workflows}
    identities: dict[str, set[Identity]] = {}
    problems: dict[str, list[str]] = {}
    for b in builds:
        repos = {r for k in b.keys if k.repo and (r := _pushed_repository(k.repo, forge))}
        if not repos:
            continue
        signs = b.of("sign")
        for repo in repos:
            if not signs:
                problems.setdefault(repo, []).append(
                    f"pushed by job {b.job} of {b.pipeline} but never signed"
                )
            for e in signs:
                got = identity_of(e, b, forge, by_file, root)
                if isinstance(got, Identity):
                    identities.setdefault(repo, set()).add(got)
                else:
                    problems.setdefault(repo, []).append(got)
    grouped: dict[str, list[ImageUse]] = {}
    for use in uses:
        grouped.setdefault(repository_name(use.ref), []).append(use)
    covered, uncovered = [], []
    for repo in sorted(grouped):
        places = tuple(sorted({_place(u) for u in grouped[repo]}))
        found = identities.get(repo)
        if found:
            covered.append(
                Covered(
                    repo,
                    grouped[repo][0].ref,
                    tuple(sorted(found, key=lambda i: i.sort_key)),
                    places,
                )
            )
            continue
        reasons = problems.get(repo) or ["no pipeline in the scan pushes and signs it"]
        uncovered.append(Uncovered(repo, "; ".join(dict.fromkeys(reasons)), places))
    return Plan(forge, tuple(covered), tuple(uncovered))
