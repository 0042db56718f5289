"""What runs: the Pods of a cluster snapshot, each container's spec paired with its status.

Only objects of the scan's cluster dumps (`ScanContext.cluster`) are running Pods: a Pod
manifest in a repository says what should run, a Pod from the API server says what does.

`status.containerStatuses[].imageID` is the runtime's word for the image it started, in one
of the forms kubelets report (kubernetes/kubernetes#95968, #115199, containerd#8408):

- `registry/repo@sha256:…`: containerd and CRI-O, the image's first repo digest (for a
  multi-arch image pulled by tag or index digest, containerd's is the index's digest);
- `docker-pullable://registry/repo@sha256:…`: dockershim and cri-dockerd, a repo digest;
- `sha256:…` (containerd) or `docker://sha256:…` (Docker): the image *config* ID, reported
  when the image has no repo digest: loaded from a tarball (`ctr images import`,
  `kind load`), built on the node, or retagged locally. Nothing a registry serves, nothing
  admission can have resolved: a side-loaded image;
- '' while the container has not started (its image not pulled yet).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubeward.model.image import ImageRef, parse_image
from kubeward.model.k8s import Container, KubeObject
from kubeward.parse.yamlnode import YNode
from kubeward.registry import instances_in, scan_provider
from kubeward.scan_context import ScanContext
from kubeward.source import Span, shorten

if TYPE_CHECKING:  # the verification engine is loaded only when a scan verifies images
    from kubeward.verify.image import ImageVerdict

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
_CONFIG_ID_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_STATUS_KEYS = (
    ("initContainerStatuses", "initContainer"),
    ("containerStatuses", "container"),
    ("ephemeralContainerStatuses", "ephemeralContainer"),
)


@dataclass(frozen=True, slots=True)
class ImageId:
    """A parsed `imageID`."""

    text: str
    scheme: str
    """'' (CRI), `docker-pullable` or `docker`."""
    repo: ImageRef | None
    """The repository and digest of a repo digest (None for a config ID)."""
    config_id: str | None
    """The image config ID when no repo digest was reported."""

    @property
    def digest(self) -> str | None:
        return self.repo.digest if self.repo is not None else None

    @property
    def side_loaded(self) -> bool:
        return self.config_id is not None


def parse_image_id(text: str) -> ImageId | None:
    """None for '' and for forms that name no digest at all."""
    raw = text.strip()
    scheme = ""
    for prefix in ("docker-pullable://", "docker://"):
        if raw.startswith(prefix):
            scheme, raw = prefix[:-3], raw[len(prefix) :]
            break
    if not raw:
        return None
    if _CONFIG_ID_RE.match(raw):
        return ImageId(text, scheme, None, raw)
    ref = parse_image(raw)
    if ref.error is not None or ref.templated or ref.digest is None:
        return None
    return ImageId(text, scheme, ref, None)


@dataclass(frozen=True, slots=True)
class RunningPod:
    """A Pod of a cluster dump."""

    obj: KubeObject
    node_name: str | None
    containers: tuple[Container, ...] = ()
    """The spec's containers, init and ephemeral containers."""

    @property
    def namespace(self) -> str:
        return self.obj.namespace or "default"

    @property
    def display(self) -> str:
        return f"Pod {shorten(self.namespace)}/{shorten(self.obj.name or '<unnamed>')}"

    @property
    def owners(self) -> list[YNode]:
        refs = self.obj.node.dig("metadata", "ownerReferences")
        return [r for r in refs.seq() if r.is_map] if refs is not None else []

    @property
    def controller(self) -> YNode | None:
        """The owner reference with `controller: true` (None when there is none)."""
        for ref in self.owners:
            flag = ref.get("controller")
            if flag is not None and flag.bool:
                return ref
        return None

    @property
    def mirror(self) -> YNode | None:
        """The `kubernetes.io/config.mirror` annotation's value node of a static Pod's mirror."""
        ann = self.obj.node.dig("metadata", "annotations")
        return ann.get(MIRROR_ANNOTATION) if ann is not None else None

    @property
    def metadata_span(self) -> Span:
        name = self.obj.node.dig("metadata", "name")
        return name.span if name is not None else self.obj.kind_span


@dataclass(frozen=True, slots=True)
class RunningContainer:
    """One container of a running Pod: its spec (None when the status names a container the
    spec lacks) and its status entry."""

    pod: RunningPod
    name: str | None
    role: str  # "container" | "initContainer" | "ephemeralContainer"
    spec: Container | None
    status: YNode
    image_id: ImageId | None
    image_id_node: YNode | None

    @property
    def spec_image(self) -> ImageRef | None:
        return self.spec.image if self.spec is not None else None

    @property
    def span(self) -> Span:
        """The `imageID:` value: where a finding about what runs points."""
        return (self.image_id_node or self.status).span

    @property
    def display(self) -> str:
        return f"{self.role} {shorten(self.name or '<unnamed>')} of {self.pod.display}"

    @property
    def running_ref(self) -> ImageRef | None:
        """The image that runs, as `registry/repository@digest`: the spec's repository (where
        the kubelet pulled from and where its signatures live) with the running digest."""
        iid = self.image_id
        spec = self.spec_image
        if iid is None or iid.digest is None:
            return None
        if spec is not None and spec.is_resolved:
            return ImageRef(spec.registry, spec.repository, None, iid.digest)
        repo = iid.repo
        assert repo is not None
        return ImageRef(repo.registry, repo.repository, None, iid.digest)


