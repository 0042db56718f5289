"""Render what the cluster gets: Helm charts of the scan, as Kubernetes documents.

Each chart of the scan is rendered once per distinct values set (`values`) by Helm's own
engine, in a bounded worker process (`sandbox`), from an archive of its files read through
`safe_read` (`archive`). Every rendered template becomes a YAML `SourceFile` the rules read
like any other; a finding in one is moved back to the template line (or values line) that
produced the value, with the rendered object as a related location (`mapping`). Charts that
render replace the text heuristics over them: the images the values-file walk guesses, and the
`image:` lines the template regex reads, are judged from the rendered objects instead.

Without helm-python-sdk, templates free of template actions are read as plain YAML and the
report says once that the others were not rendered.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubeward.model.k8s import Container
from kubeward.parse.yamlnode import YamlLimitError, load_documents
from kubeward.registry import Finding, Related, Rule, instances_in
from kubeward.render.archive import ArchiveRefused, ChartArchive, pack_chart
from kubeward.render.kustomize import patched_kustomizations
from kubeward.render.mapping import Located, Scope, ValuesIndex, locate
from kubeward.render.sandbox import Budget, Renderer, RenderFailed, sdk_available
from kubeward.render.values import (
    ValuesLayer,
    ValuesSet,
    cli_values,
    gitops_targets,
    merge,
    typed,
)
from kubeward.source import FileKind, ScanError, SourceFile, Span

RENDERED_SUFFIX = ".rendered"
MAX_VALUES_SETS = 8  # renders of one chart (its own values, then GitOps objects', in order)
RELEASE_NAME = "release"
_HELM_ERR_RE = re.compile(r"([^\s:\"(]+\.(?:yaml|yml|tpl|txt|json)):(\d+)(?::\d+)?")
# The rules whose hits on a rendered chart's values files are the values-file walk's guesses.
_IMAGE_TARGETS = ("ImageUse",)
_HARDCODED_RULE = "helm-template-hardcoded-image"


_RENDERED_RE = re.compile(r"\.rendered(?:\.\d+)?$")


def is_rendered(rel: str) -> bool:
    """Whether a scan path is a rendered template (not a file of the repository)."""
    return ".rendered" in rel and _RENDERED_RE.search(rel) is not None


@dataclass
class RenderOptions:
    enabled: bool = True
    values_files: Sequence[str] = ()
    set_values: Sequence[str] = ()
    budget: Budget = field(default_factory=Budget)
    namespace: str = "default"


@dataclass
class _Origin:
    chart_rel: str  # the chart directory
    template: str | None  # the scanned template file, None for one out of a .tgz
    label: str  # the values set
    identity: bool  # the rendered text is the template's (plain-YAML fallback)
    values: list[tuple[ValuesIndex, SourceFile | None, Span | None]]
    strict: bool = False  # Kustomize: a finding not traced to a patch is left to the base
    scopes: list[Scope] = field(default_factory=list)


@dataclass
class Rendered:
    """What rendering added to the scan."""

    files: list[SourceFile] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    origins: dict[str, _Origin] = field(default_factory=dict)
    replaced_values: set[str] = field(default_factory=set)
    replaced_templates: set[str] = field(default_factory=set)
    charts: int = 0
    renders: int = 0
    seconds: float = 0.0
    _templates: dict[str, SourceFile] = field(default_factory=dict)

    # --- findings -----------------------------------------------------------------------------

    def apply(
        self, hits: list[tuple[str, Finding]], registry: Mapping[str, Rule]
    ) -> list[tuple[str, Finding]]:
        """Drop what rendering replaced, and move findings in rendered files to their source."""
        if not self.origins:
            return hits
        image_lines: set[tuple[str, int]] = set()
        out: list[tuple[str, Finding]] = []
        moved: list[tuple[str, Finding]] = []
        for rid, finding in hits:
            path = finding.span.path
            if path in self.replaced_values:
                r = registry.get(rid)
                if r is not None and r.target.__name__ in _IMAGE_TARGETS:
                    continue
            if path in self.origins:
                new = self._move(finding)
                if new is not None:
                    moved.append((rid, new))
                continue
            out.append((rid, finding))
        if any(rid == _HARDCODED_RULE and f.span.path in self.replaced_templates for rid, f in out):
            image_lines = self._rendered_image_lines()
        kept = [
            (rid, f)
            for rid, f in out
            if not (
                rid == _HARDCODED_RULE
                and f.span.path in self.replaced_templates
                and (f.span.path, f.span.start.line) not in image_lines
            )
        ]
        return kept + moved

    def _rendered_image_lines(self) -> set[tuple[str, int]]:
        """(template, line) of every container image the rendered objects hold."""
        lines: set[tuple[str, int]] = set()
        for f in self.files:
            for c in instances_in(f, Container):
                if c.image_node is None:
                    continue
                span, _how = self._locate(c.image_span)
                lines.add((span.path, span.start.line))
        return lines

    def _move(self, finding: Finding) -> Finding | None:
        o = self.origins[finding.span.path]
        span, how = self._locate(finding.span)
        if o.strict:
            related = tuple(self._strict_related(finding.related))
            if how != "patch":
                # Not a patch's value: the base file's own scan judges it, with the context
                # (an `images:` override, its bindings) the model already gives it.
                return None
            rel = (Related(finding.span, f"the object as {o.label} patches it"),)
            return dataclasses.replace(
                finding,
                span=span,
                related=related + rel,
                properties={**finding.properties, "kustomize_patched": o.label},
            )
        related = tuple(
            Related(self._locate(r.span)[0], r.label) if r.span.path in self.origins else r
            for r in finding.related
        )
        if span == finding.span:
            extra: tuple[Related, ...] = ()
        else:
            extra = (Related(finding.span, f"rendered by Helm with {o.label}"),)
        props: dict[str, Any] = dict(finding.properties)
        props["helm_values"] = o.label
        props["helm_chart"] = o.chart_rel or "."
        if how:
            props["helm_source"] = how
        return dataclasses.replace(finding, span=span, related=related + extra, properties=props)

    def _strict_related(self, related: Sequence[Related]) -> Iterator[Related]:
        for r in related:
            o = self.origins.get(r.span.path)
            if o is None or not o.strict:
                yield r
                continue
            span, how = self._locate(r.span)
            yield Related(span if how == "patch" else r.span, r.label)

    def _locate(self, span: Span) -> tuple[Span, str | None]:
        o = self.origins.get(span.path)
        if o is None:
            return span, None
        tf = self._templates.get(o.template) if o.template else None
        if o.identity and tf is not None:
            return Span(tf.rel, span.start, span.end), "template"
        rf = next((f for f in self.files if f.rel == span.path), None)
        if rf is None:
            return span, None
        loc: Located | None = locate(
            rendered_docs=rf.documents,
            span=span,
            template=tf,
            values=o.values,
            strict=o.strict,
            scopes=o.scopes,
        )
        if loc is None:
            return span, None
        return loc.span, loc.how


# --- the charts of a scan -----------------------------------------------------------------------


@dataclass
class _Chart:
    file: SourceFile  # Chart.yaml
    rel_dir: str
    abs_dir: str
    name: str
    library: bool


def _charts(files: Sequence[SourceFile]) -> list[_Chart]:
    out = []
    for f in files:
        if f.kind is not FileKind.HELM_CHART or not f.documents or not f.documents[0].is_map:
            continue
        doc = f.documents[0]
        rel_dir = f.rel.rsplit("/", 1)[0] if "/" in f.rel else ""
        out.append(
            _Chart(
                file=f,
                rel_dir=rel_dir,
                abs_dir=os.path.dirname(f.abspath),
                name=doc.get_str("name") or rel_dir.rsplit("/", 1)[-1],
                library=doc.get_str("type") == "library",
            )
        )
    return out


def _is_vendored(c: _Chart, dirs: set[str]) -> bool:
    """A chart under another chart's `charts/`: rendered with its parent only."""
    return any(
        d != c.rel_dir and c.rel_dir.startswith(f"{d}/charts/" if d else "charts/") for d in dirs
    )


