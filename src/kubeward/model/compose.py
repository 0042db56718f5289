"""Docker Compose files: their services' images, judged by the shared image rules.

A Compose file is `compose.yaml`, `compose.yml`, `docker-compose.yaml` or `docker-compose.yml`
(the Compose specification's default names), or an override of one (`docker-compose.prod.yml`,
`compose.override.yaml`), with a top-level `services:` mapping. Each service's `image:` is an
`ImageUse`; a service that only has `build:` names no image to judge.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from kubeward.model.image import parse_image
from kubeward.model.images import ImageUse, image_source
from kubeward.source import FileKind, SourceFile

_COMPOSE_NAME = re.compile(r"^(?:docker-)?compose(?:\.[A-Za-z0-9_-]+)*\.ya?ml$")


def is_compose_file(f: SourceFile) -> bool:
    return f.kind is FileKind.YAML and bool(_COMPOSE_NAME.match(posixpath.basename(f.rel)))


@image_source
def compose_images(f: SourceFile) -> Iterator[ImageUse]:
    if not is_compose_file(f):
        return
    for doc in f.documents:
        services = doc.get("services") if doc.is_map else None
        if services is None or not services.is_map:
            continue
        for name, svc in services.items():
            node = svc.get("image") if svc.is_map else None
            if node is None or not node.is_scalar or not node.text:
                continue
            yield ImageUse(
                ref=parse_image(node.text),
                span=node.span,
                origin="compose-service",
                where=f"service {name.text} of Compose file {posixpath.basename(f.rel)}",
            )
