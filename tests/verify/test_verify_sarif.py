"""`kubeward verify --format sarif`: valid SARIF 2.1.0, one result per image with its verdict."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.verify.cli import main
from kubeward.verify.registry import ImageRef
from tests.conftest import sarif_schema
from tests.verify._registry_fixture import Registry
from tests.verify.test_own_signatures import Log, _pem_public, _push_image, _sign_image
from tests.verify.test_registry_verify import pusher


def test_sarif_pass_fail_and_error(
    registry_env: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = pusher(registry_env)
    log = Log()
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "key.pub").write_bytes(_pem_public(key))
    host = registry_env.host
    signed = _push_image(client, ImageRef(host, "sarif/signed", "1"), "sarif-signed")
    _sign_image(client, log, ImageRef(host, "sarif/signed", "1"), signed, key)
    _push_image(client, ImageRef(host, "sarif/unsigned", "1"), "sarif-unsigned")
    images = [f"{host}/sarif/signed:1", f"{host}/sarif/unsigned:1", f"{host}/sarif/missing:1"]

    rc = main(
        [
            "verify",
            *images,
            "--registry-ca",
            str(registry_env.ca_file),
            "--key",
            str(tmp_path / "key.pub"),
            "--trusted-root",
            str(log.trusted_root(tmp_path / "root.json")),
            "--format",
            "sarif",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1
    jsonschema.validate(doc, sarif_schema())
    [run] = doc["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["image-signature-unverified"]
    got = {
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]: (r["kind"], r["level"])
        for r in run["results"]
    }
    assert got == {images[0]: ("pass", "none"), images[1]: ("fail", "error")}
    unsigned = next(r for r in run["results"] if r["kind"] == "fail")
    assert "no signature found" in unsigned["message"]["text"]
    assert unsigned["properties"]["digest"].startswith("sha256:")
    [note] = run["invocations"][0]["toolExecutionNotifications"]
    assert (
        note["message"]["text"].startswith(images[2])
        and "manifest not found" in (note["message"]["text"])
    )
    assert run["invocations"][0]["executionSuccessful"] is False