def _helm_error(message: str, archive: ChartArchive, chart_rel: str) -> ScanError:
    """Helm's `template: nginx/templates/x.yaml:12:3: ...` as an entry at that template line."""
    m = _HELM_ERR_RE.search(message)
    first = " ".join(message.split())
    if archive.missing:
        missing = ", ".join(str(d["name"]) for d in archive.missing)
        first += f" (dependency {missing} is not vendored under charts/ nor in the scan)"
    if m:
        rel, _inner = archive.source_of(m.group(1))
        if rel is not None:
            return ScanError(rel, f"Helm render failed: {first}", int(m.group(2)))
    return ScanError(
        f"{chart_rel}/Chart.yaml" if chart_rel else "Chart.yaml", f"Helm render failed: {first}"
    )


# Models no rendered template can hold: with only rules over these, charts are not rendered.
_UNRENDERED_MODELS = frozenset(
    {
        "kubeward.model.dockerfile",
        "kubeward.model.workflow",
        "kubeward.model.gitlab",
        "kubeward.model.gitref",
        "kubeward.slsa",
        "kubeward.rules.cicd._shell",
        "kubeward.rules.cicd._variables",
    }
)


def render_scan(
    files: Sequence[SourceFile],
    options: RenderOptions,
    *,
    root: str = "",
    rules: Sequence[Rule] | None = None,
) -> Rendered:
    """Render every chart of the scan; never raises (problems are error entries).

    `rules` are the selected rules: when none reads what a chart renders (Dockerfile or CI
    rules only), nothing is rendered."""
    if rules is not None and all(r.target.__module__ in _UNRENDERED_MODELS for r in rules):
        return Rendered()
    try:
        out = _render_scan(files, options, root)
        if options.enabled:
            _kustomize(out, files)
        return out
    except Exception as e:  # a bug here must not lose the scan, as for a rule
        out = Rendered()
        out.errors.append(
            ScanError("<scan>", f"internal error rendering Helm charts: {type(e).__name__}: {e}")
        )
        return out


