"""Helm charts: `Chart.yaml` (v1 and v2), their dependencies and lock, and values images.

A chart is read from its `Chart.yaml` (a scanned file). The parts of a chart that discovery does
not read as YAML documents (`Chart.lock`, `requirements.lock`, `charts/*.tgz` and their `.prov`
files) are read from beside it once, when the chart model is built. For `apiVersion: v1` charts
the dependencies live in `requirements.yaml` and the lock in `requirements.lock`.

`ChartRequirement` is the one shape rules about chart sources share: a dependency of a chart or
a Kustomize `helmCharts` entry (name, version, repository, with spans).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import yaml

from kubeward import safe_read
from kubeward.model.image import ImageRef, is_valid_digest, parse_image
from kubeward.model.images import ImageUse, image_source
from kubeward.parse.yamlnode import YamlLimitError, YNode, is_templated, load_documents
from kubeward.registry import instances_in, provider
from kubeward.source import FileKind, ScanError, SourceFile, Span

_MAX_SIDE_FILE = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ChartRequirement:
    """A chart another file asks for: a `Chart.yaml` dependency or a Kustomize `helmCharts` entry.

    `origin` is `chart-dependency` or `kustomize-helm-chart`; `where` names it in messages.
    """

    name: str
    version: str | None
    repository: str
    node: YNode
    origin: str
    where: str
    file: str  # rel path of the declaring file
    alias: str | None = None
    # The exact version a lock that matches its digest records for this dependency.
    locked_version: str | None = None

    @property
    def span(self) -> Span:
        n = self.node.get("name")
        return (n or self.node).span

    def value_span(self, key: str) -> Span:
        """The span of one key's value (the entry when absent)."""
        v = self.node.get(key)
        return v.span if v is not None else self.span

    @property
    def repository_key(self) -> str:
        return "repo" if self.origin == "kustomize-helm-chart" else "repository"

    @property
    def is_local(self) -> bool:
        r = self.repository.strip()
        return r == "" or r.startswith("file://")

    @property
    def is_oci(self) -> bool:
        return self.repository.strip().lower().startswith("oci://")

    @property
    def is_alias(self) -> bool:
        """`@name` or `alias:name`: resolved through the user's repositories.yaml."""
        r = self.repository.strip()
        return r.startswith("@") or r.startswith("alias:")


@dataclass(frozen=True, slots=True)
class ChartLock:
    """`Chart.lock` (or `requirements.lock`), parsed with positions."""

    rel: str
    node: YNode
    digest: str | None
    dependencies: tuple[dict[str, object], ...]

    @property
    def digest_span(self) -> Span:
        d = self.node.get("digest")
        return (d or self.node).span


@dataclass(frozen=True, slots=True)
class VendoredChart:
    """A packaged dependency under `charts/`, and whether its provenance file sits beside it."""

    rel: str
    name: str
    has_prov: bool


@dataclass(frozen=True, slots=True)
class HelmChart:
    """One chart: its `Chart.yaml`, dependencies, lock and vendored packages."""

    file: SourceFile
    node: YNode
    api_version: str
    name: str | None
    app_version: str | None
    dir_rel: str
    dependencies: tuple[ChartRequirement, ...]
    deps_node: YNode | None  # the `dependencies` sequence (Chart.yaml or requirements.yaml)
    deps_key_span: Span | None
    lock: ChartLock | None
    lock_name: str
    lock_error: str | None = None
    vendored: tuple[VendoredChart, ...] = field(default_factory=tuple)

    @property
    def name_span(self) -> Span:
        n = self.node.get("name")
        return (n or self.node).span

    @property
    def anchor(self) -> Span:
        """Where a finding about the dependencies as a whole points."""
        return self.deps_key_span or self.name_span


# --- reading ------------------------------------------------------------------------------------


def _join(dir_rel: str, name: str) -> str:
    return f"{dir_rel}/{name}" if dir_rel else name


