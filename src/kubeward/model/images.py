"""Every place a file names an image, as one model type the image rules share.

Packs add *image sources* (functions from a parsed file to `ImageUse`s): Kubernetes containers
here, Dockerfile `FROM`s, Helm values, CI `image:` keys and Kustomize `images:` in their packs.
The image rules (digest, mutable tag, allowlist, typosquat...) run over all of them alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from kubeward.model.image import ImageRef
from kubeward.model.k8s import Container
from kubeward.model.kustomize import ImageOverride, Kustomization, KustomizeTree
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Related, instances_in, scan_provider
from kubeward.source import SourceFile, Span

if TYPE_CHECKING:
    from kubeward.scan_context import ScanContext


@dataclass(frozen=True, slots=True)
class ImageUse:
    """An image reference at a place in a file.

    `origin` says what kind of place (`container`, `dockerfile-from`, `helm-values`, ...);
    `where` describes it for messages (`container web of Deployment/shop`);
    `related` are other places that decide the image (a base a Kustomize overlay overrides).
    """

    ref: ImageRef
    span: Span
    origin: str
    where: str
    container: Container | None = None
    related: tuple[Related, ...] = ()
    # Every container the reference is the image of, when one Kustomize `images:` entry sets
    # the same effective image for several (else just `container`).
    containers: tuple[Container, ...] = ()
    # The namespaces the use is deployed to when Kustomize decides them (the outermost
    # `namespace:` of each overlay that deploys it; None: as the manifest says). Empty: not
    # deployed through a kustomization.
    namespaces: tuple[str | None, ...] = ()
    # The `pullPolicy` value of a Helm values image map (`image.pullPolicy`), when written.
    pull_policy: YNode | None = None

    @property
    def all_containers(self) -> tuple[Container, ...]:
        if self.containers:
            return self.containers
        return (self.container,) if self.container is not None else ()


ImageSource = Callable[[SourceFile], Iterable[ImageUse]]
IMAGE_SOURCES: list[ImageSource] = []


def image_source(func: ImageSource) -> ImageSource:
    """Register a function that yields the image references of a parsed file."""
    IMAGE_SOURCES.append(func)
    return func


@image_source
def container_images(f: SourceFile) -> Iterator[ImageUse]:
    for c in instances_in(f, Container):
        if c.image is not None and c.image_node is not None:
            yield ImageUse(
                ref=c.image, span=c.image_span, origin="container", where=c.display, container=c
            )


class _FileImages:
    """Key of the per-file cache of image sources in `SourceFile.models`."""


def image_uses(f: SourceFile) -> list[ImageUse]:
    """The image references written in one file (before any Kustomize override), cached."""
    got = f.models.get(_FileImages)
    if got is None:
        got = [use for source in IMAGE_SOURCES for use in source(f)]
        f.models[_FileImages] = got
    return got


# --- the effective image, after Kustomize ------------------------------------------------------


@scan_provider(ImageUse)
def effective_image_uses(scan: ScanContext) -> Iterator[ImageUse]:
    """Every image reference of the scan, as the cluster would get it.

    Written references come from the per-file sources. Where a kustomization's `images:`
    transformer overrides a container image of a resource it includes (local files and local
    bases, recursively), the image rules judge the effective reference, at the `images:` entry
    that set it, with the base's line as a related place. The judgement is per root
    kustomization (an overlay, or a base nobody overlays): an overlay that pins a digest clears
    the base's mutable tag for that overlay only; a base deployed unchanged by another overlay
    (or scanned with no overlay) is judged as written. `images:` entries that match no scanned
    resource (a remote base, a Helm chart) are judged on their own.
    """
    per_file = {f.rel: image_uses(f) for f in scan.files}
    kusts = [k for f in scan.files for k in instances_in(f, Kustomization)]
    if not kusts:
        for uses in per_file.values():
            yield from uses
        return
    tree = KustomizeTree.build(kusts, set(per_file))
    chains_of: dict[str, list[tuple[Kustomization, ...]]] = defaultdict(list)
    for root in tree.roots():
        for path, chain in tree.resource_chains(root):
            chains_of[path].append(chain)
    matched: set[int] = set()
    overridden: dict[tuple[Span, str], list[ImageUse]] = defaultdict(list)
    for rel, uses in per_file.items():
        chains = chains_of.get(rel)
        for use in uses:
            if not chains or use.origin != "container":
                yield use
                continue
            for got in _through_overlays(use, chains, matched):
                if got.origin == _OVERRIDDEN:
                    overridden[(got.span, got.ref.text)].append(got)
                else:
                    yield got
    for group in overridden.values():
        yield _merge(group)
    for k in kusts:
        for o in k.images:
            if id(o) in matched:
                continue
            ref = o.standalone_ref
            if ref is not None:
                yield ImageUse(
                    ref=ref,
                    span=o.span,
                    origin="kustomize-images",
                    where=f"the images: entry for {o.name} in {k.file.rel}",
                )


_OVERRIDDEN = "kustomize-image"


def _chain_namespace(chain: tuple[Kustomization, ...]) -> str | None:
    """The namespace a chain of kustomizations (innermost first) sets: the outermost wins."""
    return next((k.namespace for k in reversed(chain) if k.namespace), None)


def _merge(group: list[ImageUse]) -> ImageUse:
    """One use per `images:` entry and effective image, naming every container it sets."""
    first = group[0]
    wheres = list(dict.fromkeys(u.where for u in group))
    related: list[Related] = []
    for u in group:
        related += [r for r in u.related if r not in related]
    where = wheres[0] if len(wheres) == 1 else f"{len(wheres)} containers: " + "; ".join(wheres)
    containers = tuple({id(c): c for u in group for c in u.all_containers}.values())
    namespaces = tuple(dict.fromkeys(ns for u in group for ns in u.namespaces))
    return ImageUse(
        ref=first.ref,
        span=first.span,
        origin=_OVERRIDDEN,
        where=where,
        container=first.container,
        related=tuple(related),
        containers=containers,
        namespaces=namespaces,
    )


def _through_overlays(
    use: ImageUse, chains: list[tuple[Kustomization, ...]], matched: set[int]
) -> Iterator[ImageUse]:
    unchanged: list[Kustomization] = []
    unchanged_chains: list[tuple[Kustomization, ...]] = []
    overridden = False
    for chain in chains:
        ref = use.ref
        hits: list[tuple[Kustomization, ImageOverride]] = []
        for k in chain:  # innermost first, as Kustomize applies them
            for o in k.images:
                if o.matches(ref):
                    ref = o.apply(ref)
                    hits.append((k, o))
                    matched.add(id(o))
                    break
        if not hits:
            unchanged.append(chain[-1])
            unchanged_chains.append(chain)
            continue
        overridden = True
        _last_k, last_o = hits[-1]
        related = [Related(use.span, f"image {use.ref.text} written here")]
        related += [Related(o.span, f"also overridden in {k.file.rel}") for k, o in hits[:-1]]
        yield ImageUse(
            ref=ref,
            span=last_o.span,
            origin=_OVERRIDDEN,
            where=f"{use.where} in {use.span.path} (written {use.ref.text} there, overridden here)",
            container=use.container,
            related=tuple(related),
            namespaces=(_chain_namespace(chain),),
        )
    if not unchanged:
        return  # every overlay that deploys this image overrides it
    namespaces = tuple(dict.fromkeys(_chain_namespace(c) for c in unchanged_chains))
    if not overridden:
        yield replace(use, namespaces=namespaces)
        return
    roots = sorted({k.file.rel for k in unchanged})
    yield ImageUse(
        ref=use.ref,
        span=use.span,
        origin=use.origin,
        where=f"{use.where} (deployed unchanged by {', '.join(roots)})",
        container=use.container,
        related=(*use.related, *(Related(k.node.span, "deploys it unchanged") for k in unchanged)),
        namespaces=namespaces,
    )
