"""Image-producing pipelines, the evidence they leave, and their SLSA v1.0 Build track level.

An `ImageBuild` is one CI job that pushes an image (GitHub Actions or GitLab CI). The evidence
for it is looked for in the whole pipeline (the workflow file, or the `.gitlab-ci.yml` with its
local includes), because signing and attesting often happen in a later job fed by the build's
digest output, then matched to the image it names where the pipeline shows it (the push step's
or job's digest output, or the repository; see docs/slsa.md). The level follows the SLSA v1.0
requirements (slsa.dev/spec/v1.0/requirements):

- Build L1: "Provenance generation: Exists".
- Build L2: adds "Provenance generation: Authentic" (signed, verifiable provenance) and
  "Isolation strength: Hosted" (a hosted build platform, not a self-hosted runner).
- Build L3: adds "Provenance generation: Unforgeable" (the signing material is out of reach of
  the user-defined build steps) and "Isolation strength: Isolated" (builds cannot influence one
  another; ephemeral hosted runners).

What a pipeline file shows is a claim about the platform, not a proof: the level here is the
most the pipeline can reach, and `kubeward verify` checks what was actually published.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from kubeward.model.gitlab import GitlabJob, jobs_in, pipeline_files, resolve_extends
from kubeward.model.workflow import Job, Uses, Workflow
from kubeward.parse.yamlnode import YNode
from kubeward.registry import instances_in, report_section, scan_provider
from kubeward.results import Section
from kubeward.source import FileKind, SourceFile, Span

if TYPE_CHECKING:
    from kubeward.scan_context import ScanContext

SLSA_REQUIREMENTS = "https://slsa.dev/spec/v1.0/requirements"
EXISTS = "Provenance generation: Exists"
AUTHENTIC = "Provenance generation: Authentic"
UNFORGEABLE = "Provenance generation: Unforgeable"
HOSTED = "Isolation strength: Hosted"
ISOLATED = "Isolation strength: Isolated"

# slsa-github-generator's builder for images (its generic generator attests files, not images).
SLSA_GENERATORS = (
    "slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml",
)


@dataclass(frozen=True, slots=True)
class Cmd:
    """One unit of work in a pipeline: a GitHub step, a reusable-workflow call, or one GitLab
    script line. `text` is the shell text (run or script line), `uses` the action called."""

    file: SourceFile
    job: str
    span: Span
    text: str = ""
    uses: Uses | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    can_fail_build: bool = True  # not continue-on-error / allow_failure
    node: YNode | None = None
    step_id: str = ""
    env: dict[str, str] = field(default_factory=dict)  # literal env/variables in scope


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence about the image: what, where, and its qualities."""

    kind: str  # sign | provenance | sbom | scan
    how: str
    span: Span
    job: str
    by_digest: bool = True
    keyless: bool = False
    key: str | None = None
    tlog_off: bool = False
    strong: bool = True  # provenance: signed; sbom: attached; scan: can fail the build
    note: str = ""
    image: str = ""  # the image reference it names, as written ("" when it names none)
    image_span: Span | None = None  # where that reference is written, when found
    ref: ImageKey | None = None  # `image` resolved against the env in scope (set by the model)


@dataclass(eq=False)
class ImageBuild:
    """A job that pushes an image, with its pipeline's commands and evidence."""

    system: str  # github | gitlab
    file: SourceFile
    pipeline: str
    job: str
    job_span: Span
    push_span: Span
    push_how: str
    image: str
    cmds: list[Cmd]
    hosted: bool
    hosted_note: str
    id_token_jobs: frozenset[str]
    evidence: list[Evidence] = field(default_factory=list)
    isolated_provenance: str | None = None  # why provenance is out of the build's reach
    keys: tuple[ImageKey, ...] = ()  # every reference the push names (tags), resolved
    step_id: str = ""
    # Evidence of the pipeline that names another image than this one.
    elsewhere: list[Evidence] = field(default_factory=list)

    def of(self, kind: str) -> list[Evidence]:
        return [e for e in self.evidence if e.kind == kind]

    def others(self, kind: str) -> list[Evidence]:
        """Evidence of this kind in the pipeline that is for other images."""
        return [e for e in self.elsewhere if e.kind == kind]


# --- which image a reference names ---------------------------------------------------------