def _read_side_yaml(f: SourceFile, name: str) -> tuple[YNode | None, str | None]:
    """Parse the YAML file `name` beside `f` (None, None when absent).

    The file is repository content that discovery did not vet: it is read through
    `safe_read` (inside the scan root, a regular file, bounded), and a refusal is also an error
    entry of the report naming the file.
    """
    dir_rel = f.rel.rsplit("/", 1)[0] if "/" in f.rel else ""
    rel = _join(dir_rel, name)
    abspath = os.path.join(os.path.dirname(f.abspath), name)
    root = f.root or os.path.dirname(os.path.realpath(f.abspath))
    try:
        text = safe_read.read_text(abspath, root=root, max_size=_MAX_SIDE_FILE)
    except safe_read.ReadRefused as e:
        if e.missing:
            return None, None
        err = ScanError(rel, str(e))
        if err not in f.read_errors:
            f.read_errors.append(err)
        return None, f"cannot read {rel}: {e}"
    try:
        docs = load_documents(text, rel, max_nodes=100_000)
    except (yaml.YAMLError, YamlLimitError, RecursionError) as e:
        return None, f"cannot parse {rel}: {str(e).splitlines()[0] if str(e) else e}"
    if not docs or not docs[0].is_map:
        return None, f"{rel} holds no mapping"
    return docs[0], None


def _named_entries(seq: YNode | None) -> Iterator[tuple[YNode, str, str | None]]:
    """The mapping entries of a list of charts that have a name, with the version as written:
    what `Chart.yaml` dependencies and Kustomize `helmCharts` entries share."""
    for item in seq.seq() if seq is not None else []:
        if not item.is_map:
            continue
        name = item.get_str("name")
        if not name:
            continue
        version = item.get("version")
        yield item, name, version.text if version is not None else None


def _requirements(seq: YNode | None, owner: str) -> tuple[ChartRequirement, ...]:
    return tuple(
        ChartRequirement(
            name=name,
            version=version,
            repository=item.get_str("repository") or "",
            node=item,
            origin="chart-dependency",
            where=f"dependency {name} of {owner}",
            file=item.path,
            alias=item.get_str("alias"),
        )
        for item, name, version in _named_entries(seq)
    )


def _owner(chart_name: str | None, where_file: str, chart_rel: str) -> str:
    """How a dependency's message names what declares it: the chart, and `requirements.yaml`
    when the dependency is declared there (a v1 chart)."""
    chart = f"chart {chart_name}" if chart_name else "the chart"
    return chart if where_file == chart_rel else f"{chart} (requirements.yaml)"


def _lock_of(node: YNode, rel: str) -> ChartLock:
    deps = node.get("dependencies")
    plain: list[dict[str, object]] = []
    for item in deps.seq() if deps is not None else []:
        data = item.to_python()
        if isinstance(data, dict):
            plain.append(data)
    return ChartLock(rel=rel, node=node, digest=node.get_str("digest"), dependencies=tuple(plain))


def _vendored(chart_abs_dir: str, dir_rel: str, root: str) -> tuple[VendoredChart, ...]:
    charts = os.path.join(chart_abs_dir, "charts")
    if not safe_read.inside(charts, root):
        return ()  # a `charts` link out of the scan root: not this repository's packages
    try:
        names = sorted(os.listdir(charts))
    except OSError:
        return ()
    out = []
    present = set(names)
    for n in names:
        if n.endswith(".tgz"):
            out.append(
                VendoredChart(
                    rel=_join(dir_rel, f"charts/{n}"),
                    name=n[: -len(".tgz")],
                    has_prov=f"{n}.prov" in present,
                )
            )
    return tuple(out)


