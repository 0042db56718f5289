"""The images, policies, trust root and webhook TLS the gate tests share: pushed once to the
real registry, signed with a key the way cosign stores signatures."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.verify.registry import ImageRef
from tests.gate._harness import free_port
from tests.verify._registry_fixture import Registry, write_tls
from tests.verify.test_own_signatures import Log, _pem_public, _push_image, _sign_image
from tests.verify.test_registry_verify import DOCKER_MANIFEST, OCI_INDEX, pusher

TIMEOUT = 4  # the webhooks' timeoutSeconds; the gate answers within TIMEOUT - MARGIN
MARGIN = 1
# uvicorn shuts down gracefully on SIGTERM, then re-raises the signal it captured.
STOPPED = (0, -15)


@dataclass
class World:
    registry: Registry
    digests: dict[str, str]
    moved_from: str
    tls: tuple[Path, Path, Path]
    directory: Path
    ledger: Path

    def image(self, name: str) -> str:
        return f"{self.registry.host}/{name}"


def _policies(host: str, pem: str) -> str:
    key = "\n".join("          " + line for line in pem.strip().splitlines())
    return f"""apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {{name: release}}
spec:
  images: [{{glob: "{host}/app/**"}}]
  authorities:
    - name: release-key
      key:
        data: |
{key}
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {{name: audit}}
spec:
  mode: warn
  images: [{{glob: "{host}/audit/**"}}]
  authorities:
    - name: release-key
      key:
        data: |
{key}
"""


def write_config(world: World, name: str, **overrides: Any) -> tuple[Path, int]:
    port = free_port()
    config: dict[str, Any] = {
        "policies": ["policies.yaml"],
        "trustedRoot": "root.json",
        "registry": {"ca": str(world.registry.ca_file), "timeoutSeconds": 2.5},
        "tls": {"certFile": str(world.tls[1]), "keyFile": str(world.tls[2])},
        "listen": {"host": "127.0.0.1", "port": port},
        "timeoutSeconds": TIMEOUT,
        "deadlineMarginSeconds": MARGIN,
        "gateNamespace": "kubeward-gate",
        "breakGlass": True,
        "ledger": {"file": str(world.ledger)},
        **overrides,
    }
    path = world.directory / f"{name}.yaml"
    path.write_text(json.dumps(config))
    return path, port


def _push_index(client: Any, ref: ImageRef) -> tuple[str, str]:
    """A two-platform OCI index under the tag: (index digest, amd64 manifest digest)."""
    manifests = []
    for arch in ("amd64", "arm64"):
        platform_ref = ImageRef(ref.registry, ref.repository, f"1.0-{arch}")
        digest = _push_image(client, platform_ref, f"{ref.repository} {arch}")
        size = len(client.get_manifest(platform_ref).data)
        manifests.append(
            {
                "mediaType": DOCKER_MANIFEST,
                "digest": digest,
                "size": size,
                "platform": {"os": "linux", "architecture": arch},
            }
        )
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
    return client.put_manifest(ref, "1.0", index.encode(), OCI_INDEX), manifests[0]["digest"]


def build_world(gate_registry: Registry, directory: Path) -> World:
    """Images pushed and signed, the policies, the trust root and the webhook's TLS."""
    client = pusher(gate_registry)
    log, key = Log(), ec.generate_private_key(ec.SECP256R1())
    digests = {}
    for name in ("app/signed", "app/unsigned", "app/tampered", "app/moved", "audit/unsigned"):
        ref = ImageRef(gate_registry.host, name, "1.0")
        digests[name] = _push_image(client, ref, name)
        if name in ("app/signed", "app/moved"):
            _sign_image(client, log, ref, digests[name], key)
        if name == "app/tampered":
            _sign_image(client, log, ref, digests[name], key, signed_digest="sha256:" + "0" * 64)
    for name, sign_platform in (("app/multi", False), ("app/multi-platform", True)):
        ref = ImageRef(gate_registry.host, name, "1.0")
        digests[name], platform = _push_index(client, ref)
        _sign_image(client, log, ref, platform if sign_platform else digests[name], key)
    moved_from = digests["app/moved"]
    digests["app/moved"] = _push_image(
        client, ImageRef(gate_registry.host, "app/moved", "1.0"), "moved after signing"
    )
    (directory / "policies.yaml").write_text(
        _policies(gate_registry.host, _pem_public(key).decode())
    )
    log.trusted_root(directory / "root.json")
    tls = write_tls(directory)
    return World(gate_registry, digests, moved_from, tls, directory, directory / "ledger.jsonl")


def env_for(world: World) -> dict[str, str]:
    return {"DOCKER_CONFIG": str(world.registry.docker_config)}


def pod(
    *images: str,
    init: tuple[str, ...] = (),
    annotations: dict[str, str] | None = None,
    name: str = "web",
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "team", "annotations": annotations or {}},
        "spec": {
            "initContainers": [{"name": f"init{i}", "image": im} for i, im in enumerate(init)],
            "containers": [{"name": f"c{i}", "image": im} for i, im in enumerate(images)],
        },
    }


def admission(obj: dict[str, Any], *, namespace: str = "team") -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": obj["kind"]},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": "CREATE",
            "object": obj,
        },
    }


def image_review(
    *images: str, annotations: dict[str, str] | None = None, namespace: str = "team"
) -> dict[str, Any]:
    return {
        "apiVersion": "imagepolicy.k8s.io/v1alpha1",
        "kind": "ImageReview",
        "spec": {
            "containers": [{"image": i} for i in images],
            "annotations": annotations or {},
            "namespace": namespace,
        },
    }
