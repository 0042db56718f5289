"""Falco rules files, and the runtime detection a scan deploys.

A Falco rules file is a YAML sequence of `rule`, `macro` and `list` items. The same items also
arrive embedded as text: in a ConfigMap's `data` and in the Falco Helm chart's `customRules`
values; those are parsed too, with their lines mapped back into the file. Falco's own
configuration (`falco.yaml`) can switch rules off with `rules: [{disable: {rule: ...}}]`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml

from kubeward.discover import display_path
from kubeward.model.gitops import ArgoSource, FluxSource
from kubeward.model.images import image_uses
from kubeward.model.k8s import KubeObject
from kubeward.model.policy import is_gatekeeper_constraint
from kubeward.parse.yamlnode import YNode, load_documents
from kubeward.registry import instances_in, provider, scan_provider
from kubeward.source import SourceFile, Span

if TYPE_CHECKING:
    from kubeward.scan_context import ScanContext

# The drift-detection rules of the Falco rule sets (falcosecurity/rules): executables that
# were not in the image.
DRIFT_RULES = frozenset(
    {
        "Drop and execute new binary in container",
        "Container Drift Detected (chmod)",
        "Container Drift Detected (open+create)",
        "Fileless execution via memfd_create",
    }
)
_DRIFT_RE = re.compile(r"drift|new binary|memfd", re.I)


def is_drift_rule(name: str) -> bool:
    return name in DRIFT_RULES or bool(_DRIFT_RE.search(name))


@dataclass(frozen=True, slots=True)
class FalcoRule:
    """One `- rule:` item of a Falco rules file (possibly an override of an existing rule)."""

    file: SourceFile
    name: str
    node: YNode
    span: Span  # the rule's name, in the file
    enabled_span: Span | None  # the `enabled:` value, in the file
    enabled: bool | None  # None when the item does not set it
    embedded: bool


@dataclass(frozen=True, slots=True)
class FalcoDisable:
    """A way Falco's configuration or command line switches rules off.

    `how` is `config` (a `rules: [{disable: {rule: <glob>}}]` selection, in `falco.yaml`, the
    chart's `falco:` values, or `-o rules[].disable.rule=<glob>`), `substring` (`-D
    <substring>`: every rule whose name contains it) or `source` (`--disable-source
    <source>`: every rule of that event source).
    """

    file: SourceFile
    pattern: str
    span: Span
    how: str = "config"
    where: str = "Falco rule selection"


def _is_rules_list(doc: YNode) -> bool:
    items = doc.seq()
    return bool(items) and any(
        i.is_map and (i.get("rule") is not None or i.get("macro") is not None) for i in items
    )


def _map_span(f: SourceFile, node: YNode, base_line: int | None) -> Span:
    if base_line is None:
        return node.span
    return f.line_span(base_line + node.start.line)


def _rules_in(f: SourceFile, doc: YNode, base_line: int | None) -> Iterator[FalcoRule]:
    for item in doc.seq():
        if not item.is_map:
            continue
        name = item.get("rule")
        if name is None or name.text is None:
            continue
        enabled = item.get("enabled")
        yield FalcoRule(
            file=f,
            name=name.text,
            node=item,
            span=_map_span(f, name, base_line),
            enabled_span=_map_span(f, enabled, base_line) if enabled is not None else None,
            enabled=enabled.bool if enabled is not None else None,
            embedded=base_line is not None,
        )


def _embedded_texts(doc: YNode) -> Iterator[YNode]:
    """Literal block scalars that hold a rules file (`customRules` values, ConfigMap data)."""
    for node in doc.walk():
        if node.is_scalar and node.style == "|" and "- rule:" in str(node.value):
            yield node


@provider(FalcoRule)
def falco_rules(f: SourceFile) -> Iterator[FalcoRule]:
    if "rule:" not in f.text:
        return
    for doc in f.documents:
        if doc.is_seq and _is_rules_list(doc):
            yield from _rules_in(f, doc, None)
            continue
        if not doc.is_map:
            continue
        for block in _embedded_texts(doc):
            try:
                inner = load_documents(str(block.value), f.rel, max_nodes=200_000)
            except (yaml.YAMLError, ValueError, RecursionError):
                continue
            # A literal block's text starts on the line after its indicator.
            for d in inner:
                if d.is_seq:
                    yield from _rules_in(f, d, block.start.line)


@provider(FalcoDisable)
def falco_disables(f: SourceFile) -> Iterator[FalcoDisable]:
    # Once per file, not per document: a file of many small documents made this quadratic.
    mentions_falco = "falco" in f.text
    for doc in f.documents:
        if not doc.is_map:
            continue
        for holder in (doc, doc.get("falco")):
            rules = holder.get("rules") if holder is not None and holder.is_map else None
            if rules is None or not rules.is_seq:
                continue
            for item in rules.seq():
                target = item.dig("disable", "rule")
                if target is not None and target.text:
                    yield FalcoDisable(f, target.text, target.span)
        if mentions_falco:
            yield from _command_line_disables(f, doc)


# Falco's command line: `-D <substring>` (rules whose name contains it), `--disable-source
# <source>`, and `-o rules[].disable.rule=<glob>` (the `rules:` selection, Falco >= 0.38).
OPTION_DISABLE = "rules[].disable.rule="


def _args_disables(f: SourceFile, args: list[YNode], where: str) -> Iterator[FalcoDisable]:
    texts = [a.text or "" for a in args]
    for i, (node, text) in enumerate(zip(args, texts, strict=True)):
        value_node = args[i + 1] if i + 1 < len(args) else None
        value = texts[i + 1] if i + 1 < len(texts) else ""
        if text == "-D" and value_node is not None and value:
            yield FalcoDisable(f, value, value_node.span, "substring", where)
        elif text.startswith("-D") and len(text) > 2 and not text.startswith("--"):
            yield FalcoDisable(f, text[2:], node.span, "substring", where)
        elif text == "--disable-source" and value_node is not None and value:
            yield FalcoDisable(f, value, value_node.span, "source", where)
        elif text.startswith("--disable-source="):
            yield FalcoDisable(f, text.split("=", 1)[1], node.span, "source", where)
        elif text in ("-o", "--option") and value.startswith(OPTION_DISABLE):
            yield FalcoDisable(
                f, value[len(OPTION_DISABLE) :].strip("\"'"), args[i + 1].span, "option", where
            )
        elif text.startswith(("-o" + OPTION_DISABLE, "--option=" + OPTION_DISABLE)):
            pattern = text.split(OPTION_DISABLE, 1)[1].strip("\"'")
            yield FalcoDisable(f, pattern, node.span, "option", where)


def _is_falco_container(c: YNode) -> bool:
    image = c.get_str("image") or ""
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]  # the tag, not a registry port
    if _RUNTIME_IMAGES.search(name) and "falco" in name:
        return True
    command = c.get("command")
    first = command.seq()[0].text if command is not None and command.seq() else None
    return bool(first) and str(first).rsplit("/", 1)[-1] == "falco"