@provider(HelmChart)
def helm_charts(f: SourceFile) -> Iterator[HelmChart]:
    if f.kind is not FileKind.HELM_CHART or not f.documents or not f.documents[0].is_map:
        return
    node = f.documents[0]
    api = node.get_str("apiVersion") or "v1"
    dir_rel = f.rel.rsplit("/", 1)[0] if "/" in f.rel else ""
    abs_dir = os.path.dirname(f.abspath)
    deps_node: YNode | None = None
    deps_key: Span | None = None
    if api == "v1":
        lock_name = "requirements.lock"
        req_rel = _join(dir_rel, "requirements.yaml")
        req, _err = _read_side_yaml(f, "requirements.yaml")
        if req is not None:
            deps_node = req.get("dependencies")
            k = req.key_node("dependencies")
            deps_key = k.span if k is not None else None
        where_file = req_rel
    else:
        lock_name = "Chart.lock"
        where_file = f.rel
    if deps_node is None:
        deps_node = node.get("dependencies")
        k = node.key_node("dependencies")
        deps_key = k.span if k is not None else None
        if deps_node is not None:
            where_file = f.rel
    lock_rel = _join(dir_rel, lock_name)
    lock_node, lock_error = _read_side_yaml(f, lock_name)
    chart = HelmChart(
        file=f,
        node=node,
        api_version=api,
        name=node.get_str("name"),
        app_version=node.get_str("appVersion"),
        dir_rel=dir_rel,
        # The finding's location names the file; the message names the chart.
        dependencies=_requirements(deps_node, _owner(node.get_str("name"), where_file, f.rel)),
        deps_node=deps_node,
        deps_key_span=deps_key,
        lock=_lock_of(lock_node, lock_rel) if lock_node is not None else None,
        lock_name=lock_name,
        lock_error=lock_error,
        vendored=_vendored(abs_dir, dir_rel, f.root or abs_dir),
    )
    if chart.lock is not None and lock_matches(chart):
        locked = {
            (str(d.get("name")), str(d.get("repository") or "")): str(d.get("version") or "")
            for d in chart.lock.dependencies
        }
        deps = tuple(
            dataclasses.replace(r, locked_version=locked.get((r.name, r.repository)) or None)
            for r in chart.dependencies
        )
        chart = dataclasses.replace(chart, dependencies=deps)
    yield chart


@provider(ChartRequirement)
def chart_requirements(f: SourceFile) -> Iterator[ChartRequirement]:
    """Chart dependencies and Kustomize `helmCharts` entries declared by a file."""
    if f.kind is FileKind.HELM_CHART:
        for chart in instances_in(f, HelmChart):
            yield from chart.dependencies
    elif f.kind is FileKind.KUSTOMIZATION:
        for doc in f.documents:
            charts = doc.get("helmCharts") if doc.is_map else None
            for item, name, version in _named_entries(charts):
                yield ChartRequirement(
                    name=name,
                    version=version,
                    repository=item.get_str("repo") or "",
                    node=item,
                    origin="kustomize-helm-chart",
                    where=f"helmCharts entry {name}",
                    file=f.rel,
                )


# --- versions -----------------------------------------------------------------------------------

# An exact SemVer 2 version (Helm accepts an optional leading `v` and strict X.Y.Z).
_EXACT_VERSION_RE = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


def is_exact_version(version: str | None) -> bool:
    """Whether a dependency version names one release (`1.2.3`), not a range (`1.x`, `^1`)."""
    if version is None:
        return False
    v = version.strip()
    if v.startswith("="):
        v = v.lstrip("=").strip()
    return bool(_EXACT_VERSION_RE.match(v))


# --- Chart.lock digest, as Helm computes it ------------------------------------------------------

# Field order and omitempty of Helm's `chart.Dependency` JSON tags (pkg/chart/dependency.go).
_DEP_FIELDS: tuple[tuple[str, bool], ...] = (
    ("name", False),
    ("version", True),
    ("repository", False),
    ("condition", True),
    ("tags", True),
    ("enabled", True),
    ("import-values", True),
    ("alias", True),
)


