"""`kubeward verify` as a user runs it: formats and outputs as `scan` takes them, `--type`,
and exit codes that tell "checked and failed" (1) from "could not check" (4)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.verify.registry import ImageRef
from tests.conftest import REPO, sarif_schema
from tests.verify._registry_fixture import Registry
from tests.verify.test_registry_verify import push_config_image, pusher

HANG_GUARD = 120
"""Seconds a run may take before the test calls it hung (not a speed claim)."""


def kubeward(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-m", "kubeward", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=HANG_GUARD,
        check=False,
    )


def refused_host() -> str:
    with socket.socket() as sock:  # a port nobody listens on: connecting is refused at once
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def unsigned(registry: Registry) -> str:
    config = b'{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    push_config_image(pusher(registry), ImageRef(registry.host, "cli-unsigned", "v1"), config)
    return f"{registry.host}/cli-unsigned:v1"


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    path = tmp_path_factory.mktemp("key") / "cosign.pub"
    path.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def base(registry: Registry, key: Path) -> list[str]:
    return [
        "--key",
        str(key),
        "--registry-ca",
        str(registry.ca_file),
        "--registry-config",
        str(registry.docker_config),
    ]


def test_checked_and_failed_is_exit_1(registry: Registry, unsigned: str, key: Path) -> None:
    p = kubeward("verify", unsigned, *base(registry, key), "-f", "json")
    assert p.returncode == 1, p.stderr
    (result,) = json.loads(p.stdout)["results"]
    assert result["verdict"] == "fail"


def test_unreachable_registry_is_exit_4(registry: Registry, key: Path) -> None:
    host = refused_host()
    args = ["--insecure-registry", host, "--registry-timeout", "5"]
    p = kubeward("verify", f"{host}/app:v1", *base(registry, key), *args, "-f", "json")
    assert p.returncode == 4, p.stderr
    (result,) = json.loads(p.stdout)["results"]
    assert result["verdict"] == "error"
    assert any("unreachable" in r for r in result["reasons"]), result
    assert "Traceback" not in p.stderr


def test_a_failure_outranks_an_unchecked_image(
    registry: Registry, unsigned: str, key: Path
) -> None:
    host = refused_host()
    args = ["--insecure-registry", host, "--registry-timeout", "5"]
    p = kubeward("verify", f"{host}/app:v1", unsigned, *base(registry, key), *args, "-f", "json")
    assert p.returncode == 1, p.stderr
    verdicts = [r["verdict"] for r in json.loads(p.stdout)["results"]]
    assert verdicts == ["error", "fail"]


def test_several_formats_to_files_and_stdout(
    registry: Registry, unsigned: str, key: Path, tmp_path: Path
) -> None:
    sarif, js = tmp_path / "verify.sarif", tmp_path / "verify.json"
    p = kubeward(
        "verify",
        unsigned,
        *base(registry, key),
        "-f",
        f"sarif={sarif}",
        "--format",
        "json",
        "-o",
        str(js),
        "-f",
        "text",
    )
    assert p.returncode == 1, p.stderr
    assert unsigned in p.stdout and "FAIL" in p.stdout.upper()
    doc = json.loads(sarif.read_text())
    jsonschema.validate(doc, sarif_schema())
    assert doc["runs"][0]["results"][0]["kind"] == "fail"
    assert json.loads(js.read_text())["results"][0]["image"] == unsigned


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-f", "json", "-f", "sarif"], "several formats to stdout"),
        (["-f", "yaml"], "unknown format 'yaml' (text, json, sarif)"),
        (["-f", "json", "-o", "a", "-o", "b"], "more --output than --format"),
    ],
)
def test_output_usage_errors(
    registry: Registry, key: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    p = kubeward("verify", "127.0.0.1:1/never:v1", *base(registry, key), *args, cwd=tmp_path)
    assert p.returncode == 2
    assert message in p.stderr
    assert not list(tmp_path.iterdir())


def test_invalid_image_is_usage(registry: Registry, key: Path) -> None:
    p = kubeward("verify", "Not A Reference", *base(registry, key))
    assert p.returncode == 2
    assert "'Not A Reference' is not a valid image reference" in p.stderr


def test_type_is_attestation(registry: Registry, unsigned: str, key: Path) -> None:
    """`--type` (cosign's spelling) requires an attestation, as `--attestation` does."""
    runs = {}
    for flag in ("--type", "--attestation"):
        p = kubeward("verify", unsigned, *base(registry, key), flag, "spdx", "-f", "json")
        assert p.returncode == 1, p.stderr
        runs[flag] = json.loads(p.stdout)["results"][0]["reasons"]
    assert runs["--type"] == runs["--attestation"]
    assert any("spdx" in r for r in runs["--type"]), runs
    plain = kubeward("verify", unsigned, *base(registry, key), "-f", "json")
    assert json.loads(plain.stdout)["results"][0]["reasons"] != runs["--type"]


def test_scan_and_verify_sarif_have_their_own_code_scanning_category(
    registry: Registry, unsigned: str, key: Path, tmp_path: Path
) -> None:
    """GitHub takes the category from `automationDetails.id` up to its last `/`; the two
    uploads for one commit must differ there, or the second replaces the first."""
    (tmp_path / "deploy.yaml").write_text(
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n"
        f"  containers:\n    - name: a\n      image: {unsigned}\n"
    )
    scan_out, verify_out = tmp_path / "scan.sarif", tmp_path / "verify.sarif"
    scanned = kubeward("scan", str(tmp_path / "deploy.yaml"), "-f", f"sarif={scan_out}")
    assert scanned.returncode in (0, 1), scanned.stderr
    verified = kubeward("verify", unsigned, *base(registry, key), "-f", f"sarif={verify_out}")
    assert verified.returncode == 1, verified.stderr
    ids = []
    for path in (scan_out, verify_out):
        doc = json.loads(path.read_text())
        jsonschema.validate(doc, sarif_schema())
        (run,) = doc["runs"]
        ids.append(run["automationDetails"]["id"])
    assert ids == ["kubeward/scan/", "kubeward/verify/"]
    categories = {i.rpartition("/")[0] for i in ids}
    assert categories == {"kubeward/scan", "kubeward/verify"}