def _render_scan(files: Sequence[SourceFile], options: RenderOptions, root: str) -> Rendered:
    out = Rendered()
    if not options.enabled:
        return out
    charts = _charts(files)
    if not charts:
        return out
    by_rel = {f.rel: f for f in files}
    out._templates = {f.rel: f for f in files if f.kind is FileKind.HELM_TEMPLATE}
    scan_root = next((f.root for f in files if f.root), root) or os.getcwd()
    if not sdk_available():
        _plain_yaml(out, charts, files)
        return out
    try:
        cli_layers = cli_values(options.values_files, by_rel)
    except ValueError as e:
        out.errors.append(ScanError("<scan>", str(e)))
        cli_layers = []
    targets = list(gitops_targets(files, scan_root))
    for t in targets:
        out.errors.extend(ScanError(p, r) for p, r in t.errors)
    dirs = {c.rel_dir for c in charts}
    by_name: dict[str, list[tuple[str, str]]] = {}
    for c in charts:
        by_name.setdefault(c.name, []).append((c.abs_dir, c.rel_dir))
    started = time.monotonic()
    with Renderer(options.budget) as renderer:
        for c in charts:
            if c.library or _is_vendored(c, dirs):
                continue
            try:
                _render_chart(
                    out, renderer, c, by_rel, by_name, scan_root, cli_layers, targets, options
                )
            except _SdkMissing as e:
                # Installed but not loadable (a wheel for another platform): as if absent.
                fallback = Rendered(_templates=out._templates)
                _plain_yaml(fallback, charts, files, reason=str(e))
                fallback.errors = [*out.errors, *fallback.errors]
                return fallback
        out.renders = renderer.renders
    out.seconds = time.monotonic() - started
    return out


def _values_sets(
    c: _Chart, cli_layers: list[ValuesLayer], targets: Sequence[Any], options: RenderOptions
) -> list[ValuesSet]:
    label = "the chart's values.yaml"
    if cli_layers or options.set_values:
        label += " and the command line's values"
    sets = [ValuesSet(label, tuple(cli_layers), tuple(options.set_values))]
    for t in targets:
        if (t.path is not None and (c.rel_dir == t.path or c.rel_dir.endswith("/" + t.path))) or (
            t.chart_name is not None and t.chart_name == c.name
        ):
            sets.append(t.values)
    distinct: dict[str, ValuesSet] = {}
    for s in sets:
        distinct.setdefault(s.key, s)
    return list(distinct.values())[:MAX_VALUES_SETS]