def _go_value(v: object) -> object:
    """Go's encoding/json orders map keys; Python keeps insertion order."""
    if isinstance(v, dict):
        return {str(k): _go_value(v[k]) for k in sorted(v, key=str)}
    if isinstance(v, list):
        return [_go_value(x) for x in v]
    return v


def _go_dependency(d: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, omitempty in _DEP_FIELDS:
        v = d.get(key)
        if key == "enabled":
            if v is True:
                out[key] = True
            continue
        if omitempty and v in (None, "", [], {}):
            continue
        if v is None:
            v = ""
        out[key] = _go_value(v)
    return out


def _go_json(data: object) -> bytes:
    """`json.Marshal` output: compact, with Go's HTML-safe escapes of <, > and &."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode("utf-8")


def hash_req(req: list[dict[str, object]], lock: list[dict[str, object]]) -> str:
    """Helm's `resolver.HashReq`: sha256 over the JSON of `[req, lock]`."""
    data = _go_json([[_go_dependency(d) for d in req], [_go_dependency(d) for d in lock]])
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hash_v2_req(req: list[dict[str, object]]) -> str:
    """Helm's `resolver.HashV2Req` (locks written by Helm 2): sha256 of `{"dependencies": req}`."""
    data = _go_json({"dependencies": [_go_dependency(d) for d in req]})
    return "sha256:" + hashlib.sha256(data).hexdigest()


def requirement_dicts(chart: HelmChart) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for item in chart.deps_node.seq() if chart.deps_node is not None else []:
        data = item.to_python()
        if isinstance(data, dict):
            out.append(data)
    return out


def lock_matches(chart: HelmChart) -> bool | None:
    """Whether the lock's digest is the one Helm computes (None: cannot tell offline).

    Helm resolves repository aliases (`@name`, `alias:name`) to URLs from the user's
    repositories.yaml before hashing, so a chart using them cannot be checked here.
    """
    if chart.lock is None or chart.lock.digest is None:
        return None
    if any(r.is_alias for r in chart.dependencies):
        return None
    req = requirement_dicts(chart)
    lock = list(chart.lock.dependencies)
    if hash_req(req, lock) == chart.lock.digest:
        return True
    return chart.api_version == "v1" and hash_v2_req(req) == chart.lock.digest


def computed_lock_digest(chart: HelmChart) -> str:
    lock = list(chart.lock.dependencies) if chart.lock is not None else []
    return hash_req(requirement_dicts(chart), lock)


# --- values images ------------------------------------------------------------------------------

_IMAGE_KEY_RE = re.compile(r"image", re.I)


def _chart_app_version(f: SourceFile) -> str | None:
    node, _err = _read_side_yaml(f, "Chart.yaml")
    return node.get_str("appVersion") if node is not None else None


def _scalar(node: YNode | None) -> str | None:
    if node is None or not node.is_scalar:
        return None
    t = node.text
    return t.strip() if t is not None else None


def _looks_like_image_map(key: str, node: YNode) -> bool:
    repo = node.get("repository")
    if repo is None or _scalar(repo) is None:
        return False
    text = _scalar(repo) or ""
    if "://" in text or " " in text or not text:
        return False
    if _IMAGE_KEY_RE.search(key):
        return True
    return any(node.get(k) is not None for k in ("tag", "digest", "registry", "pullPolicy"))


def _values_image(
    f: SourceFile, path: str, node: YNode, global_registry: str | None, app_version: str | None
) -> ImageUse | None:
    repo_node = node.get("repository")
    repo = _scalar(repo_node) or ""
    reg_node = node.get("registry")
    registry = _scalar(reg_node) or ""
    tag_node = node.get("tag")
    tag = _scalar(tag_node) or ""
    digest_node = node.get("digest")
    digest = _scalar(digest_node) or ""
    where = f"Helm values {path}"
    if global_registry and not is_templated(global_registry):
        registry = global_registry
        where += f" (registry from global.imageRegistry {global_registry})"
    name = f"{registry}/{repo}" if registry else repo
    unknown_tag = False
    if not tag and not digest:
        if app_version:
            tag = app_version
            where += f" (tag defaults to the chart's appVersion {app_version})"
        else:
            unknown_tag = True  # the template decides (often `default .Chart.AppVersion`)
    text = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    ref: ImageRef = parse_image(text)
    if unknown_tag and ref.error is None:
        ref = dataclasses.replace(ref, templated=True)
    assert repo_node is not None
    span = image_map_span(node, ref)
    return ImageUse(
        ref=ref, span=span, origin="helm-values", where=where, pull_policy=node.get("pullPolicy")
    )


def image_map_span(node: YNode, ref: ImageRef) -> Span:
    """Where a finding about image `ref`, built from the values image map `node`
    (`repository`/`tag`/`digest`), points: the most specific value. The tag when the tag is
    what is wrong, the digest key when the digest is missing, the repository when only the
    name is left to judge. Also used for images of rendered charts that come from values."""
    repo_node, tag_node, digest_node = node.get("repository"), node.get("tag"), node.get("digest")
    span = (repo_node or node).span
    if ref.digest is None:
        mutable = ref.tag in (None, "latest")
        if tag_node is not None and (mutable or digest_node is None):
            span = tag_node.span
        elif digest_node is not None:
            span = digest_node.span
    digest = _scalar(digest_node) or ""
    if ref.error and digest and not is_valid_digest(digest) and digest_node is not None:
        span = digest_node.span
    return span


def is_image_map(node: YNode) -> bool:
    """A values map that describes an image (`repository` and a tag, digest or registry)."""
    return node.is_map and _looks_like_image_map("image", node)


def _is_image_string_key(key: str) -> bool:
    """`image`, `initImage`, `busybox_image`: keys whose string value is an image reference."""
    return key == "image" or key.endswith("Image") or key.lower().endswith("_image")


def values_image_uses(f: SourceFile) -> Iterator[ImageUse]:
    if not f.documents or not f.documents[0].is_map:
        return
    root = f.documents[0]
    global_registry = _scalar(root.dig("global", "imageRegistry")) or None
    app_version: str | None = None
    app_version_read = False
    stack: list[tuple[str, YNode]] = [("", root)]
    seen: set[int] = set()
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.is_map:
            for k, v in node.items():
                key = str(k.value) if k.is_scalar else "?"
                sub = f"{path}.{key}" if path else key
                if v.is_map and _looks_like_image_map(key, v):
                    if not app_version_read:
                        app_version, app_version_read = _chart_app_version(f), True
                    use = _values_image(f, sub, v, global_registry, app_version)
                    if use is not None:
                        yield use
                    continue
                if _is_image_string_key(key) and v.is_scalar and v.text:
                    text = v.text.strip()
                    looks = key == "image" or any(c in text for c in ":/@")
                    if looks and text and " " not in text and "://" not in text:
                        yield ImageUse(
                            ref=parse_image(text),
                            span=v.span,
                            origin="helm-values",
                            where=f"Helm values {sub}",
                        )
                    continue
                if v.is_map or v.is_seq:
                    stack.append((sub, v))
        elif node.is_seq:
            for i, v in enumerate(node.seq()):
                if v.is_map or v.is_seq:
                    stack.append((f"{path}[{i}]", v))


@image_source
def helm_values_images(f: SourceFile) -> Iterator[ImageUse]:
    if f.kind is FileKind.HELM_VALUES:
        yield from values_image_uses(f)


# --- templates ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HelmTemplate:
    """A chart template (`templates/**`): Go-template text, never parsed as YAML."""

    file: SourceFile


@provider(HelmTemplate)
def helm_templates(f: SourceFile) -> Iterator[HelmTemplate]:
    if f.kind is FileKind.HELM_TEMPLATE:
        yield HelmTemplate(file=f)
