"""The values a chart is rendered with, and where each came from.

A values set is the chart's own `values.yaml` (Helm merges it) plus override layers, lowest
precedence first: the CLI's `--helm-values` files and `--set`, or what a GitOps object in the
same scan gives the chart (a Flux `HelmRelease`'s `valuesFrom` ConfigMaps then `values`; an
Argo CD `Application` source's `helm.valueFiles`, `helm.values`, `helm.valuesObject`, then
`helm.parameters`). Each layer keeps its parsed nodes, so a rendered value can be traced back
to the line that set it.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubeward import safe_read
from kubeward.model.k8s import KubeObject
from kubeward.parse.yamlnode import YamlLimitError, YNode, load_documents
from kubeward.registry import instances_in
from kubeward.source import SourceFile, Span

MAX_VALUES_BYTES = 4 << 20
_MAX_VALUES_NODES = 200_000


@dataclass(frozen=True)
class ValuesLayer:
    """One source of values: its data, and its nodes when they come from a scanned file."""

    label: str
    data: dict[str, Any]
    node: YNode | None = None
    anchor: Span | None = None  # where a value of this layer points when no node matches


@dataclass(frozen=True)
class ValuesSet:
    label: str
    layers: tuple[ValuesLayer, ...] = ()
    set_values: tuple[str, ...] = ()
    release: str | None = None  # the release name and namespace the object installs to
    namespace: str | None = None

    @property
    def merged(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for layer in self.layers:
            out = merge(out, layer.data)
        return out

    @property
    def key(self) -> str:
        return json.dumps(
            [self.merged, list(self.set_values), self.release, self.namespace],
            sort_keys=True,
            default=str,
        )


@dataclass
class GitOpsTarget:
    """A GitOps object's claim on a chart: by path in its repository, or by chart name."""

    path: str | None
    chart_name: str | None
    values: ValuesSet
    errors: list[tuple[str, str]] = field(default_factory=list)


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of user values: maps merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def typed(node: YNode) -> Any:
    """Plain data with YAML's scalar types (an `enabled: false` must stay a boolean)."""
    if node.is_map:
        return {str(k.value) if k.is_scalar else repr(k): typed(v) for k, v in node.items()}
    if node.is_seq:
        return [typed(v) for v in node.seq()]
    text = str(node.value)
    if node.style is not None:
        return text
    tag = node.tag
    if tag.endswith(":null"):
        return None
    if tag.endswith(":bool"):
        return node.bool
    if tag.endswith(":int"):
        try:
            return int(text.replace("_", ""), 0)
        except ValueError:
            return text
    if tag.endswith(":float"):
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return text
    return text


def _parse_values(text: str, where: str) -> YNode | None:
    """The root mapping of a values document (None when empty); raises ValueError."""
    try:
        docs = load_documents(text, where, max_nodes=_MAX_VALUES_NODES)
    except (yaml.YAMLError, YamlLimitError, RecursionError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"values are not valid YAML: {first}") from None
    if not docs:
        return None
    if not docs[0].is_map:
        if docs[0].is_scalar and docs[0].text is None:
            return None
        raise ValueError("values are not a mapping")
    return docs[0]


def layer_of_file(f: SourceFile, label: str) -> ValuesLayer:
    root = f.documents[0] if f.documents and f.documents[0].is_map else None
    return ValuesLayer(label, typed(root) if root is not None else {}, root)


def layer_of_text(text: str, label: str, anchor: Span | None) -> ValuesLayer:
    """Values written as a YAML string inside another document (a ConfigMap key, Argo CD's
    `helm.values`): their positions are not the file's, so they point at `anchor`."""
    root = _parse_values(text, label)
    return ValuesLayer(label, typed(root) if root is not None else {}, None, anchor)


def cli_values(paths: Sequence[str], files: dict[str, SourceFile]) -> list[ValuesLayer]:
    """`--helm-values FILE` layers (a file of the scan keeps its positions); raises ValueError."""
    out: list[ValuesLayer] = []
    for p in paths:
        real = os.path.realpath(p)
        scanned = next((f for f in files.values() if os.path.realpath(f.abspath) == real), None)
        if scanned is not None and scanned.documents:
            out.append(layer_of_file(scanned, f"--helm-values {p}"))
            continue
        try:
            text = safe_read.read_text(p, root=None, max_size=MAX_VALUES_BYTES)
        except safe_read.ReadRefused as e:
            raise ValueError(f"{p}: --helm-values: {e}") from None
        try:
            root = _parse_values(text, p)
        except ValueError as e:
            raise ValueError(f"{p}: --helm-values: {e}") from None
        out.append(ValuesLayer(f"--helm-values {p}", typed(root) if root is not None else {}))
    return out


# --- GitOps objects ------------------------------------------------------------------------------


def _norm_path(p: str) -> str:
    p = posixpath.normpath(p.strip().lstrip("/")) if p.strip() else "."
    return "" if p == "." else p


def _configmaps(files: Sequence[SourceFile]) -> dict[tuple[str | None, str], KubeObject]:
    out: dict[tuple[str | None, str], KubeObject] = {}
    for f in files:
        if "ConfigMap" not in f.text:
            continue
        for obj in instances_in(f, KubeObject):
            if obj.kind == "ConfigMap" and obj.name:
                out.setdefault((obj.namespace, obj.name), obj)
                out.setdefault((None, obj.name), obj)
    return out


