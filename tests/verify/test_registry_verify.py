"""`kubeward verify` against a real registry, with real cosign evidence nobody here wrote."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from kubeward.verify.cli import main
from kubeward.verify.registry import (
    ImageRef,
    RegistryClient,
    RegistryError,
    RegistryOptions,
    sha256_digest,
)
from tests.conftest import require_shared
from tests.verify._registry_fixture import Registry

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY = b"{}"
COSIGN_DIGEST = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
CODY = ["--certificate-identity", "cody@soyland.com"]
GITHUB_OAUTH = ["--certificate-oidc-issuer", "https://github.com/login/oauth"]


def pusher(registry: Registry) -> RegistryClient:
    return RegistryClient(
        RegistryOptions(ca_file=registry.ca_file, credentials=(registry.user, registry.password))
    )


def push_empty_image(client: RegistryClient, ref: ImageRef) -> str:
    """go-containerregistry's empty image, as cosign's test pushes it."""
    base = require_shared("vectors", "cosign", "empty-image")
    client.put_blob(ref, (base / "config.json").read_bytes())
    manifest = (base / "manifest.json").read_bytes()
    return client.put_manifest(ref, ref.tag or "latest", manifest, DOCKER_MANIFEST)


def push_config_image(client: RegistryClient, ref: ImageRef, config: bytes) -> str:
    """An image of this config and no layers, pushed under the reference's tag."""
    client.put_blob(ref, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": sha256_digest(config),
            },
            "layers": [],
        }
    ).encode()
    return client.put_manifest(ref, ref.tag or "latest", manifest, DOCKER_MANIFEST)


def attach_bundle(client: RegistryClient, ref: ImageRef, subject: str, bundle: bytes) -> str:
    """Attach a bundle as an OCI 1.1 referrer, plus the `sha256-<hex>` index fallback."""
    client.put_blob(ref, EMPTY)
    layer = client.put_blob(ref, bundle)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_TYPE,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": sha256_digest(EMPTY),
            "size": 2,
        },
        "layers": [{"mediaType": BUNDLE_TYPE, "digest": layer, "size": len(bundle)}],
        "subject": {"mediaType": DOCKER_MANIFEST, "digest": subject, "size": 0},
    }
    data = json.dumps(manifest).encode()
    digest = client.put_manifest(ref, sha256_digest(data), data, OCI_MANIFEST)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": len(data),
                "artifactType": BUNDLE_TYPE,
            }
        ],
    }
    client.put_manifest(ref, subject.replace(":", "-"), json.dumps(index).encode(), OCI_INDEX)
    return digest


