"""ImageRef against the distribution/reference grammar: a table of real-world references."""

from __future__ import annotations

import pytest

from kubeward.model.image import ImageRef, is_valid_digest, parse_image

D = "sha256:" + "0a3c7b9e1e4e4e5b1d6c1e1b7b0c59c2c1f0e1c7c9e0f4c2a7b4d6e8f0a1b2c3"
D512 = "sha512:" + "ab" * 64

# (text, registry, repository, tag, digest) — None in registry means "error expected".
TABLE: list[tuple[str, str | None, str, str | None, str | None]] = [
    ("nginx", "docker.io", "library/nginx", None, None),
    ("nginx:1.27", "docker.io", "library/nginx", "1.27", None),
    ("nginx:latest", "docker.io", "library/nginx", "latest", None),
    (f"nginx@{D}", "docker.io", "library/nginx", None, D),
    (f"nginx:1.27@{D}", "docker.io", "library/nginx", "1.27", D),
    ("bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", None),
    ("docker.io/nginx", "docker.io", "library/nginx", None, None),
    ("docker.io/library/nginx:1", "docker.io", "library/nginx", "1", None),
    ("index.docker.io/library/nginx", "docker.io", "library/nginx", None, None),
    ("registry-1.docker.io/bitnami/redis", "docker.io", "bitnami/redis", None, None),
    ("ghcr.io/acme/shop:1.4.2", "ghcr.io", "acme/shop", "1.4.2", None),
    (
        "registry.k8s.io/kube-apiserver:v1.31.0",
        "registry.k8s.io",
        "kube-apiserver",
        "v1.31.0",
        None,
    ),
    (
        "gcr.io/distroless/static-debian12:nonroot",
        "gcr.io",
        "distroless/static-debian12",
        "nonroot",
        None,
    ),
    ("localhost/app", "localhost", "app", None, None),
    ("localhost:5000/app:dev", "localhost:5000", "app", "dev", None),
    ("registry.local:5000/team/app", "registry.local:5000", "team/app", None, None),
    (f"registry.local:5000/team/app@{D}", "registry.local:5000", "team/app", None, D),
    ("127.0.0.1:5000/x/y:z", "127.0.0.1:5000", "x/y", "z", None),
    ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None),
    (
        "quay.io/prometheus/node-exporter:v1.8.2",
        "quay.io",
        "prometheus/node-exporter",
        "v1.8.2",
        None,
    ),
    (
        "public.ecr.aws/eks-distro/kubernetes/pause:3.9",
        "public.ecr.aws",
        "eks-distro/kubernetes/pause",
        "3.9",
        None,
    ),
    ("mcr.microsoft.com/dotnet/aspnet:8.0", "mcr.microsoft.com", "dotnet/aspnet", "8.0", None),
    ("my_org/my__app", "docker.io", "my_org/my__app", None, None),
    ("a/b-c---d/e.f", "docker.io", "a/b-c---d/e.f", None, None),
    ("Registry.Example.COM/app", "Registry.Example.COM", "app", None, None),
    (f"nginx@{D512}", "docker.io", "library/nginx", None, D512),
    ("nginx:" + "a" * 128, "docker.io", "library/nginx", "a" * 128, None),
    ("nginx:v1_2.3-rc.1", "docker.io", "library/nginx", "v1_2.3-rc.1", None),
    # Invalid references: errors, never a crash, never a false "pinned".
    ("nginx@latest", None, "", None, None),
    ("nginx@sha256:abc", None, "", None, None),
    ("nginx@sha256:" + "A" * 64, None, "", None, None),
    ("nginx@", None, "", None, None),
    ("nginx:" + "a" * 129, None, "", None, None),
    ("nginx:-bad", None, "", None, None),
    ("UPPER/case", None, "", None, None),  # 'UPPER' is taken as a registry; 'case' ok -> see below
    ("docker.io/Library/nginx", None, "", None, None),
    ("a//b", None, "", None, None),
    ("-leading/dash", None, "", None, None),
    ("host:port/x", None, "", None, None),
    ("", None, "", None, None),
]


@pytest.mark.parametrize(("text", "registry", "repository", "tag", "digest"), TABLE)
def test_reference_table(
    text: str, registry: str | None, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_image(text)
    if text == "UPPER/case":
        # distribution treats an upper-case first component as a domain: valid, on host UPPER.
        assert ref.error is None and ref.registry == "UPPER" and ref.repository == "case"
        return
    if registry is None:
        assert ref.error is not None, f"{text!r} should be invalid, got {ref}"
        assert not ref.is_pinned or ref.error is not None
        return
    assert ref.error is None, f"{text!r}: {ref.error}"
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert ref.is_pinned == (digest is not None)


def test_table_size() -> None:
    assert len(TABLE) >= 30


@pytest.mark.parametrize(
    "text",
    [
        "{{ .Values.image }}",
        "${IMAGE}",
        "$IMAGE",
        "ghcr.io/acme/app:${{ github.sha }}",
        "{{ .Values.image.repository }}:{{ .Values.image.tag }}",
    ],
)
def test_templated_references_are_their_own_kind(text: str) -> None:
    ref = parse_image(text)
    assert ref.templated and ref.error is None and not ref.is_resolved


def test_names() -> None:
    assert parse_image("nginx:1").familiar_name == "nginx"
    assert parse_image("bitnami/redis").familiar_name == "bitnami/redis"
    assert parse_image("ghcr.io/a/b:1").familiar_name == "ghcr.io/a/b"
    assert parse_image("nginx:1").canonical == "docker.io/library/nginx:1"
    assert parse_image("redis").uses_latest
    assert parse_image("redis:latest").uses_latest
    assert not parse_image(f"redis@{D}").uses_latest


def test_digest_validation() -> None:
    assert is_valid_digest(D)
    assert is_valid_digest(D512)
    assert not is_valid_digest("sha256:" + "0" * 63)
    assert not is_valid_digest("sha256:" + "0" * 65)
    assert not is_valid_digest("md5:" + "0" * 32)  # unregistered algorithm
    assert not is_valid_digest("sha256")
    assert isinstance(parse_image("x"), ImageRef)
