"""Evidence we sign ourselves with `cryptography`: keys, a Rekor log key of our own in a
custom trusted root, and the negative cases (unknown log key, subject and payload type
mismatch, empty policies), all pushed through the real registry."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from kubeward.verify.cli import main
from kubeward.verify.registry import ImageRef, RegistryClient, sha256_digest
from tests.verify._registry_fixture import Registry
from tests.verify.test_registry_verify import OCI_MANIFEST, push_config_image, pusher

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"


def _pem_public(key: PrivateKeyTypes) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _der_public(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _sign(key: PrivateKeyTypes, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = hashes.SHA384() if key.curve.key_size == 384 else hashes.SHA256()
        return key.sign(data, ec.ECDSA(algorithm))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key.sign(data)


class Log:
    """A transparency log of our own: a key, and SETs over hashedrekord/dsse entries."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.log_id = hashlib.sha256(_der_public(self.key)).digest()
        self.index = 0

    def trusted_root(self, path: Path) -> Path:
        doc = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [
                {
                    "baseUrl": "https://rekor.invalid",
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": {
                        "rawBytes": base64.b64encode(_der_public(self.key)).decode(),
                        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                        "validFor": {"start": "2020-01-01T00:00:00Z"},
                    },
                    "logId": {"keyId": base64.b64encode(self.log_id).decode()},
                }
            ],
            "certificateAuthorities": [],
            "ctlogs": [],
            "timestampAuthorities": [],
        }
        path.write_text(json.dumps(doc))
        return path

    def bundle_annotation(self, body: dict[str, Any]) -> str:
        self.index += 1
        payload = {
            "body": base64.b64encode(json.dumps(body).encode()).decode(),
            "integratedTime": int(datetime.now(UTC).timestamp()) - 60,
            "logIndex": self.index,
            "logID": self.log_id.hex(),
        }
        set_ = self.key.sign(rfc8785.dumps(payload), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {"SignedEntryTimestamp": base64.b64encode(set_).decode(), "Payload": payload}
        )


def _hashedrekord(payload: bytes, signature: bytes, public_pem: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
            "signature": {
                "content": base64.b64encode(signature).decode(),
                "publicKey": {"content": base64.b64encode(public_pem).decode()},
            },
        },
    }


def _push_image(client: RegistryClient, ref: ImageRef, marker: str) -> str:
    config = json.dumps({"os": "linux", "architecture": "amd64", "marker": marker}).encode()
    return push_config_image(client, ref, config)


def _push_layers(
    client: RegistryClient, ref: ImageRef, tag: str, layers: list[tuple[bytes, str, dict[str, str]]]
) -> None:
    client.put_blob(ref, b"{}")
    descriptors = []
    for blob, media_type, layer_annotations in layers:
        client.put_blob(ref, blob)
        descriptors.append(
            {
                "mediaType": media_type,
                "digest": sha256_digest(blob),
                "size": len(blob),
                "annotations": layer_annotations,
            }
        )
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256_digest(b"{}"),
            "size": 2,
        },
        "layers": descriptors,
    }
    client.put_manifest(ref, tag, json.dumps(manifest).encode(), OCI_MANIFEST)


def _simple_signing_payload(
    ref: ImageRef, digest: str, docker_reference: str | None = None
) -> bytes:
    """The payload `cosign sign` signs: the image's repository and manifest digest."""
    return json.dumps(
        {
            "critical": {
                "identity": {
                    "docker-reference": docker_reference or f"{ref.registry}/{ref.repository}"
                },
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    ).encode()


def _push_signature(
    client: RegistryClient, ref: ImageRef, digest: str, payload: bytes, annotations: dict[str, str]
) -> None:
    """The `sha256-<hex>.sig` tag cosign pushes next to the image, one signed payload a layer."""
    _push_layers(
        client, ref, digest.replace(":", "-") + ".sig", [(payload, SIMPLE_SIGNING, annotations)]
    )


def _sign_image(
    client: RegistryClient,
    log: Log,
    ref: ImageRef,
    digest: str,
    key: PrivateKeyTypes,
    *,
    signed_digest: str | None = None,
    docker_reference: str | None = None,
) -> None:
    payload = _simple_signing_payload(ref, signed_digest or digest, docker_reference)
    signature = _sign(key, payload)
    annotations = {
        "dev.cosignproject.cosign/signature": base64.b64encode(signature).decode(),
        "dev.sigstore.cosign/bundle": log.bundle_annotation(
            _hashedrekord(payload, signature, _pem_public(key))
        ),
    }
    _push_signature(client, ref, digest, payload, annotations)


def _attest_image(
    client: RegistryClient,
    log: Log,
    ref: ImageRef,
    digest: str,
    key: PrivateKeyTypes,
    *,
    payload_type: str = "application/vnd.in-toto+json",
    subject_digest: str | None = None,
) -> None:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": ref.repository, "digest": {"sha256": (subject_digest or digest)[7:]}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "externalParameters": {
                    "workflow": {
                        "repository": "https://github.com/acme/app",
                        "ref": "refs/tags/v1.0.0",
                    }
                }
            },
            "runDetails": {"builder": {"id": "https://builder.example/ci@v1"}},
        },
    }
    payload = json.dumps(statement).encode()
    pae = b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type.encode(), len(payload), payload)
    signature = _sign(key, pae)
    envelope = {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(signature).decode()}],
    }
    body = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": [
                {
                    "signature": base64.b64encode(signature).decode(),
                    "verifier": base64.b64encode(_pem_public(key)).decode(),
                }
            ],
        },
    }
    annotations = {
        "dev.cosignproject.cosign/signature": "",
        "dev.sigstore.cosign/bundle": log.bundle_annotation(body),
        "predicateType": "https://slsa.dev/provenance/v1",
    }
    _push_layers(
        client,
        ref,
        digest.replace(":", "-") + ".att",
        [(json.dumps(envelope).encode(), "application/vnd.dsse.envelope.v1+json", annotations)],
    )