def _render_chart(
    out: Rendered,
    renderer: Renderer,
    c: _Chart,
    by_rel: dict[str, SourceFile],
    by_name: dict[str, list[tuple[str, str]]],
    scan_root: str,
    cli_layers: list[ValuesLayer],
    targets: Sequence[Any],
    options: RenderOptions,
) -> None:
    chart_yaml = c.file.rel
    try:
        archive = pack_chart(
            c.abs_dir, c.rel_dir, root=c.file.root or scan_root, charts_by_name=by_name
        )
    except ArchiveRefused as e:
        out.errors.append(ScanError(chart_yaml, f"chart not rendered: {e}"))
        return
    out.errors.extend(
        ScanError(p, r) for p, r in archive.notes if r and not r.startswith("dependency ")
    )
    out.charts += 1
    chart_values: list[tuple[ValuesIndex, SourceFile | None, Span | None]] = []
    top_values = by_rel.get(archive.values_files.get(f"{archive.name}/", ""))
    defaults = (
        typed(top_values.documents[0])
        if top_values is not None and top_values.documents and top_values.documents[0].is_map
        else {}
    )
    for vrel in archive.values_files.values():
        vf = by_rel.get(vrel)
        if vf is not None and vf.documents and vf.documents[0].is_map:
            chart_values.append((ValuesIndex.of(vf.documents[0]), vf, None))
    for i, vs in enumerate(_values_sets(c, cli_layers, targets, options)):
        try:
            manifests = renderer.render(
                archive.data,
                vs.merged,
                set_values=list(vs.set_values),
                name=_release_name(vs.release),
                namespace=vs.namespace or options.namespace,
            )
        except RenderFailed as e:
            if e.kind == "missing":
                raise _SdkMissing(str(e)) from None
            err = _helm_error(str(e), archive, c.rel_dir)
            if i > 0:
                err = dataclasses.replace(err, reason=f"{err.reason} (values: {vs.label})")
            out.errors.append(err)
            continue
        layers = [
            (
                ValuesIndex.of(layer.node) if layer.node is not None else _index_of_data(layer),
                _file_of(layer, by_rel),
                layer.anchor,
            )
            for layer in reversed(vs.layers)
            # A value from a file outside the scan has nowhere to point: its template line does.
            if layer.node is not None or layer.anchor is not None
        ]
        values = [*layers, *chart_values]
        given = merge(vs.merged, _simple_sets(vs.set_values))
        enabled = [
            str(d["name"]) for d in archive.missing if _dependency_enabled(d, defaults, given)
        ]
        if i == 0 and enabled:
            missing = ", ".join(enabled)
            out.errors.append(
                ScanError(
                    chart_yaml,
                    f"dependency {missing} is not vendored under charts/ nor in the scan: "
                    "the chart is rendered without it",
                )
            )
        if i == 0:
            # Rendered: the text heuristics over this chart and its subcharts are replaced.
            for d in archive.dirs.values():
                if d is None:
                    continue
                prefix = f"{d}/" if d else ""
                out.replaced_templates.update(t for t in out._templates if t.startswith(prefix))
            out.replaced_values.update(archive.values_files.values())
        suffix = RENDERED_SUFFIX if i == 0 else f"{RENDERED_SUFFIX}.{i}"
        for key in sorted(manifests):
            text = manifests[key]
            if not key.endswith((".yaml", ".yml", ".json")) or not text.strip():
                continue
            src, _inner = archive.source_of(key)
            inner = key.split("/", 1)[1] if "/" in key else key  # without the chart's name
            rel = (src or (f"{c.rel_dir}/{inner}" if c.rel_dir else inner)) + suffix
            f = SourceFile(
                rel=rel, abspath=c.file.abspath, kind=FileKind.YAML, text=text, root=c.file.root
            )
            try:
                f.documents = load_documents(text, rel)
            except (yaml.YAMLError, YamlLimitError, RecursionError) as e:
                where = src or chart_yaml
                first = str(e).splitlines()[0] if str(e) else type(e).__name__
                out.errors.append(
                    ScanError(where, f"Helm rendered output is not valid YAML: {first}")
                )
                continue
            out.files.append(f)
            out.origins[rel] = _Origin(
                chart_rel=c.rel_dir,
                template=src if src in out._templates else None,
                label=vs.label,
                identity=False,
                values=values,
            )


