"""Kubernetes objects, workloads and containers: computed once per file, shared by all rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kubeward.model.image import ImageRef, parse_image
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Related, instances_in, provider
from kubeward.source import FileKind, SourceFile, Span, shorten

# Kinds whose pod template sits at spec.template.spec.
_TEMPLATE_KINDS = {
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "ReplicationController",
    "Rollout",  # argoproj.io Argo Rollouts
}

# File kinds that may hold Kubernetes objects.
_K8S_FILE_KINDS = {FileKind.YAML}


@dataclass(frozen=True, slots=True)
class KubeObject:
    """One Kubernetes object (a document, or an item of a `List`)."""

    file: SourceFile
    node: YNode
    api_version: str
    kind: str
    name: str | None
    namespace: str | None

    @property
    def span(self) -> Span:
        return self.node.span

    @property
    def group(self) -> str:
        """The API group (`''` for the core group)."""
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    @property
    def display(self) -> str:
        # Names are quoted from the file: shortened, like every value a message quotes.
        return f"{shorten(self.kind)}/{shorten(self.name or '<unnamed>')}"

    @property
    def metadata(self) -> YNode | None:
        return self.node.get("metadata")

    def annotation(self, key: str) -> str | None:
        ann = self.node.dig("metadata", "annotations")
        return ann.get_str(key) if ann is not None else None

    @property
    def kind_span(self) -> Span:
        """The `kind:` value: where a finding about the whole object points."""
        k = self.node.get("kind")
        return k.span if k is not None else self.node.span

    def finding(self, span: Span, message: str, **kw: object) -> Finding:
        return Finding(span, message, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Workload:
    """An object that runs pods, with its pod spec resolved once."""

    obj: KubeObject
    pod_spec: YNode

    @property
    def kind(self) -> str:
        return self.obj.kind

    @property
    def containers(self) -> list[Container]:
        return list(_containers(self))


@dataclass(frozen=True, slots=True)
class Container:
    """A container, init container or ephemeral container of a workload."""

    workload: Workload
    node: YNode
    name: str | None
    role: str  # "container" | "initContainer" | "ephemeralContainer"
    image: ImageRef | None
    image_node: YNode | None

    @property
    def image_span(self) -> Span:
        return (self.image_node or self.node).span

    @property
    def pull_policy(self) -> YNode | None:
        return self.node.get("imagePullPolicy")

    @property
    def display(self) -> str:
        return f"{self.role} {shorten(self.name or '<unnamed>')} of {self.workload.obj.display}"

    def finding(
        self, span: Span, message: str, *, related: tuple[Related, ...] = (), **kw: object
    ) -> Finding:
        return Finding(span, message, related=related, **kw)  # type: ignore[arg-type]


def pod_spec_of(obj: KubeObject) -> YNode | None:
    """The pod spec of any workload kind (None when the object runs no pods)."""
    spec = obj.node.get("spec")
    kind = obj.kind
    if kind == "Pod":
        return spec if spec is not None and spec.is_map else None
    if kind == "PodTemplate":
        found = obj.node.dig("template", "spec")
    elif kind == "CronJob":
        found = spec.dig("jobTemplate", "spec", "template", "spec") if spec else None
    elif kind in _TEMPLATE_KINDS:
        found = spec.dig("template", "spec") if spec else None
    else:
        return None
    return found if found is not None and found.is_map else None


def _objects(node: YNode, f: SourceFile) -> Iterator[KubeObject]:
    if not node.is_map:
        return
    api = node.get("apiVersion")
    kind = node.get("kind")
    if api is None or kind is None or api.text is None or kind.text is None:
        return
    kind_text = str(kind.text)
    if kind_text.endswith("List") and node.get("items") is not None:
        items = node.get("items")
        for item in items.seq() if items is not None else []:
            yield from _objects(item, f)
        return
    meta = node.get("metadata")
    yield KubeObject(
        file=f,
        node=node,
        api_version=str(api.text),
        kind=kind_text,
        name=meta.get_str("name") if meta is not None else None,
        namespace=meta.get_str("namespace") if meta is not None else None,
    )


@provider(KubeObject)
def kube_objects(f: SourceFile) -> Iterator[KubeObject]:
    if f.kind not in _K8S_FILE_KINDS:
        return
    for doc in f.documents:
        yield from _objects(doc, f)


@provider(Workload)
def workloads(f: SourceFile) -> Iterator[Workload]:
    for obj in instances_in(f, KubeObject):
        spec = pod_spec_of(obj)
        if spec is not None:
            yield Workload(obj=obj, pod_spec=spec)


_ROLES = (
    ("initContainers", "initContainer"),
    ("containers", "container"),
    ("ephemeralContainers", "ephemeralContainer"),
)


def _containers(w: Workload) -> Iterator[Container]:
    for key, role in _ROLES:
        lst = w.pod_spec.get(key)
        if lst is None:
            continue
        for node in lst.seq():
            if not node.is_map:
                continue
            image_node = node.get("image")
            image = None
            if image_node is not None and image_node.is_scalar:
                image = parse_image(str(image_node.value))
            yield Container(
                workload=w,
                node=node,
                name=node.get_str("name"),
                role=role,
                image=image,
                image_node=image_node,
            )


@provider(Container)
def containers(f: SourceFile) -> Iterator[Container]:
    for w in instances_in(f, Workload):
        yield from _containers(w)
