"""SBOMs attached with `cosign attach sbom` (legacy `sha256-<hex>.sbom` tag), reported in the
result of `kubeward verify`, with the signature `cosign sign --attachment sbom` makes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.verify.cli import main
from kubeward.verify.registry import ImageRef, RegistryClient
from tests.verify._registry_fixture import Registry
from tests.verify.test_own_signatures import (
    Log,
    _pem_public,
    _push_image,
    _push_layers,
    _sign_image,
)
from tests.verify.test_registry_verify import pusher

SPDX = json.dumps({"spdxVersion": "SPDX-2.3", "name": "app", "packages": []}).encode()


def _attach_sbom(client: RegistryClient, ref: ImageRef, digest: str) -> str:
    """What `cosign attach sbom --type spdxjson` pushes; returns the `.sbom` manifest digest."""
    tag = digest.replace(":", "-") + ".sbom"
    _push_layers(client, ref, tag, [(SPDX, "text/spdx+json", {})])
    manifest = client.get_manifest(ref, tag)
    assert manifest is not None
    return manifest.digest


def _verify(
    registry: Registry, image: str, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any], str]:
    common = ["verify", image, "--registry-ca", str(registry.ca_file), *args]
    rc = main([*common, "--format", "json"])
    result: dict[str, Any] = json.loads(capsys.readouterr().out)["results"][0]
    main(common)
    return rc, result, capsys.readouterr().out


def test_attached_sbom_reported_signed_and_unsigned(
    registry_env: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = pusher(registry_env)
    log = Log()
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "key.pub").write_bytes(_pem_public(key))
    policy = ["--key", str(tmp_path / "key.pub")]
    policy += ["--trusted-root", str(log.trusted_root(tmp_path / "root.json"))]

    ref = ImageRef(registry_env.host, "sbom/signed", "1")
    digest = _push_image(client, ref, "sbom-signed")
    _sign_image(client, log, ref, digest, key)
    sbom_manifest = _attach_sbom(client, ref, digest)
    _sign_image(client, log, ref, sbom_manifest, key)  # cosign sign --attachment sbom
    rc, result, text = _verify(registry_env, f"{registry_env.host}/sbom/signed:1", capsys, *policy)
    assert rc == 0
    [sbom] = result["sboms"]
    assert sbom["where"] == digest.replace(":", "-") + ".sbom layer 0"
    assert (sbom["media_type"], sbom["size"]) == ("text/spdx+json", len(SPDX))
    assert sbom["signed_by"] == str(tmp_path / "key.pub")
    assert f"attached sbom text/spdx+json ({len(SPDX)} bytes)" in text
    assert f"signed by {tmp_path / 'key.pub'}" in text

    ref = ImageRef(registry_env.host, "sbom/unsigned", "1")
    digest = _push_image(client, ref, "sbom-unsigned")
    _sign_image(client, log, ref, digest, key)
    _attach_sbom(client, ref, digest)
    rc, result, text = _verify(
        registry_env, f"{registry_env.host}/sbom/unsigned:1", capsys, *policy
    )
    assert rc == 0  # an attached SBOM is information, not a requirement
    [sbom] = result["sboms"]
    assert sbom["signed_by"] is None and sbom["problems"] == []
    assert "from " + digest.replace(":", "-") + ".sbom layer 0, not signed" in text

    # An SBOM signature by another key is reported with the reason it does not verify.
    other = ec.generate_private_key(ec.SECP256R1())
    ref = ImageRef(registry_env.host, "sbom/other-key", "1")
    digest = _push_image(client, ref, "sbom-other")
    _sign_image(client, log, ref, digest, key)
    _sign_image(client, log, ref, _attach_sbom(client, ref, digest), other)
    rc, result, _ = _verify(registry_env, f"{registry_env.host}/sbom/other-key:1", capsys, *policy)
    assert rc == 0
    [sbom] = result["sboms"]
    assert sbom["signed_by"] is None
    assert any("was not made by public key" in p for p in sbom["problems"]), sbom


def test_no_sbom_no_entry(
    registry_env: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = pusher(registry_env)
    log = Log()
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "key.pub").write_bytes(_pem_public(key))
    ref = ImageRef(registry_env.host, "sbom/none", "1")
    digest = _push_image(client, ref, "sbom-none")
    _sign_image(client, log, ref, digest, key)
    rc, result, text = _verify(
        registry_env,
        f"{registry_env.host}/sbom/none:1",
        capsys,
        "--key",
        str(tmp_path / "key.pub"),
        "--trusted-root",
        str(log.trusted_root(tmp_path / "root.json")),
    )
    assert rc == 0 and result["sboms"] == [] and "attached sbom" not in text
