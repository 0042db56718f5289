"""GitOps objects: Flux sources and Argo CD applications, with the sources they pull.

Field names follow Flux's `source.toolkit.fluxcd.io` API (`api/v1` of fluxcd/source-controller:
`GitRepositorySpec`, `OCIRepositorySpec`, `OCIRepositoryVerification`, `HelmRepositorySpec`,
`HelmChartSpec`) and Argo CD's `argoproj.io/v1alpha1` `Application`, `ApplicationSet` and
`AppProject`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kubeward.model.gitref import is_full_commit
from kubeward.model.k8s import KubeObject
from kubeward.parse.yamlnode import YNode
from kubeward.registry import instances_in, provider
from kubeward.source import SourceFile

FLUX_SOURCE_GROUP = "source.toolkit.fluxcd.io"

# The spec keys each Flux source kind accepts (v1 and the v1beta2 keys still served).
FLUX_SPEC_KEYS: dict[str, frozenset[str]] = {
    "GitRepository": frozenset(
        {
            "url",
            "secretRef",
            "provider",
            "serviceAccountName",
            "interval",
            "timeout",
            "ref",
            "verify",
            "proxySecretRef",
            "ignore",
            "suspend",
            "recurseSubmodules",
            "include",
            "sparseCheckout",
            "gitImplementation",
            "accessFrom",
        }
    ),
    "OCIRepository": frozenset(
        {
            "url",
            "ref",
            "layerSelector",
            "provider",
            "secretRef",
            "verify",
            "serviceAccountName",
            "certSecretRef",
            "proxySecretRef",
            "interval",
            "timeout",
            "ignore",
            "insecure",
            "suspend",
        }
    ),
    "HelmChart": frozenset(
        {
            "chart",
            "version",
            "sourceRef",
            "interval",
            "reconcileStrategy",
            "valuesFiles",
            "valuesFile",
            "ignoreMissingValuesFiles",
            "suspend",
            "accessFrom",
            "verify",
        }
    ),
}
FLUX_VERIFY_KEYS: dict[str, frozenset[str]] = {
    "GitRepository": frozenset({"mode", "secretRef"}),
    "OCIRepository": frozenset(
        {"provider", "secretRef", "matchOIDCIdentity", "trustedRootSecretRef"}
    ),
    "HelmChart": frozenset({"provider", "secretRef", "matchOIDCIdentity", "trustedRootSecretRef"}),
}


@dataclass(frozen=True, slots=True)
class FluxSource:
    """A Flux source object (`GitRepository`, `OCIRepository`, `HelmRepository`, `HelmChart`)
    or the chart template of a `HelmRelease` (which Flux turns into a `HelmChart`)."""

    obj: KubeObject
    kind: str  # the source kind ("HelmChart" for a HelmRelease chart template)
    spec: YNode

    @property
    def display(self) -> str:
        return self.obj.display

    @property
    def verify(self) -> YNode | None:
        v = self.spec.get("verify")
        return v if v is not None and v.is_map else None

    def helm_repository_is_oci(self, objects: list[KubeObject] | None = None) -> bool | None:
        """For a HelmChart: whether its HelmRepository is of type oci (None: not found).

        The repository is looked up in the same file, then among `objects` (the scan's)."""
        ref = self.spec.get("sourceRef")
        if ref is None or ref.get_str("kind") != "HelmRepository":
            return False
        name = ref.get_str("name")
        namespace = ref.get_str("namespace") or self.obj.namespace
        for pool in (instances_in(self.obj.file, KubeObject), objects or []):
            for other in pool:
                if other.kind != "HelmRepository" or other.name != name:
                    continue
                if namespace and other.namespace and other.namespace != namespace:
                    continue
                spec = other.node.get("spec")
                url = spec.get_str("url") if spec is not None else None
                kind = spec.get_str("type") if spec is not None else None
                return kind == "oci" or (url or "").startswith("oci://")
        return None


@provider(FluxSource)
def flux_sources(f: SourceFile) -> Iterator[FluxSource]:
    for obj in instances_in(f, KubeObject):
        spec = obj.node.get("spec")
        if spec is None or not spec.is_map:
            continue
        if obj.group == FLUX_SOURCE_GROUP:
            yield FluxSource(obj, obj.kind, spec)
        elif obj.kind == "HelmRelease" and obj.group == "helm.toolkit.fluxcd.io":
            chart = spec.dig("chart", "spec")
            if chart is not None and chart.is_map:
                yield FluxSource(obj, "HelmChart", chart)


# --- Argo CD ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArgoSource:
    """One source of an Argo CD Application (or ApplicationSet template)."""

    obj: KubeObject
    node: YNode  # the source map
    label: str  # "source" or "sources[1]"

    @property
    def is_helm_chart(self) -> bool:
        return self.node.get("chart") is not None

    @property
    def target_revision(self) -> YNode | None:
        return self.node.get("targetRevision")


def _app_spec(obj: KubeObject) -> YNode | None:
    if obj.kind == "Application":
        return obj.node.get("spec")
    if obj.kind == "ApplicationSet":
        return obj.node.dig("spec", "template", "spec")
    return None


@provider(ArgoSource)
def argo_sources(f: SourceFile) -> Iterator[ArgoSource]:
    for obj in instances_in(f, KubeObject):
        if obj.group != "argoproj.io":
            continue
        spec = _app_spec(obj)
        if spec is None or not spec.is_map:
            continue
        single = spec.get("source")
        if single is not None and single.is_map:
            yield ArgoSource(obj, single, "source")
        many = spec.get("sources")
        for i, src in enumerate(many.seq() if many is not None else []):
            if src.is_map:
                yield ArgoSource(obj, src, f"sources[{i}]")


_VERSION_RE = re.compile(r"^v?\d+(?:\.\d+){0,3}(?:[-+][0-9A-Za-z.\-+]+)?$")
_RANGE_RE = re.compile(r"[*<>~^|]|\s-\s|(?:^|\.)[xX](?:\.|$)")
BRANCH_NAMES = frozenset(
    {"main", "master", "develop", "development", "dev", "trunk", "staging", "production", "prod"}
)


def classify_revision(text: str, *, chart: bool) -> str:
    """'head', 'range', 'branch', 'pinned' (commit or version) or 'other' (a tag, likely)."""
    t = text.strip()
    if t == "" or t.upper() == "HEAD":
        return "head"
    if _RANGE_RE.search(t):
        return "range"
    if is_full_commit(t) or _VERSION_RE.match(t):
        return "pinned"
    if not chart and (t in BRANCH_NAMES or t.startswith("refs/heads/")):
        return "branch"
    return "other"