_ENV_EXPR = re.compile(r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SHELL_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_DOTTED_VAR = re.compile(r"\$([A-Za-z_][\w.]*)")
_LINK = re.compile(r"\b(steps|needs)\.([A-Za-z0-9_-]+)\.outputs\.")


@dataclass(frozen=True, slots=True)
class ImageKey:
    """An image reference reduced to what identifies the image: its repository (lower case,
    tag and digest dropped, variables resolved where the pipeline sets them literally) and the
    step or job outputs it takes its digest from (`steps.build`, `needs.build`)."""

    repo: str
    links: tuple[tuple[str, str], ...] = ()

    @property
    def literal(self) -> bool:
        return bool(self.repo) and "$" not in self.repo and "{" not in self.repo


def image_key(ref: str, env: dict[str, str] | None = None) -> ImageKey:
    links = tuple(dict.fromkeys(_LINK.findall(ref)))
    text = ref.strip().strip("'\"")
    env = env or {}
    for _ in range(3):  # values may name other variables
        text = _ENV_EXPR.sub(lambda m: env.get(m.group(1), "$" + m.group(1)), text)
        text = _SHELL_VAR.sub(lambda m: env.get(m.group(1), "$" + m.group(1)), text)
        text = _VAR.sub(lambda m: env.get(m.group(1), "$" + m.group(1)), text)
    text = re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", r"$\1", text)
    text = text.split("@", 1)[0]
    head, _, last = text.rpartition("/")
    if ":" in last:
        last = last.split(":", 1)[0]
    repo = (head + "/" + last if head else last).lower()
    if "${{" in repo or not repo or " " in repo:
        repo = ""
    return ImageKey(repo, links)


# --- shell text ----------------------------------------------------------------------------

_CONT_RE = re.compile(r"\\\r?\n\s*")
# Separators between simple commands; a newline escaped by a backslash continues the command.
_SEP_RE = re.compile(r"\s*(?:&&|\|\||;|(?<!\\)\r?\n)\s*")
# Words before the command proper: shell keywords, wrappers and VAR=value assignments.
_PREFIX_WORDS = frozenset({"do", "then", "else", "sudo", "time", "exec", "command", "!", "{", "("})
_ASSIGN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SWALLOW_RE = re.compile(r"\s*\|\|\s*(?:true\b|:(?!\S)|exit\s+0\b)")


def _commands(text: str) -> Iterator[tuple[int, str]]:
    """(offset, command) for each simple command of a shell script (continuations joined)."""
    for start, _, cmd in _command_spans(text):
        yield start, cmd


def _command_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, command): offsets of each simple command in `text`, and its joined text."""
    pos = 0
    for m in _SEP_RE.finditer(text + "\n"):
        chunk = text[pos : m.start()]
        if chunk.strip():
            start = pos + (len(chunk) - len(chunk.lstrip()))
            yield start, m.start(), _CONT_RE.sub(" ", chunk.strip())
        pos = m.end()


_GH_EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)


def _words(cmd: str) -> list[str]:
    # `${{ x }}` is one word to the shell after GitHub substitutes it.
    cmd = _GH_EXPR.sub(lambda m: re.sub(r"\s+", "", m.group(0)), cmd)
    try:
        words = shlex.split(cmd, comments=True)
    except ValueError:
        words = cmd.split()
    i = 0
    while i < len(words) and (words[i] in _PREFIX_WORDS or _ASSIGN_RE.match(words[i])):
        i += 1
    return words[i:]


def _opt(words: list[str], *names: str) -> str | None:
    for i, w in enumerate(words):
        for n in names:
            if w == n and i + 1 < len(words):
                return words[i + 1]
            if w.startswith(n + "="):
                return w[len(n) + 1 :]
    return None


def _opts(words: list[str], *names: str) -> list[str]:
    """Every value of a repeatable option (`-t a -t b`, `--destination=a`)."""
    out = []
    for i, w in enumerate(words):
        for n in names:
            if w == n and i + 1 < len(words):
                out.append(words[i + 1])
            elif w.startswith(n + "="):
                out.append(w[len(n) + 1 :])
    return out


def _positional(words: list[str], start: int) -> list[str]:
    out = []
    skip = False
    for w in words[start:]:
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            skip = "=" not in w and w not in _FLAG_ONLY
            continue
        out.append(w)
    return out


_FLAG_ONLY = frozenset(
    {
        "--yes",
        "-y",
        "--recursive",
        "-r",
        "--push",
        "--load",
        "--quiet",
        "-q",
        "--bare",
        "-B",
        "--preserve-import-paths",
        "-P",
        "--base-import-paths",
        "--all-tags",
        "--tls-verify",
        "--force",
        "-f",
        "--insecure",
        "--disable-content-trust",
    }
)


def _image_of(words: list[str], start: int) -> str:
    """The image a command names: among its positional arguments, else among all words."""
    got = _image_arg(_positional(words, start))
    if got:
        return got
    loose = [w for w in words[start:] if not w.startswith("-") and "://" not in w]
    return _image_arg(loose)


def _image_arg(pos: list[str]) -> str:
    """The argument that names an image: one with a digest, else a path or a variable."""
    candidates = [a for a in pos if "=" not in a.split("/", 1)[0]]
    for a in candidates:
        if "@" in a:
            return a
    for a in candidates:
        if "/" in a or "$" in a:
            return a
    return pos[-1] if pos else ""


def _cmd_span(c: Cmd, offset: int, length: int) -> Span:
    """The span of a command inside a `run:` block (raw text search), else the whole node."""
    n = c.node
    if n is None or not n.is_scalar:
        return c.span
    raw = c.file.text[n.start.offset : n.end.offset]
    needle = c.text[offset : offset + length].split("\n", 1)[0]
    i = raw.find(needle) if needle else -1
    if i < 0:
        return c.span
    return c.file.span(n.start.offset + i, n.start.offset + i + len(needle))


def _word_span(c: Cmd, cmd_span: Span, word: str) -> Span | None:
    """The span of `word` as written inside the command at `cmd_span` (same line only)."""
    if not word or cmd_span is c.span:
        return None
    line = c.file.text[cmd_span.start.offset : cmd_span.end.offset]
    bare = word.strip("'\"")
    i = line.find(bare)
    if i < 0:
        return None
    start = cmd_span.start.offset + i
    return c.file.span(start, start + len(bare))


# --- extracting commands from pipelines ----------------------------------------------------


def literal_env(*nodes: YNode | None) -> dict[str, str]:
    """Literal `env:` / `variables:` values, later nodes overriding earlier ones (GitLab's
    `VAR: {value: x}` form included)."""
    out: dict[str, str] = {}
    for n in nodes:
        if n is None or not n.is_map:
            continue
        for k, v in n.items():
            if v.is_map:
                v = v.get("value") or v
            if k.is_scalar and v.is_scalar and v.text is not None:
                out[str(k.value)] = v.text
    return out


def github_cmds(wf: Workflow) -> list[Cmd]:
    out = []
    for job in wf.jobs:
        job_env = literal_env(wf.env, job.env)
        if job.uses is not None and job.uses.span is not None:
            w = job.node.get("with")
            inputs = {str(k.value): v.text or "" for k, v in w.items() if v.is_scalar} if w else {}
            out.append(
                Cmd(wf.file, job.id, job.uses.span, uses=job.uses, inputs=inputs, env=job_env)
            )
        for s in job.steps:
            inputs = {}
            if s.with_ is not None:
                inputs = {str(k.value): v.text or "" for k, v in s.with_.items() if v.is_scalar}
            span = s.uses.span if s.uses is not None and s.uses.span else s.node.span
            if s.run is not None:
                span = s.run.span
            out.append(
                Cmd(
                    wf.file,
                    job.id,
                    span,
                    s.run_text,
                    s.uses,
                    inputs,
                    not s.continue_on_error,
                    s.run,
                    s.id or "",
                    {**job_env, **literal_env(s.env)} if s.env is not None else job_env,
                )
            )
    return out


def gitlab_cmds(
    jobs: list[GitlabJob], files: dict[str, SourceFile], root_vars: YNode | None = None
) -> list[Cmd]:
    """Script lines of the jobs; an inherited line stays in the file that holds it."""
    out = []
    for j in jobs:
        env = literal_env(root_vars, j.node.get("variables"))
        for line in j.script_lines():
            f = files.get(line.path, j.file)
            out.append(
                Cmd(
                    f,
                    j.name,
                    line.span,
                    line.text or "",
                    None,
                    {},
                    not j.allow_failure,
                    line,
                    env=env,
                )
            )
    return out


# --- detection -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Push:
    cmd: Cmd
    span: Span
    how: str
    image: str
    also: tuple[str, ...] = ()  # further references the same push names (more tags)


def find_pushes(c: Cmd) -> Iterator[Push]:
    u = c.uses
    if u is not None and u.is_action("docker/build-push-action"):
        push = c.inputs.get("push", "").strip().lower()
        if push == "true" or "${{" in push:
            tags = [t.strip() for t in re.split(r"[,\n]", c.inputs.get("tags", "")) if t.strip()]
            yield Push(
                c,
                c.span,
                "docker/build-push-action with push",
                tags[0] if tags else "",
                tuple(tags[1:]),
            )
        return
    if u is not None and u.is_action("redhat-actions/push-to-registry"):
        yield Push(c, c.span, "redhat-actions/push-to-registry", c.inputs.get("image", ""))
        return
    if not c.text:
        return
    for off, cmd in _commands(c.text):
        w = _words(cmd)
        if not w:
            continue
        w0 = w[0].rsplit("/", 1)[-1]
        how, image = None, ""
        also: tuple[str, ...] = ()
        if w0 in ("docker", "podman", "buildah") and "push" in w[1:3]:
            how, image = f"{w0} push", _image_of(w, w.index("push") + 1)
        elif (
            w0 in ("docker", "podman")
            and "build" in w[1:3]
            and ("--push" in w or any("push=true" in x for x in w))
        ):
            tags = _opts(w, "-t", "--tag")
            how, image = f"{w0} build --push", tags[0] if tags else ""
            also = tuple(tags[1:])
        elif w0 == "executor" or w[0].endswith("/kaniko/executor"):
            if "--no-push" not in w:
                dests = _opts(w, "--destination", "-d")
                how, image = "kaniko", dests[0] if dests else ""
                also = tuple(dests[1:])
        elif w0 == "ko" and len(w) > 1 and w[1] in ("build", "publish", "resolve", "apply"):
            if not any(x in ("--local", "-L", "--push=false") for x in w):
                how, image = f"ko {w[1]}", "$KO_DOCKER_REPO"
        elif w0 == "crane" and len(w) > 1 and w[1] in ("push", "copy", "cp"):
            pos = _positional(w, 2)  # crane push TARBALL IMAGE, crane copy SRC DST
            how, image = f"crane {w[1]}", pos[-1] if pos else ""
        elif w0 == "crane" and len(w) > 1 and w[1] == "append":
            how, image = "crane append", _opt(w, "-t", "--new_tag") or ""
        elif w0 in ("mvn", "mvnw", "gradle", "gradlew") and any(
            x == "jib" or (x.endswith(":build") and "jib" in x) for x in w
        ):
            how, image = "jib", _opt(w, "-Dimage", "--image") or ""
        if how and not _LOCAL_REGISTRY.match(image.strip("'\"")):
            yield Push(c, _cmd_span(c, off, len(cmd)), how, image, also)


# Test registries on the runner itself: nothing pushed there reaches a cluster.
_LOCAL_REGISTRY = re.compile(
    r"^(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|kind-registry)(?::\d+)?/"
)


def _is_digest_ref(image: str) -> bool:
    return "@" in image


_NOT_IMAGES = ("dir:", "file:", "oci-dir:", "oci-archive:", "docker-archive:", ".", "/", "-")
_SCHEMES = ("registry:", "docker:", "podman:", "docker://", "oci://")


def _image_like(ref: str) -> str:
    """`ref` when it can name an image in a registry (not a directory, archive or file)."""
    ref = ref.strip().strip("'\"")
    if not ref or ref.startswith(_NOT_IMAGES) or "\n" in ref:
        return ""
    for p in _SCHEMES:
        ref = ref.removeprefix(p)
    if ref.lower().endswith((".json", ".tar", ".tar.gz", ".txt", ".xml", ".sarif")):
        return ""
    return ref


def _subject(c: Cmd, name: str, digest: str) -> str:
    n = _image_like(c.inputs.get(name, ""))
    d = c.inputs.get(digest, "").strip()
    return f"{n}@{d}" if n and d else n


def find_evidence(c: Cmd) -> Iterator[Evidence]:
    """The evidence one command or action call leaves about the images of its pipeline."""
    u = c.uses
    job = c.job
    if u is not None:
        a = u.action
        if u.is_action("docker/build-push-action"):
            prov = c.inputs.get("provenance", "").strip().lower()
            if prov != "false":
                mx = "mode=max" in prov
                yield Evidence(
                    "provenance",
                    "buildx provenance " + ("mode=max" if mx else "mode=min (default)"),
                    c.span,
                    job,
                    strong=False,
                    note="" if mx else "buildx's default mode=min records little and is unsigned",
                )
            sbom = c.inputs.get("sbom", "").strip().lower()
            if sbom in ("true", "1") or "generator" in sbom:
                yield Evidence("sbom", "buildx sbom attestation", c.span, job)
            return
        subject = _subject(c, "subject-name", "subject-digest")
        if a in ("actions/attest-build-provenance",) or (
            a == "actions/attest" and "slsa" in c.inputs.get("predicate-type", "")
        ):
            yield Evidence("provenance", a, c.span, job, image=subject)
            return
        if a in SLSA_GENERATORS:
            yield Evidence(
                "provenance",
                "slsa-github-generator " + a.rsplit("/", 1)[-1],
                c.span,
                job,
                note="unforgeable",
                image=_subject(c, "image", "digest"),
            )
            return
        if a == "actions/attest-sbom":
            yield Evidence("sbom", a, c.span, job, image=subject)
            return
        if a == "anchore/sbom-action":
            yield Evidence(
                "sbom",
                a,
                c.span,
                job,
                strong=False,
                note="stored as a workflow artifact, not attached to the image",
                image=_image_like(c.inputs.get("image", "")),
            )
            return
        if a == "aquasecurity/trivy-action":
            fmt = c.inputs.get("format", "")
            if fmt in ("cyclonedx", "spdx", "spdx-json", "github"):
                yield Evidence(
                    "sbom",
                    f"trivy-action format {fmt}",
                    c.span,
                    job,
                    strong=False,
                    note="generated, not attached to the image",
                    image=_image_like(c.inputs.get("image-ref", "")),
                )
                return
            code = c.inputs.get("exit-code", "0").strip()
            yield Evidence(
                "scan",
                a,
                c.span,
                job,
                strong=code not in ("", "0") and c.can_fail_build,
                note="" if code not in ("", "0") else "exit-code is 0",
                image=_image_like(c.inputs.get("image-ref", "")),
            )
            return
        if a in ("anchore/scan-action",):
            fail = c.inputs.get("fail-build", "true").strip().lower() != "false"
            yield Evidence(
                "scan",
                a,
                c.span,
                job,
                strong=fail and c.can_fail_build,
                note="" if fail else "fail-build is false",
                image=_image_like(c.inputs.get("image", "")),
            )
            return
        return
    if not c.text:
        return
    for off, end, cmd in _command_spans(c.text):
        w = _words(cmd)
        if not w:
            continue
        w0 = w[0].rsplit("/", 1)[-1]
        span = _cmd_span(c, off, len(cmd))
        # `cmd || true` (or `|| :`, `|| exit 0`) swallows the command's failure.
        tolerant = not c.can_fail_build or _SWALLOW_RE.match(c.text, end) is not None
        if w0 == "cosign" and len(w) > 1 and w[1] == "sign":
            key = _opt(w, "--key")
            image = _image_of(w, 2)
            tlog_off = (
                any(x in ("--tlog-upload=false",) for x in w) or _opt(w, "--tlog-upload") == "false"
            )
            yield Evidence(
                "sign",
                "cosign sign",
                span,
                job,
                by_digest=_is_digest_ref(image),
                keyless=key is None,
                key=key,
                tlog_off=tlog_off,
                note=image,
                image=_image_like(image),
                image_span=_word_span(c, span, image),
            )
        elif w0 == "notation" and len(w) > 1 and w[1] == "sign":
            target = _image_of(w, 2)
            yield Evidence(
                "sign",
                "notation sign",
                span,
                job,
                by_digest=_is_digest_ref(target),
                key="notation",
                note=target,
                image=_image_like(target),
                image_span=_word_span(c, span, target),
            )
        elif w0 == "cosign" and len(w) > 1 and w[1] == "attest":
            typ = (_opt(w, "--type") or "custom").lower()
            key = _opt(w, "--key")
            if typ.startswith("slsaprovenance"):
                yield Evidence(
                    "provenance",
                    f"cosign attest --type {typ}",
                    span,
                    job,
                    keyless=key is None,
                    key=key,
                    image=_image_like(_image_of(w, 2)),
                )
            elif typ in ("cyclonedx", "spdx", "spdxjson"):
                yield Evidence(
                    "sbom",
                    f"cosign attest --type {typ}",
                    span,
                    job,
                    image=_image_like(_image_of(w, 2)),
                )
        elif w0 == "cosign" and w[1:3] == ["attach", "sbom"]:
            yield Evidence(
                "sbom", "cosign attach sbom", span, job, image=_image_like(_image_of(w, 3))
            )
        elif w0 == "syft":
            yield Evidence(
                "sbom",
                "syft",
                span,
                job,
                strong=False,
                note="generated; attach it with cosign attest --type spdxjson|cyclonedx",
                image=_image_like(_image_of(w, 1)),
            )
        elif w0 == "trivy" and len(w) > 1:
            fmt = _opt(w, "--format", "-f") or ""
            if w[1] == "sbom" or fmt.startswith(("cyclonedx", "spdx")):
                yield Evidence(
                    "sbom",
                    f"trivy {w[1]} --format {fmt or 'sbom'}",
                    span,
                    job,
                    strong=False,
                    note="generated; attach it with cosign attest",
                    image=_image_like(_image_of(w, 2)),
                )
            elif w[1] in ("image", "i"):
                code = _opt(w, "--exit-code") or "0"
                ok = code != "0" and not tolerant
                yield Evidence(
                    "scan",
                    "trivy image",
                    span,
                    job,
                    strong=ok,
                    note="" if ok else "no --exit-code 1, or it is swallowed by || true",
                    image=_image_like(_image_of(w, 2)),
                )
        elif w0 == "grype":
            ok = _opt(w, "--fail-on", "-f") is not None and not tolerant
            yield Evidence(
                "scan",
                "grype",
                span,
                job,
                strong=ok,
                note="" if ok else "no --fail-on, or it is swallowed by || true",
                image=_image_like(_image_of(w, 1)),
            )
        elif (
            w0 == "docker"
            and ("buildx" in w[:2] or "build" in w[1:3])
            and ("--push" in w or any("push=true" in x for x in w))
        ):
            prov = _opt(w, "--provenance") or ""
            attests = [x for x in w if x.startswith("type=provenance")]
            if prov.lower() != "false":
                mx = "mode=max" in prov or any("mode=max" in x for x in attests)
                yield Evidence(
                    "provenance",
                    "buildx provenance " + ("mode=max" if mx else "mode=min (default)"),
                    span,
                    job,
                    strong=False,
                    note="" if mx else "buildx's default mode=min records little and is unsigned",
                )
            sbom = _opt(w, "--sbom") or ""
            if sbom.lower() in ("true", "1") or any(x.startswith("type=sbom") for x in w):
                yield Evidence("sbom", "buildx sbom attestation", span, job)


# --- the model ---------------------------------------------------------------------------------


def _repo_root(wf: Workflow) -> str:
    rel = wf.file.rel
    i = rel.rfind(".github/workflows/")
    return rel[:i] if i >= 0 else ""


def _local_callers(workflows: list[Workflow]) -> dict[str, list[Job]]:
    """Rel path of a local reusable workflow -> the jobs that call it (`uses: ./.github/...`)."""
    out: dict[str, list[Job]] = {}
    for wf in workflows:
        for j in wf.jobs:
            if j.uses is not None and j.uses.kind == "local":
                target = _repo_root(wf) + j.uses.text.removeprefix("./").split("@", 1)[0]
                out.setdefault(target, []).append(j)
    return out


# --- GoReleaser: images and signatures declared in its config ----------------------------------

_GORELEASER_NAMES = (".goreleaser.yml", ".goreleaser.yaml", "goreleaser.yml", "goreleaser.yaml")
_GORELEASER_IMAGES = ("dockers", "dockers_v2", "kos", "docker_manifests")


def _goreleaser_args(c: Cmd) -> str | None:
    """The GoReleaser command line of a step (`goreleaser-action` args or a `run:` line)."""
    if c.uses is not None and c.uses.is_action("goreleaser/goreleaser-action"):
        return c.inputs.get("args", "")
    m = re.search(r"\bgoreleaser\s+(release\b[^\n]*)", c.text)
    return m.group(1) if m else None


def goreleaser(ctx: ScanContext, root: str, c: Cmd) -> tuple[Push | None, list[Evidence]]:
    """A `goreleaser release` step pushes the images its config declares (`dockers`, `kos`...)
    and signs them with `docker_signs`."""
    args = _goreleaser_args(c)
    if args is None or "release" not in args.split() or "--snapshot" in args:
        return None, []
    m = re.search(r"(?:-f|--config)[= ](\S+)", args)
    names = [m.group(1).strip("'\"")] if m else list(_GORELEASER_NAMES)
    cfg = next(
        (f for n in names if (f := ctx.file(root + n.removeprefix("./"))) and f.documents), None
    )
    if cfg is None or not cfg.documents[0].is_map:
        return None, []
    doc = cfg.documents[0]
    push = None
    for key in _GORELEASER_IMAGES:
        n = doc.get(key)
        if n is None or not n.seq():
            continue
        first = n.seq()[0]
        templates = first.get("image_templates") or first.get("images") or first.get("repository")
        image = ""
        if templates is not None:
            image = templates.text or (templates.seq()[0].text or "" if templates.seq() else "")
        name = cfg.rel.rsplit("/", 1)[-1]
        push = Push(c, c.span, f"goreleaser release ({key} in {name})", image or "")
        break
    if push is None:
        return None, []
    evidence = []
    signs = doc.get("docker_signs")
    for entry in signs.seq() if signs is not None else []:
        cmd = (entry.get_str("cmd") or "cosign").rsplit("/", 1)[-1]
        a = entry.get("args")
        words = (
            [x.text or "" for x in a.seq()] if a is not None else ["sign", "${artifact}@${digest}"]
        )
        if cmd != "cosign" or "sign" not in words:
            continue
        key_arg = _opt(words, "--key")
        # Point at the argument naming the artifact (else the args list, else the entry).
        where = next(
            (x.span for x in (a.seq() if a is not None else []) if "${artifact}" in (x.text or "")),
            a.span if a is not None else (entry.key_node("cmd") or entry).span,
        )
        evidence.append(
            Evidence(
                "sign",
                "goreleaser docker_signs (cosign sign)",
                where,
                c.job,
                by_digest=any("${digest}" in w or "@" in w for w in words),
                keyless=key_arg is None,
                key=key_arg,
                tlog_off="--tlog-upload=false" in words,
                note="${artifact}",
            )
        )
    return push, evidence


def _github_builds(
    wf: Workflow, callers: Sequence[Job] = (), ctx: ScanContext | None = None
) -> list[ImageBuild]:
    """Builds of one workflow. When it is a local reusable workflow, the calling workflows'
    commands are part of its pipeline (they often sign or attest what it pushes), and a
    caller's `id-token: write` reaches the called jobs that declare no permissions."""
    cmds = github_cmds(wf)
    seen = {wf.file.rel}
    for caller in callers:
        if caller.workflow.file.rel not in seen:
            seen.add(caller.workflow.file.rel)
            cmds += github_cmds(caller.workflow)
    by_job = {j.id: j for j in wf.jobs}
    granted = any(c.permission("id-token") == "write" for c in callers)
    id_token = frozenset(
        [j.id for j in wf.jobs if j.permission("id-token") == "write"]
        + [j.id for j in wf.jobs if granted and j.effective_permissions() is None]
        + [j.id for c in callers for j in c.workflow.jobs if j.permission("id-token") == "write"]
    )
    out = []
    extra: list[Evidence] = []
    for c in cmds:
        if c.file is not wf.file:
            continue
        pushes = list(find_pushes(c))
        if ctx is not None:
            gp, ge = goreleaser(ctx, _repo_root(wf), c)
            pushes += [gp] if gp is not None else []
            extra += ge
        for p in pushes:
            job = by_job[c.job]
            hosted = not job.is_self_hosted
            out.append(
                ImageBuild(
                    "github",
                    wf.file,
                    wf.file.rel,
                    c.job,
                    job.name_span,
                    p.span,
                    p.how,
                    p.image,
                    cmds,
                    hosted,
                    "GitHub-hosted runner" if hosted else "self-hosted runner",
                    id_token,
                    keys=_push_keys(p),
                    step_id=c.step_id,
                )
            )
    for b in out:
        b.evidence = list(extra)
    return out