def run_verify(
    registry: Registry, *args: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, Any]:
    rc = main(["verify", "--registry-ca", str(registry.ca_file), "--format", "json", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return rc, json.loads(captured.out) if captured.out.strip() else captured.err


@pytest.fixture(scope="module")
def cosign_image(registry: Registry) -> str:
    """The cosign vector image with its real attestation bundle attached as a referrer."""
    client = pusher(registry)
    ref = ImageRef(registry.host, "repo", "latest")
    digest = push_empty_image(client, ref)
    assert digest == COSIGN_DIGEST
    bundle = require_shared("vectors", "cosign", "oci-attestation.sigstore.json").read_bytes()
    attach_bundle(client, ref, digest, bundle)
    return f"{registry.host}/repo:latest"


@pytest.mark.shared
@pytest.mark.parametrize("root", ["cosign/trusted_root_pgi.json", "trusted_roots/production.json"])
def test_cosign_attestation_verifies(
    registry_env: Registry, cosign_image: str, root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    trusted = require_shared("vectors", *root.split("/"))
    rc, out = run_verify(
        registry_env,
        cosign_image,
        *CODY,
        *GITHUB_OAUTH,
        "--attestation",
        "custom",
        "--trusted-root",
        str(trusted),
        capsys=capsys,
    )
    assert rc == 0, out
    (result,) = out["results"]
    assert result["verdict"] == "pass"
    assert result["digest"] == COSIGN_DIGEST
    (verified,) = result["verified"]
    assert verified["signer"] == "cody@soyland.com"
    assert verified["predicate_type"] == "https://cosign.sigstore.dev/attestation/v1"
    assert "referrers tag sha256-7321" in verified["where"]


@pytest.mark.shared
def test_cosign_attestation_wrong_identity(
    registry_env: Registry, cosign_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = run_verify(
        registry_env,
        cosign_image,
        "--certificate-identity",
        "mallory@example.com",
        *GITHUB_OAUTH,
        "--attestation",
        "custom",
        capsys=capsys,
    )
    assert rc == 1
    (result,) = out["results"]
    assert result["verdict"] == "fail"
    assert any(
        "'cody@soyland.com' is not the expected 'mallory@example.com'" in r
        for r in result["reasons"]
    ), result["reasons"]


@pytest.mark.shared
def test_cosign_attestation_on_another_image_is_rejected(
    registry_env: Registry, cosign_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same bundle attached to a different image: its digest is not a subject."""
    client = pusher(registry_env)
    ref = ImageRef(registry_env.host, "other", "v1")
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    digest = push_config_image(client, ref, config)
    bundle = require_shared("vectors", "cosign", "oci-attestation.sigstore.json").read_bytes()
    attach_bundle(client, ref, digest, bundle)
    rc, out = run_verify(
        registry_env,
        f"{registry_env.host}/other:v1",
        *CODY,
        *GITHUB_OAUTH,
        "--attestation",
        "custom",
        capsys=capsys,
    )
    assert rc == 1
    reasons = out["results"][0]["reasons"]
    assert any(f"{digest} is not a subject of the statement" in r for r in reasons), reasons


@pytest.mark.shared
def test_cosign_attestation_tampered_layer(
    registry_env: Registry, cosign_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bundle layer with its in-toto predicate edited: the DSSE signature breaks."""
    client = pusher(registry_env)
    ref = ImageRef(registry_env.host, "tampered", "latest")
    digest = push_empty_image(client, ref)
    bundle = json.loads(
        require_shared("vectors", "cosign", "oci-attestation.sigstore.json").read_bytes()
    )
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"] = {"foo": "baz"}
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    attach_bundle(client, ref, digest, json.dumps(bundle).encode())
    rc, out = run_verify(
        registry_env,
        f"{registry_env.host}/tampered:latest",
        *CODY,
        *GITHUB_OAUTH,
        "--attestation",
        "custom",
        capsys=capsys,
    )
    assert rc == 1
    reasons = out["results"][0]["reasons"]
    assert any("DSSE signature does not verify" in r for r in reasons), reasons


def test_registry_needs_credentials(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    client = RegistryClient(RegistryOptions(ca_file=registry.ca_file))
    with pytest.raises(RegistryError, match="no credentials found"):
        client.get_manifest(ImageRef(registry.host, "repo", "latest"))


def test_registry_untrusted_tls(registry: Registry) -> None:
    client = RegistryClient(RegistryOptions(retries=0))
    with pytest.raises(RegistryError, match="TLS certificate not trusted"):
        client.get_manifest(ImageRef(registry.host, "repo", "latest"))


def test_registry_down_is_a_per_image_error(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rc = main(["verify", f"127.0.0.1:{port}/x:1", "--key", __file__, "--registry-timeout", "1"])
    captured = capsys.readouterr()
    assert rc == 2 and "not a PEM public key" in captured.err
    key = Path(__file__).parent / "_unused.pem"
    del key
    rc = main(
        [
            "verify",
            f"127.0.0.1:{port}/x:1",
            "--certificate-identity",
            "a@b",
            "--certificate-oidc-issuer",
            "https://x",
            "--registry-timeout",
            "1",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 4  # could not check
    assert "ERROR 127.0.0.1" in captured.out and "registry unreachable" in captured.out
    assert "Traceback" not in captured.err


def test_insecure_registry_only_on_loopback() -> None:
    with pytest.raises(RegistryError, match="only allowed for loopback"):
        RegistryClient(RegistryOptions(insecure=frozenset({"registry.example.com:5000"})))