def cluster_objects(ctx: ScanContext) -> Iterator[KubeObject]:
    """The objects of the scan's cluster dumps."""
    view = ctx.cluster
    if view is None:
        return
    for f in ctx.files:
        if view.holds(f.rel) and f.documents:
            yield from instances_in(f, KubeObject)


@scan_provider(RunningPod)
def running_pods(ctx: ScanContext) -> Iterator[RunningPod]:
    by_pod: dict[int, list[Container]] = {}  # id(the Pod's node) -> its containers
    seen: set[str] = set()
    for obj in cluster_objects(ctx):
        if obj.kind != "Pod" or obj.group != "":
            continue
        if obj.file.rel not in seen:  # each file's containers once, not once per Pod
            seen.add(obj.file.rel)
            for c in instances_in(obj.file, Container):
                by_pod.setdefault(id(c.workload.obj.node), []).append(c)
        spec = obj.node.get("spec")
        node = spec.get_str("nodeName") if spec is not None and spec.is_map else None
        yield RunningPod(obj, node, tuple(by_pod.get(id(obj.node), ())))


def _spec_containers(pod: RunningPod) -> dict[tuple[str, str], Container]:
    out: dict[tuple[str, str], Container] = {}
    for c in pod.containers:
        if c.name is not None:
            out.setdefault((c.role, c.name), c)
    return out


@scan_provider(RunningContainer)
def running_containers(ctx: ScanContext) -> Iterator[RunningContainer]:
    for pod in ctx.instances(RunningPod):
        specs = _spec_containers(pod)
        status = pod.obj.node.get("status")
        if status is None or not status.is_map:
            continue
        for key, role in _STATUS_KEYS:
            entries = status.get(key)
            for entry in entries.seq() if entries is not None else []:
                if not entry.is_map:
                    continue
                name = entry.get_str("name")
                id_node = entry.get("imageID")
                iid = None
                if id_node is not None and id_node.is_scalar and id_node.text:
                    iid = parse_image_id(str(id_node.text))
                yield RunningContainer(
                    pod=pod,
                    name=name,
                    role=role,
                    spec=specs.get((role, name)) if name is not None else None,
                    status=entry,
                    image_id=iid,
                    image_id_node=id_node,
                )


@dataclass(frozen=True, slots=True)
class RunningTag:
    """The containers of one namespace that run one image as written by tag (no digest)."""

    namespace: str
    image: str
    containers: tuple[RunningContainer, ...]

    def digests(self) -> dict[str, list[RunningContainer]]:
        out: dict[str, list[RunningContainer]] = {}
        for c in self.containers:
            d = c.image_id.digest if c.image_id is not None else None
            if d is not None:
                out.setdefault(d, []).append(c)
        return out


@scan_provider(RunningTag)
def running_tags(ctx: ScanContext) -> Iterator[RunningTag]:
    groups: dict[tuple[str, str], list[RunningContainer]] = {}
    for c in ctx.instances(RunningContainer):
        ref = c.spec_image
        if ref is None or not ref.is_resolved or ref.digest is not None:
            continue
        groups.setdefault((c.pod.namespace, ref.text), []).append(c)
    for (ns, image), members in sorted(groups.items()):
        members.sort(key=lambda c: (c.span.path, c.span.start.offset))  # in the dumps' order
        yield RunningTag(ns, image, tuple(members))


def node_architectures(ctx: ScanContext) -> dict[str, str]:
    """Node name -> `status.nodeInfo.architecture`, for the Nodes the dumps hold."""
    out: dict[str, str] = {}
    for obj in cluster_objects(ctx):
        if obj.kind == "Node" and obj.name:
            arch = obj.node.dig("status", "nodeInfo", "architecture")
            if arch is not None and arch.text:
                out[obj.name] = str(arch.text)
    return out


@dataclass(frozen=True)
class VerifiedRunning:
    """A running container and the verdict for the digest it runs: built only by the stage
    of `scan --cluster --verify-images` (`kubeward.cluster.verify_stage`)."""

    container: RunningContainer
    image: str
    """`registry/repository@digest`, as verified."""
    result: ImageVerdict
    via_index: str | None = None
    """`registry/repository@<index digest>` whose verdict this is, when the running digest is
    a platform manifest of that index and failed on its own."""


@scan_provider(VerifiedRunning)
def recorded_verdicts(ctx: ScanContext) -> Iterator[VerifiedRunning]:
    """The running digests judged with `--verify-results` (offline); none without them. With
    `--verify-images` the online stage provides this type instead."""
    view = ctx.cluster
    if view is None or view.verify_results is None:
        return
    from kubeward.verify.image import ImageVerdict, Verdict

    results = view.verify_results
    for c in ctx.instances(RunningContainer):
        run = c.running_ref
        if run is None or run.digest is None:
            continue
        got = results.get(run.name, run.digest)
        via = None
        if got is None or got.verdict == "fail":
            for parent in sorted(view.indexes.parents.get(run.digest, ())):
                recorded = results.get(run.name, parent)
                if recorded is not None and recorded.verdict == "pass":
                    got, via = recorded, f"{run.name}@{parent}"
                    break
        if got is None:
            continue
        reasons = (*got.reasons, f"(recorded in {got.source})")
        verdict = ImageVerdict(run.canonical, run.digest, Verdict(got.verdict), reasons)
        yield VerifiedRunning(c, run.canonical, verdict, via)