def _gitlab_hosted(job: GitlabJob) -> tuple[bool, str]:
    tags = job.tags
    if not tags:
        return True, "no runner tags: GitLab.com instance runners assumed"
    if all(t.startswith("saas-") for t in tags):
        return True, "GitLab-hosted runner tags " + ", ".join(tags)
    return False, "runner tags " + ", ".join(tags) + " select a self-managed runner"


_KANIKO_IMAGE = "kaniko-project/executor"


def _gitlab_builds(ctx: ScanContext, root: SourceFile) -> list[ImageBuild]:
    files = pipeline_files(ctx, root)
    jobs = resolve_extends([j for f in files for j in jobs_in(f, root.rel)])
    top = root.documents[0] if root.documents and root.documents[0].is_map else None
    cmds = gitlab_cmds(jobs, {f.rel: f for f in files}, top.get("variables") if top else None)
    by_name = {j.name: j for j in jobs}
    id_token = frozenset(j.name for j in jobs if j.id_tokens is not None)
    out = []
    for c in cmds:
        for p in find_pushes(c):
            job = by_name[c.job]
            if job.hidden:
                continue
            hosted, note = _gitlab_hosted(job)
            out.append(
                ImageBuild(
                    "gitlab",
                    c.file,
                    root.rel,
                    c.job,
                    job.key.span,
                    p.span,
                    p.how,
                    p.image,
                    cmds,
                    hosted,
                    note,
                    id_token,
                    keys=_push_keys(p),
                )
            )
    return out