def _command_line_disables(f: SourceFile, doc: YNode) -> Iterator[FalcoDisable]:
    """`-D` and friends in a Falco container's command and args, and in the Falco chart's
    `extra.args` values (a values file, or the values of a Flux HelmRelease or Argo CD
    Application)."""
    values_of_falco = _falco_release_values(doc)
    for node in doc.walk():
        if not node.is_map:
            continue
        if node.get("image") is not None and _is_falco_container(node):
            name = node.get_str("name") or "falco"
            for key in ("command", "args"):
                seq = node.get(key)
                if seq is not None and seq.is_seq:
                    yield from _args_disables(f, seq.seq(), f"Falco container {name}'s {key}")
            continue
        extra = node.dig("extra", "args")
        falco_values = node.get("falco") is not None or node.get("driver") is not None
        repo = node.dig("image", "repository")
        if repo is not None and "falco" in (repo.text or ""):
            falco_values = True
        if values_of_falco is not None and node is values_of_falco:
            falco_values = True
        if extra is not None and extra.is_seq and falco_values:
            yield from _args_disables(f, extra.seq(), "the Falco chart's extra.args")


def _falco_release_values(doc: YNode) -> YNode | None:
    """The values of a Flux HelmRelease or an Argo CD Application that installs the falco
    chart (`spec.values`, `spec.source.helm.valuesObject`)."""
    chart = doc.dig("spec", "chart", "spec", "chart")
    if chart is not None and (chart.text or "") in ("falco", "falcosecurity/falco"):
        return doc.dig("spec", "values")
    chart = doc.dig("spec", "source", "chart")
    if chart is not None and (chart.text or "") == "falco":
        return doc.dig("spec", "source", "helm", "valuesObject")
    return None


def disables_drift(d: FalcoDisable) -> list[str]:
    """The drift rules a disable switches off: a glob over rule names, a name substring, or
    the `syscall` source every drift rule belongs to."""
    if d.how == "substring":
        return sorted(n for n in DRIFT_RULES if d.pattern in n)
    if d.how == "source":
        return sorted(DRIFT_RULES) if d.pattern == "syscall" else []
    return sorted(n for n in DRIFT_RULES if fnmatch.fnmatchcase(n, d.pattern))


