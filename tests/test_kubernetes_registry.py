"""Registry allowlist prefixes match on whole path segments; deprecated registries carry
sources."""

from __future__ import annotations

import pytest

from kubeward.model.image import parse_image
from kubeward.rules.registry._prefix import matches_prefix
from kubeward.rules.registry.image_deprecated_registry import deprecated_registries

TABLE = [
    # (image, allowlist entry, admitted)
    ("registry.example.com/team/app:1", "registry.example.com", True),
    ("registry.example.com/app:1", "registry.example.com/", True),
    ("registry.example.com/app:1", "https://registry.example.com", True),
    ("REGISTRY.EXAMPLE.COM/app:1", "registry.example.com", True),
    ("registry.example.com.evil.io/app:1", "registry.example.com", False),
    ("registry.example.commerce/app:1", "registry.example.com", False),
    ("evil.io/registry.example.com/app:1", "registry.example.com", False),
    ("registry.example.com:5000/app:1", "registry.example.com", False),
    ("registry.example.com:5000/app:1", "registry.example.com:5000", True),
    ("ghcr.io/acme/app:1", "ghcr.io/acme", True),
    ("ghcr.io/acme/team/app:1", "ghcr.io/acme", True),
    ("ghcr.io/acmeevil/app:1", "ghcr.io/acme", False),
    ("ghcr.io/acme:1", "ghcr.io/acme", True),  # the entry names the image itself
    ("nginx:1.27", "docker.io", True),
    ("nginx:1.27", "docker.io/library", True),
    ("nginx:1.27", "library", True),
    ("nginx:1.27", "index.docker.io", True),
    ("bitnami/redis:7", "bitnami", True),
    ("bitnami/redis:7", "docker.io/bitnami", True),
    ("bitnamievil/redis:7", "bitnami", False),
    ("nginx:1.27", "bitnami", False),
    ("docker.io/bitnami/redis:7", "registry-1.docker.io/bitnami", True),
    ("localhost:5000/app:1", "localhost:5000", True),
    ("localhost/app:1", "localhost", True),
    ("quay.io/argoproj/argocd:v2", "quay.io/argoproj/argocd", True),
    ("quay.io/argoproj/argocd-extra:v2", "quay.io/argoproj/argocd", False),
]


@pytest.mark.parametrize(("image", "entry", "admitted"), TABLE)
def test_prefix_matches_whole_segments(image: str, entry: str, admitted: bool) -> None:
    ref = parse_image(image)
    assert ref.is_resolved, ref.error
    assert matches_prefix(ref, entry) is admitted


def test_every_deprecated_registry_has_a_status_a_replacement_and_sources() -> None:
    entries = deprecated_registries()
    assert {e["prefix"] for e in entries} >= {"k8s.gcr.io", "docker.pkg.github.com"}
    for e in entries:
        assert e["status"] and e["replacement"]
        assert e["sources"] and all(s.startswith("https://") for s in e["sources"])