def _assess_isolation(b: ImageBuild) -> None:
    """Provenance out of reach of the build steps (see the module doc for each CI system)."""
    for e in b.of("provenance"):
        if e.note == "unforgeable":
            b.isolated_provenance = (
                f"{e.how} signs provenance in a reusable workflow the build job cannot alter"
            )
            return
        if (
            b.system == "gitlab"
            and e.keyless
            and e.job != b.job
            and b.job not in b.id_token_jobs
            and e.job in b.id_token_jobs
        ):
            b.isolated_provenance = (
                f"provenance is signed in job {e.job}, which holds id_tokens; "
                f"the build job {b.job} never holds the signing identity"
            )
            return


def _push_keys(p: Push) -> tuple[ImageKey, ...]:
    return tuple(image_key(r, p.cmd.env) for r in (p.image, *p.also) if r)


def _differ(a: str, b: str) -> bool:
    """Two repositories that cannot be the same image: different literal last path segments
    (`$REGISTRY/app`, `ghcr.io/acme/worker`), or the same variables with different literal
    parts. The same last path segment counts as the same image."""
    la, lb = a.rsplit("/", 1)[-1], b.rsplit("/", 1)[-1]
    if a == b or la == lb:
        return False  # the same name in another registry (a local build scanned, then pushed)
    if "$" not in la and "$" not in lb:
        return True  # different image names, whatever the variables before them hold
    return set(_DOTTED_VAR.findall(a)) == set(_DOTTED_VAR.findall(b))