# --- runtime detection deployed by a scan ------------------------------------------------------

_RUNTIME_IMAGES = re.compile(
    r"(?:^|/)(?:falco|falco-no-driver|falco-distroless|tetragon|kubearmor|tracee|sysdig-agent)$"
)
_RUNTIME_CHARTS = frozenset({"falco", "tetragon", "kubearmor", "tracee", "kubearmor-operator"})
_RUNTIME_KINDS = frozenset(
    {"TracingPolicy", "TracingPolicyNamespaced", "KubeArmorPolicy", "KubeArmorClusterPolicy"}
)


def runtime_detection_in(f: SourceFile) -> Span | None:
    """Where a file deploys or configures runtime detection (None when it does not)."""
    rules = instances_in(f, FalcoRule)
    if rules:
        return rules[0].span
    for use in image_uses(f):
        if use.ref.is_resolved and _RUNTIME_IMAGES.search(use.ref.repository):
            return use.span
    for obj in instances_in(f, KubeObject):
        if obj.kind in _RUNTIME_KINDS:
            return obj.kind_span
        chart = obj.node.dig("spec", "chart", "spec", "chart") or obj.node.dig(
            "spec", "source", "chart"
        )
        if chart is not None and (chart.text or "") in _RUNTIME_CHARTS:
            return chart.span
    return None


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """What makes one scan root a cluster-configuration repository, and where it deploys
    runtime detection (None when nowhere). Each PATH of a scan is its own project."""

    markers: tuple[tuple[str, Span], ...]
    runtime: Span | None
    root: str = ""  # the scan root, as reports show it ('' when the scan has one root)


def _root_of(path: str, roots: list[str]) -> str:
    """The longest scan root `path` lies under ('' when none)."""
    best = ""
    for r in roots:
        under = r in ("", ".") or path == r or path.startswith(r.rstrip("/") + "/")
        if under and len(r) > len(best):
            best = r
    return best


@scan_provider(ClusterConfig)
def cluster_config(scan: ScanContext) -> Iterator[ClusterConfig]:
    roots = (
        [display_path(r.as_posix()).rstrip("/") for r in scan.roots] if len(scan.roots) > 1 else []
    )
    markers: dict[str, list[tuple[str, Span]]] = {}

    def mark(label: str, span: Span) -> None:
        markers.setdefault(_root_of(span.path, roots), []).append((label, span))

    for obj in scan.instances(KubeObject):
        if (obj.group == "kyverno.io" and obj.kind.endswith("Policy")) or (
            obj.group == "policy.sigstore.dev" and obj.kind == "ClusterImagePolicy"
        ):
            mark(f"admission policy {obj.display}", obj.kind_span)
        elif is_gatekeeper_constraint(obj):
            mark(f"Gatekeeper constraint {obj.display}", obj.kind_span)
    for src in scan.instances(FluxSource):
        mark(f"Flux source {src.display}", src.obj.kind_span)
    for app in scan.instances(ArgoSource):
        mark(f"Argo CD {app.obj.display}", app.obj.kind_span)
    runtime: dict[str, Span] = {}
    for f in scan.files:
        root = _root_of(f.rel, roots)
        if root in runtime:
            continue
        found = runtime_detection_in(f)
        if found is not None:
            runtime[root] = found
    for root, ms in sorted(markers.items()):
        yield ClusterConfig(tuple(ms), runtime.get(root), root)


# --- Falco's configuration: which rules files it loads ------------------------------------------

DEFAULT_RULES_FILE = "falco_rules.yaml"


@dataclass(frozen=True, slots=True)
class FalcoConfig:
    """The `rules_files` (or older `rules_file`) list of a `falco.yaml`, or of the Falco Helm
    chart's `falco:` values."""

    file: SourceFile
    key: YNode  # the rules_files key (where a finding about the list points)
    entries: tuple[str, ...]


@provider(FalcoConfig)
def falco_configs(f: SourceFile) -> Iterator[FalcoConfig]:
    if "rules_file" not in f.text:
        return
    for doc in f.documents:
        if not doc.is_map:
            continue
        for holder in (doc, doc.get("falco")):
            if holder is None or not holder.is_map:
                continue
            for name in ("rules_files", "rules_file"):
                value = holder.get(name)
                key = holder.key_node(name)
                if value is None or key is None:
                    continue
                items = value.seq() if value.is_seq else [value]
                entries = tuple(i.text for i in items if i.text)
                if entries:
                    yield FalcoConfig(f, key, entries)