KEYS = {
    "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ecdsa-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "rsa-2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
}


@pytest.fixture(scope="module")
def log() -> Log:
    return Log()


def _verify(
    registry: Registry, image: str, *args: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    rc = main(["verify", image, "--registry-ca", str(registry.ca_file), "--format", "json", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    result: dict[str, Any] = json.loads(captured.out)["results"][0] if captured.out else {}
    return rc, result


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_key_signed_image(
    registry_env: Registry, log: Log, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = pusher(registry_env)
    ref = ImageRef(registry_env.host, f"keys/{kind}", "1.0")
    digest = _push_image(client, ref, kind)
    key = KEYS[kind]()
    _sign_image(client, log, ref, digest, key)
    _attest_image(client, log, ref, digest, key)
    key_file = tmp_path / "key.pub"
    key_file.write_bytes(_pem_public(key))
    root = str(log.trusted_root(tmp_path / "root.json"))
    image = f"{registry_env.host}/keys/{kind}:1.0"

    rc, result = _verify(
        registry_env, image, "--key", str(key_file), "--trusted-root", root, capsys=capsys
    )
    assert rc == 0, result
    assert [v["kind"] for v in result["verified"]] == ["signature"]

    rc, result = _verify(
        registry_env,
        image,
        "--key",
        str(key_file),
        "--trusted-root",
        root,
        "--attestation",
        "slsaprovenance1",
        "--slsa-builder-id",
        "https://builder.example/ci",
        "--slsa-source-repo",
        "github.com/acme/app",
        "--slsa-ref",
        "refs/tags/v1.0.0",
        capsys=capsys,
    )
    assert rc == 0, result
    assert result["verified"][0]["predicate_type"] == "https://slsa.dev/provenance/v1"

    rc, result = _verify(
        registry_env,
        image,
        "--key",
        str(key_file),
        "--trusted-root",
        root,
        "--attestation",
        "slsaprovenance1",
        "--slsa-source-repo",
        "github.com/evil/app",
        capsys=capsys,
    )
    assert rc == 1 and any("is not 'github.com/evil/app'" in r for r in result["reasons"])

    other = tmp_path / "other.pub"
    other.write_bytes(_pem_public(ec.generate_private_key(ec.SECP256R1())))
    rc, result = _verify(
        registry_env, image, "--key", str(other), "--trusted-root", root, capsys=capsys
    )
    assert rc == 1 and any("was not made by public key" in r for r in result["reasons"])


def test_set_from_unknown_log_key(
    registry_env: Registry, log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = pusher(registry_env)
    ref = ImageRef(registry_env.host, "neg/unknown-log", "1")
    digest = _push_image(client, ref, "unknown-log")
    key = ec.generate_private_key(ec.SECP256R1())
    _sign_image(client, Log(), ref, digest, key)  # a log the trusted root does not know
    (tmp_path / "key.pub").write_bytes(_pem_public(key))
    rc, result = _verify(
        registry_env,
        f"{registry_env.host}/neg/unknown-log:1",
        "--key",
        str(tmp_path / "key.pub"),
        "--trusted-root",
        str(log.trusted_root(tmp_path / "root.json")),
        capsys=capsys,
    )
    assert rc == 1
    assert any("transparency log the trusted root does not know" in r for r in result["reasons"])


def test_signature_for_another_digest_and_reference(
    registry_env: Registry, log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = pusher(registry_env)
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "key.pub").write_bytes(_pem_public(key))
    root = str(log.trusted_root(tmp_path / "root.json"))
    ref = ImageRef(registry_env.host, "neg/subject", "1")
    digest = _push_image(client, ref, "subject")
    _sign_image(client, log, ref, digest, key, signed_digest="sha256:" + "0" * 64)
    rc, result = _verify(
        registry_env,
        f"{registry_env.host}/neg/subject:1",
        "--key",
        str(tmp_path / "key.pub"),
        "--trusted-root",
        root,
        capsys=capsys,
    )
    assert rc == 1 and any("not this image" in r for r in result["reasons"]), result

    ref = ImageRef(registry_env.host, "neg/reference", "1")
    digest = _push_image(client, ref, "reference")
    _sign_image(client, log, ref, digest, key, docker_reference="ghcr.io/acme/other")
    rc, result = _verify(
        registry_env,
        f"{registry_env.host}/neg/reference:1",
        "--key",
        str(tmp_path / "key.pub"),
        "--trusted-root",
        root,
        capsys=capsys,
    )
    assert rc == 1 and any("docker-reference ghcr.io/acme/other" in r for r in result["reasons"])


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"subject_digest": "sha256:" + "1" * 64}, "is not a subject of the statement"),
        ({"payload_type": "text/plain"}, "DSSE payload type is 'text/plain'"),
    ],
    ids=["subject-mismatch", "payload-type-mismatch"],
)
def test_attestation_mismatches(
    registry_env: Registry,
    log: Log,
    tmp_path: Path,
    options: dict[str, str],
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = pusher(registry_env)
    name = "neg/att-" + next(iter(options))
    ref = ImageRef(registry_env.host, name.replace("_", "-"), "1")
    digest = _push_image(client, ref, name)
    key = ec.generate_private_key(ec.SECP256R1())
    _attest_image(client, log, ref, digest, key, **options)
    (tmp_path / "key.pub").write_bytes(_pem_public(key))
    rc, result = _verify(
        registry_env,
        f"{registry_env.host}/{ref.repository}:1",
        "--key",
        str(tmp_path / "key.pub"),
        "--trusted-root",
        str(log.trusted_root(tmp_path / "root.json")),
        "--attestation",
        "slsaprovenance1",
        capsys=capsys,
    )
    assert rc == 1
    assert any(expected in r for r in result["reasons"]), result["reasons"]


def test_empty_policies_fail_closed(
    registry_env: Registry, log: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = pusher(registry_env)
    ref = ImageRef(registry_env.host, "neg/policy", "1")
    digest = _push_image(client, ref, "policy")
    key = ec.generate_private_key(ec.SECP256R1())
    _sign_image(client, log, ref, digest, key)
    root = str(log.trusted_root(tmp_path / "root.json"))
    image = f"{registry_env.host}/neg/policy:1"
    pem = _pem_public(key).decode().replace("\n", "\n          ")

    no_authorities = tmp_path / "none.yaml"
    no_authorities.write_text(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
        "metadata: {name: empty}\nspec:\n  images: [{glob: '**'}]\n  authorities: []\n"
    )
    rc, result = _verify(
        registry_env, image, "--policy", str(no_authorities), "--trusted-root", root, capsys=capsys
    )
    assert rc == 1 and any("no authorities (fails closed)" in r for r in result["reasons"])

    other_images = tmp_path / "other.yaml"
    other_images.write_text(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
        "metadata: {name: ghcr-only}\nspec:\n  images: [{glob: 'ghcr.io/**'}]\n"
        "  authorities:\n    - key:\n        data: |\n          " + pem + "\n"
    )
    rc, result = _verify(
        registry_env, image, "--policy", str(other_images), "--trusted-root", root, capsys=capsys
    )
    assert rc == 1 and result["reasons"] == ["no policy selects this image (fails closed)"]

    good = tmp_path / "good.yaml"
    good.write_text(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
        f"metadata: {{name: ours}}\nspec:\n  images: [{{glob: '{registry_env.host}/neg/**'}}]\n"
        "  authorities:\n    - name: release-key\n      key:\n        data: |\n          "
        + pem
        + "\n"
    )
    rc, result = _verify(
        registry_env, image, "--policy", str(good), "--trusted-root", root, capsys=capsys
    )
    assert rc == 0, result
    assert result["reasons"] == ["policy ours: authority release-key satisfied"]

    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    rc = main(["verify", image, "--policy", str(empty)])
    assert rc == 2 and "fails closed" in capsys.readouterr().err