def _applies(e: Evidence, b: ImageBuild, steps: set[tuple[str, str]], jobs: dict[str, int]) -> bool:
    """Whether evidence `e` is about the image `b` pushes. Evidence that names no image, or
    names it only through variables the pipeline does not set, is counted for every image."""
    if e.span == b.push_span:
        return True  # the push step's own attestations (buildx provenance, sbom)
    k = e.ref
    if k is None:
        return True
    for kind, name in k.links:
        if kind == "steps":
            if b.step_id and (e.job, name) == (b.job, b.step_id):
                return True
            if (e.job, name) in steps:
                return False  # the digest of another push step
        elif name in jobs:
            if name != b.job:
                return False  # the outputs of another pushing job
            if jobs[name] == 1:
                return True
    repos = [x.repo for x in b.keys if x.repo]
    if not k.repo or not repos:
        return True
    return not all(_differ(k.repo, r) for r in repos)


def _per_image(builds: list[ImageBuild]) -> None:
    """Split each build's pipeline evidence into what is for its image and what is for others."""
    by_pipeline: dict[str, list[ImageBuild]] = {}
    for b in builds:
        by_pipeline.setdefault(b.pipeline, []).append(b)
    for group in by_pipeline.values():
        steps = {(b.job, b.step_id) for b in group if b.step_id}
        jobs: dict[str, int] = {}
        for b in group:
            jobs[b.job] = jobs.get(b.job, 0) + 1
        for b in group:
            # One verdict per piece (not `e not in mine`: list membership through dataclass
            # equality made this quadratic in the callers of a reusable workflow). `_applies`
            # reads only the evidence's fields, so equal pieces get the same verdict.
            applies = [_applies(e, b, steps, jobs) for e in b.evidence]
            b.elsewhere = [e for e, ok in zip(b.evidence, applies, strict=True) if not ok]
            b.evidence = [e for e, ok in zip(b.evidence, applies, strict=True) if ok]