def _set_path(path: str, value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed([p for p in path.split(".") if p]):
        out = {part: out}
    return out if isinstance(out, dict) else {}


def _flux_release(obj: KubeObject, cms: dict[tuple[str | None, str], KubeObject]) -> GitOpsTarget:
    spec = obj.node.get("spec")
    chart = spec.dig("chart", "spec") if spec is not None else None
    name = chart.get_str("chart") if chart is not None else None
    source_kind = chart.dig("sourceRef", "kind") if chart is not None else None
    by_path = source_kind is not None and source_kind.text in ("GitRepository", "Bucket")
    label = f"HelmRelease {obj.namespace + '/' if obj.namespace else ''}{obj.name} ({obj.file.rel})"
    layers: list[ValuesLayer] = []
    errors: list[tuple[str, str]] = []
    vf = spec.get("valuesFrom") if spec is not None else None
    for item in vf.seq() if vf is not None else []:
        if item.get_str("kind") != "ConfigMap":
            continue  # a Secret's values are not in the repository in clear
        cm = cms.get((obj.namespace, item.get_str("name") or "")) or cms.get(
            (None, item.get_str("name") or "")
        )
        if cm is None:
            continue
        key = item.get_str("valuesKey") or "values.yaml"
        node = cm.node.dig("data", key)
        if node is None or node.text is None:
            continue
        where = f"ConfigMap {cm.name} key {key} ({cm.file.rel})"
        target = item.get_str("targetPath")
        if target:
            layers.append(ValuesLayer(where, _set_path(target, node.text), None, node.span))
            continue
        try:
            layers.append(layer_of_text(node.text, where, node.span))
        except ValueError as e:
            errors.append((cm.file.rel, f"{where}: {e}; not used to render {label}"))
    values = spec.get("values") if spec is not None else None
    if values is not None and values.is_map:
        layers.append(ValuesLayer(f"{label} spec.values", typed(values), values))
    return GitOpsTarget(
        path=_norm_path(name) if name and by_path else None,
        chart_name=None if by_path else name,
        values=ValuesSet(
            label,
            tuple(layers),
            release=(spec.get_str("releaseName") if spec is not None else None) or obj.name,
            namespace=(spec.get_str("targetNamespace") if spec is not None else None)
            or obj.namespace,
        ),
        errors=errors,
    )


def _argo_source(obj: KubeObject, src: YNode, label: str, root: str) -> GitOpsTarget:
    where = f"Application {obj.name} {label} ({obj.file.rel})"
    path = src.get_str("path")
    chart = src.get_str("chart")
    helm = src.get("helm")
    layers: list[ValuesLayer] = []
    sets: list[str] = []
    errors: list[tuple[str, str]] = []
    if helm is not None and helm.is_map and path is not None:
        vf = helm.get("valueFiles")
        for item in vf.seq() if vf is not None else []:
            name = item.text or ""
            if not name or name.startswith("$") or "://" in name:
                continue  # another source's files, or a URL: not in this scan
            rel = _norm_path(posixpath.join(_norm_path(path), name))
            abspath = os.path.join(root, rel)
            try:
                text = safe_read.read_text(abspath, root=root, max_size=MAX_VALUES_BYTES)
                layers.append(layer_of_text(text, f"{where} valueFiles {name}", item.span))
            except safe_read.ReadRefused as e:
                if not e.missing:
                    errors.append((obj.file.rel, f"{where}: value file {name}: {e}"))
            except ValueError as e:
                errors.append((obj.file.rel, f"{where}: value file {name}: {e}"))
    if helm is not None and helm.is_map:
        v = helm.get("values")
        if v is not None and v.text:
            try:
                layers.append(layer_of_text(v.text, f"{where} helm.values", v.span))
            except ValueError as e:
                errors.append((obj.file.rel, f"{where} helm.values: {e}"))
        vo = helm.get("valuesObject")
        if vo is not None and vo.is_map:
            layers.append(ValuesLayer(f"{where} helm.valuesObject", typed(vo), vo))
        params = helm.get("parameters")
        for p in params.seq() if params is not None else []:
            n, val = p.get_str("name"), p.get_str("value")
            if n and val is not None and "," not in n:
                sets.append(f"{n}={val}")
    dest = obj.node.dig("spec", "destination", "namespace")
    return GitOpsTarget(
        path=_norm_path(path) if path is not None and not chart else None,
        chart_name=chart,
        values=ValuesSet(
            where,
            tuple(layers),
            tuple(sets),
            release=(helm.get_str("releaseName") if helm is not None and helm.is_map else None)
            or obj.name,
            namespace=dest.text if dest is not None else None,
        ),
        errors=errors,
    )


def gitops_targets(files: Sequence[SourceFile], root: str) -> Iterator[GitOpsTarget]:
    """What each Flux HelmRelease and Argo CD Application of the scan renders, with its values."""
    cms: dict[tuple[str | None, str], KubeObject] | None = None
    for f in files:
        if "HelmRelease" not in f.text and "argoproj.io" not in f.text:
            continue
        for obj in instances_in(f, KubeObject):
            if obj.kind == "HelmRelease" and obj.group == "helm.toolkit.fluxcd.io":
                if cms is None:
                    cms = _configmaps(files)
                yield _flux_release(obj, cms)
            elif obj.kind == "Application" and obj.group == "argoproj.io":
                spec = obj.node.get("spec")
                if spec is None:
                    continue
                single = spec.get("source")
                if single is not None and single.is_map:
                    yield _argo_source(obj, single, "source", f.root or root)
                many = spec.get("sources")
                for i, src in enumerate(many.seq() if many is not None else []):
                    if src.is_map:
                        yield _argo_source(obj, src, f"sources[{i}]", f.root or root)
