"""Every place a file names an image, as one model type the image rules share.

Packs add *image sources* (functions from a parsed file to `ImageUse`s): Kubernetes containers
here, Dockerfile `FROM`s, Helm values, CI `image:` keys and Kustomize `images:` in their packs.
The image rules (digest, mutable tag, allowlist, typosquat...) run over all of them alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from kubeward.model.image import ImageRef
from kubeward.model.k8s import Container
from kubeward.registry import Related, instances_in, provider
from kubeward.source import SourceFile, Span


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


@provider(ImageUse)
def image_uses(f: SourceFile) -> Iterator[ImageUse]:
    for source in IMAGE_SOURCES:
        yield from source(f)
