"""The scan and `verify --policy` agree, for the same ClusterImagePolicy file, on which images
each glob selects: both go through `kubeward.policy.policy_controller`."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.discover import Discovered
from kubeward.load import load_file
from kubeward.model.image import parse_image
from kubeward.model.policy import VerificationPolicy
from kubeward.registry import instances_in
from kubeward.source import FileKind
from kubeward.verify.policy import parse_policy_documents

GLOBS = [
    "ghcr.io/acme/*",
    "ghcr.io/acme/**",
    "ghcr.io/acme/api:*",
    "ghcr.io/acme/api:v1*",
    "ghcr.io/acme/api@sha256:*",
    "index.docker.io/library/*",
    "*",
    "*/*",
    "localhost:5000/**",
    "nginx",
]
IMAGES = [
    "ghcr.io/acme/api",
    "ghcr.io/acme/api:v1.2",
    "ghcr.io/acme/api:v2",
    "ghcr.io/acme/team/api:1",
    "ghcr.io/acme/api@sha256:" + "a" * 64,
    "ghcr.io/acme/api:v1@sha256:" + "a" * 64,
    "ghcr.io/acmeevil/api:1",
    "nginx",
    "nginx:1.27",
    "docker.io/library/nginx:1.27",
    "bitnami/redis:7",
    "localhost:5000/team/app:1",
]


def _key() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode().strip()


KEY = _key()


def _policy(glob: str) -> str:
    key = KEY.replace("\n", "\n          ")
    return (
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
        f"metadata: {{name: p}}\nspec:\n  images: [{{glob: '{glob}'}}]\n"
        f"  authorities:\n    - key:\n        data: |\n          {key}\n"
    )


@pytest.mark.parametrize("glob", GLOBS)
def test_scan_and_verify_select_the_same_images(glob: str, tmp_path: Path) -> None:
    text = _policy(glob)
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    source, error = load_file(Discovered("policy.yaml", str(path), FileKind.YAML, len(text)))
    assert error is None
    (scan_policy,) = instances_in(source, VerificationPolicy)
    (verify_policy,) = parse_policy_documents(text, source="policy.yaml")
    scan = {i for i in IMAGES if scan_policy.covering(parse_image(i)) is not None}
    verify = {i for i in IMAGES if verify_policy.selects(i)}
    assert scan == verify
    # `nginx` relies on glob.Match's text-as-written fallback, which admission never uses.
    assert bool(scan) is (glob != "nginx"), scan