def image_builds_in(ctx: ScanContext) -> list[ImageBuild]:
    out: list[ImageBuild] = []
    workflows = [
        wf
        for f in ctx.files
        if f.kind is FileKind.GHA_WORKFLOW and f.documents
        for wf in instances_in(f, Workflow)
    ]
    callers = _local_callers(workflows)
    for wf in workflows:
        out.extend(_github_builds(wf, callers.get(wf.file.rel, []), ctx))
    for f in ctx.files:
        if f.kind is FileKind.GITLAB_CI and f.documents:
            out.extend(_gitlab_builds(ctx, f))
    for b in out:
        b.evidence += [
            replace(e, ref=image_key(e.image, c.env)) if e.image else e
            for c in b.cmds
            for e in find_evidence(c)
        ]
    _per_image(out)
    for b in out:
        _assess_isolation(b)
    return out


@scan_provider(ImageBuild)
def image_builds(ctx: ScanContext) -> Iterator[ImageBuild]:
    yield from image_builds_in(ctx)


# --- the level -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assessment:
    level: int
    reasons: tuple[str, ...]


def _signed_provenance(b: ImageBuild) -> Evidence | None:
    for e in b.of("provenance"):
        if e.strong:
            return e
    # buildx provenance lives in the image index: a keyless signature of that digest covers it.
    buildx = [e for e in b.of("provenance") if not e.strong]
    signed = [s for s in b.of("sign") if s.by_digest and s.keyless and not s.tlog_off]
    if buildx and signed:
        return buildx[0]
    return None