def _simple_sets(exprs: Sequence[str]) -> dict[str, Any]:
    """`--set a.b=true` as data, for deciding dependency conditions here (Helm's own parser,
    in the worker, gives the values the chart is rendered with)."""
    out: dict[str, Any] = {}
    for expr in exprs:
        for part in expr.split(","):
            key, eq, raw = part.partition("=")
            if not eq or not key or "[" in key:
                continue
            value: Any = {"true": True, "false": False}.get(raw, raw)
            for k in reversed(key.split(".")):
                value = {k: value}
            out = merge(out, value)
    return out


def _lookup(values: Mapping[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.strip().split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _dependency_enabled(
    dep: Mapping[str, object], defaults: Mapping[str, Any], overrides: Mapping[str, Any]
) -> bool:
    """Helm's `condition` (the first path that holds a boolean decides), then `tags` (any
    true enables); enabled when neither decides."""
    values = merge(dict(defaults), dict(overrides))
    cond = dep.get("condition")
    if isinstance(cond, str):
        for path in cond.split(","):
            v = _lookup(values, path)
            if isinstance(v, bool):
                return v
    tags = dep.get("tags")
    if isinstance(tags, list) and tags:
        got = [_lookup(values, f"tags.{t}") for t in tags if isinstance(t, str)]
        decided = [v for v in got if isinstance(v, bool)]
        if decided:
            return any(decided)
    return True


def _kustomize(out: Rendered, files: Sequence[SourceFile]) -> None:
    """Kustomize overlays with patches: their patched objects, one rendered file each."""
    for p in patched_kustomizations(files):
        out.errors.extend(p.errors)
        if not p.objects:
            continue
        rel = p.root.file.rel + RENDERED_SUFFIX
        text = yaml.safe_dump_all(p.objects, sort_keys=False, default_flow_style=False)
        f = SourceFile(
            rel=rel,
            abspath=p.root.file.abspath,
            kind=FileKind.YAML,
            text=text,
            root=p.root.file.root,
        )
        try:
            f.documents = load_documents(text, rel)
        except (yaml.YAMLError, YamlLimitError, RecursionError):
            continue
        out.files.append(f)
        out.origins[rel] = _Origin(
            chart_rel="",
            template=None,
            label=f"kustomization {p.root.file.rel}",
            identity=False,
            values=p.layers,
            strict=True,
            scopes=p.scopes,
        )


def _release_name(name: str | None) -> str:
    """A GitOps object's release name when Helm accepts it (DNS label, 53 characters)."""
    if name and len(name) <= 53 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name):
        return name
    return RELEASE_NAME


def _file_of(layer: ValuesLayer, by_rel: dict[str, SourceFile]) -> SourceFile | None:
    if layer.node is None:
        return None
    return by_rel.get(layer.node.path)


def _index_of_data(layer: ValuesLayer) -> ValuesIndex:
    text = yaml.safe_dump(layer.data, default_flow_style=False) if layer.data else "{}"
    docs = load_documents(text, layer.label)
    return ValuesIndex.of(docs[0]) if docs else ValuesIndex()


class _SdkMissing(Exception):
    pass


def _plain_yaml(
    out: Rendered,
    charts: list[_Chart],
    files: Sequence[SourceFile],
    *,
    reason: str = "helm-python-sdk is not installed",
) -> None:
    """No Helm engine: templates without template actions are read as the YAML they are."""
    read = skipped = 0
    for f in files:
        if f.kind is not FileKind.HELM_TEMPLATE or not f.rel.endswith((".yaml", ".yml")):
            continue
        if "{{" in f.text:
            skipped += 1
            continue
        rel = f.rel + RENDERED_SUFFIX
        g = SourceFile(rel=rel, abspath=f.abspath, kind=FileKind.YAML, text=f.text, root=f.root)
        try:
            g.documents = load_documents(f.text, rel)
        except (yaml.YAMLError, YamlLimitError, RecursionError):
            continue
        read += 1
        out.files.append(g)
        chart = next(
            (c.rel_dir for c in charts if f.rel.startswith(c.rel_dir + "/") or not c.rel_dir), ""
        )
        out.origins[rel] = _Origin(chart, f.rel, "no rendering (plain YAML)", True, [])
    out.errors.append(
        ScanError(
            "<scan>",
            f"{reason}: {len(charts)} Helm chart(s) not rendered; "
            f"{read} template(s) without template actions read as plain YAML, {skipped} not "
            "read (pip install helm-python-sdk)",
        )
    )
