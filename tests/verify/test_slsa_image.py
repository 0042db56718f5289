"""slsa-verifier's container image cases: the OCI layout pushed into the real registry and
verified with `verify-provenance --image` (legacy `.att`, certificate and SET annotations)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubeward.verify.cli import main
from kubeward.verify.registry import ImageRef, RegistryClient
from tests.conftest import require_shared
from tests.verify._registry_fixture import Registry
from tests.verify.conftest import VECTORS
from tests.verify.test_registry_verify import pusher
from tests.verify.test_slsa_verifier import argv_for, check_outcome


def _push_layout(client: RegistryClient, ref: ImageRef, layout: Path) -> str:
    blobs = layout / "blobs" / "sha256"

    def read(digest: str) -> bytes:
        return (blobs / digest.removeprefix("sha256:")).read_bytes()

    def push_manifest(descriptor: dict[str, Any], reference: str | None = None) -> str:
        data = read(descriptor["digest"])
        doc = json.loads(data)
        for child in doc.get("manifests") or []:
            push_manifest(child)
        for blob in [doc.get("config"), *(doc.get("layers") or [])]:
            if blob:
                client.put_blob(ref, read(blob["digest"]))
        return client.put_manifest(
            ref, reference or descriptor["digest"], data, descriptor["mediaType"]
        )

    index = json.loads((layout / "index.json").read_text())
    image = next(m for m in index["manifests"] if m["annotations"]["kind"].endswith("imageIndex"))
    digest = push_manifest(image, "v1")
    assert digest == image["digest"]
    for atts in (m for m in index["manifests"] if m["annotations"]["kind"].endswith("/atts")):
        push_manifest(atts, digest.replace(":", "-") + ".att")
    return digest


def _image_runs() -> list[tuple[dict[str, Any], str | None]]:
    path = VECTORS / "slsa-verifier" / "cases.json"
    if not path.exists():
        return [({"name": "vectors-absent"}, None)]
    cases = json.loads(path.read_text())["cases"]
    return [(c, b) for c in cases if c["kind"] == "image" for b in c["builder_ids"]]


@pytest.fixture(scope="module")
def slsa_image(registry: Registry) -> str:
    layout = require_shared(
        "vectors",
        "slsa-verifier",
        "gha_generic_container",
        "v1.10.0",
        "container_workflow_dispatch",
    )
    ref = ImageRef(registry.host, "slsa/container", "v1")
    digest = _push_layout(pusher(registry), ref, layout)
    return f"{registry.host}/slsa/container@{digest}"


@pytest.mark.shared
@pytest.mark.parametrize(
    ("case", "builder_id"),
    _image_runs(),
    ids=lambda v: v["name"] if isinstance(v, dict) else f"builder={v}",
)
def test_slsa_image_case(
    registry: Registry,
    slsa_image: str,
    case: dict[str, Any],
    builder_id: str | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert slsa_image.endswith(case["image_digest"])
    argv = argv_for(case, builder_id, [])
    # the login through --registry-config (not DOCKER_CONFIG): the flag reaches the client
    argv[1:1] = [
        "--image",
        slsa_image,
        "--registry-ca",
        str(registry.ca_file),
        "--registry-config",
        str(registry.docker_config),
    ]
    rc = main(argv)
    captured = capsys.readouterr()
    check_outcome(case, rc, captured.out, captured.err)
