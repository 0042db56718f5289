"""Registry prefixes matched on whole path segments."""

from __future__ import annotations

from kubeward.model.image import DOCKER_HUB, ImageRef


def normalise_prefix(prefix: str) -> str:
    """`registry.example.com/`, `https://ghcr.io/acme`, `bitnami`, `docker.io` -> canonical
    `host[/path]`: a first segment without `.` or `:` (and not `localhost`) is a Docker Hub
    namespace (`bitnami` is `docker.io/bitnami`; the official images are
    `docker.io/library`); the host is lower-cased."""
    p = prefix.strip().rstrip("/")
    for scheme in ("https://", "http://"):
        if p.startswith(scheme):
            p = p[len(scheme) :]
    first, _, rest = p.partition("/")
    if "." in first or ":" in first or first == "localhost":
        host, path = first, rest
    else:  # a bare word is a Docker Hub namespace: `bitnami` is docker.io/bitnami
        host, path = DOCKER_HUB, p
    if host in ("index.docker.io", "registry-1.docker.io"):
        host = DOCKER_HUB
    return f"{host.lower()}/{path}" if path else host.lower()


def matches_prefix(ref: ImageRef, prefix: str) -> bool:
    """Whether `ref` lies under `prefix`, on whole path segments: `registry.example.com`
    admits `registry.example.com/x` but neither `registry.example.com.evil.io/x` nor
    `registry.example.commerce/x`; `ghcr.io/acme` admits `ghcr.io/acme/x`, not
    `ghcr.io/acmeevil/x`."""
    name = f"{ref.registry.lower()}/{ref.repository}"
    p = normalise_prefix(prefix)
    return name == p or name.startswith(p + "/")