def assess(b: ImageBuild) -> Assessment:
    reasons: list[str] = []
    prov = b.of("provenance")
    if not prov:
        reasons.append(f"L1 missed: {EXISTS}: no provenance is generated for this image")
        return Assessment(0, tuple(reasons))
    first = next((e for e in prov if e.strong), prov[0])
    reasons.append(f"L1: {EXISTS}: {first.how}")
    signed = _signed_provenance(b)
    if signed is None:
        why = first.note or "provenance is not signed"
        reasons.append(f"L2 missed: {AUTHENTIC}: {first.how} is unsigned ({why})")
        return Assessment(1, tuple(reasons))
    if not b.hosted:
        reasons.append(f"L2 missed: {HOSTED}: job {b.job} runs on a {b.hosted_note}")
        return Assessment(1, tuple(reasons))
    how = (
        signed.how
        if signed.strong
        else f"{signed.how}, covered by a keyless signature of the image digest"
    )
    reasons.append(f"L2: {AUTHENTIC}: {how}; {HOSTED}: {b.hosted_note}")
    if b.isolated_provenance is None:
        fix = (
            "call slsa-github-generator's generator_container_slsa3 reusable workflow"
            if b.system == "github"
            else "sign provenance in a separate job that alone has id_tokens"
        )
        reasons.append(
            f"L3 missed: {UNFORGEABLE}: the signing identity is reachable from the build "
            f"steps of job {b.job} ({fix})"
        )
        return Assessment(2, tuple(reasons))
    reasons.append(
        f"L3: {UNFORGEABLE}: {b.isolated_provenance}; {ISOLATED}: ephemeral hosted runner per job"
    )
    return Assessment(3, tuple(reasons))


@report_section
def slsa_section(ctx: ScanContext) -> Iterator[Section]:
    builds = ctx.instances(ImageBuild)
    if not builds:
        return
    rows = []
    for b in builds:
        a = assess(b)
        rows.append(
            {
                "file": b.file.rel,
                "job": b.job,
                "image": b.image or "?",
                "level": f"L{a.level}",
                "reasons": "; ".join(a.reasons),
            }
        )
    yield Section(
        "slsa-build-level", "SLSA v1.0 Build track level per image-producing pipeline", rows
    )
