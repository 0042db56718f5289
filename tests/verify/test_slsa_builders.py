"""slsa-verifier's regression cases for the builders beyond the generic and Go generators.

`../shared/vectors/slsa-verifier-builders/cases.json` (same format as `slsa-verifier/`): BYOB
(delegator workflows, Maven and Gradle builders), the container-based builder, Google Cloud
Build images, npm packages and VSAs. Each case runs once per builder ID it lists, through the
command slsa-verifier uses for it (`verify-artifact` = `verify-provenance`, `verify-image`
with `--provenance-path` = `verify-provenance --image`, `verify-npm-package`, `verify-vsa`),
and must end with the expected outcome and, when it fails, with the expected error kind.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from kubeward.verify.cli import main
from tests.conftest import require_shared
from tests.verify.conftest import VECTORS

BUILDERS = VECTORS / "slsa-verifier-builders"


def family(case: dict[str, Any]) -> str:
    """The builder family of a case: the top folder of its provenance."""
    return str(case["provenance"]).split("/", 1)[0]


def _runs() -> list[tuple[dict[str, Any], str | None]]:
    path = BUILDERS / "cases.json"
    if not path.exists():
        return [({"name": "vectors-absent", "provenance": "absent/"}, None)]
    cases = json.loads(path.read_text())["cases"]
    return [(c, b) for c in cases for b in (c.get("builder_ids") or [None])]


def published_sha512(attestations: Path) -> str:
    """The tarball SHA-512 the npm publish attestation names.

    npm attestations record only the tarball's SHA-512 and ../shared keeps only the tarballs'
    SHA-256 (digests.json), so the npm runs name the tarball by the digest it was published
    with; no npm case expects a digest mismatch (test_npm_tarball_digest covers that check).
    """
    doc = json.loads(attestations.read_text())
    for item in doc["attestations"]:
        if item["predicateType"].startswith("https://github.com/npm/attestation/"):
            statement = json.loads(base64.b64decode(item["bundle"]["dsseEnvelope"]["payload"]))
            return str(statement["subject"][0]["digest"]["sha512"])
    raise AssertionError(f"{attestations}: no publish attestation")


def _argv(case: dict[str, Any], builder_id: str | None, base: Path) -> list[str]:
    digests = json.loads((base / "digests.json").read_text())
    root = str(base / "../trusted_roots/production.json")
    kind = case["kind"]
    if kind == "vsa":
        argv = ["verify-vsa", "--attestation-path", str(base / case["provenance"])]
        for digest in case.get("subject_digests") or []:
            argv += ["--subject-digest", digest]
        for level in case.get("verified_levels") or []:
            argv += ["--verified-level", level]
        if "verifier_id" in case:
            argv += ["--verifier-id", case["verifier_id"]]
        if "resource_uri" in case:
            argv += ["--resource-uri", case["resource_uri"]]
        argv += ["--public-key-path", str(base / case["public_key"])]
        return [*argv, "--public-key-id", case["public_key_id"]]
    argv = ["--source-uri", case["source"]]
    if builder_id is not None:
        argv += ["--builder-id", builder_id]
    for key in ("branch", "tag", "versioned_tag"):
        if case.get(key) is not None:
            argv += ["--source-" + key.replace("_", "-"), case[key]]
    for name, value in (case.get("workflow_inputs") or {}).items():
        argv += ["--build-workflow-input", f"{name}={value}"]
    if kind == "npm":
        for key in ("package_name", "package_version"):
            if key in case:
                argv += ["--" + key.replace("_", "-"), case[key]]
        return [
            "verify-npm-package",
            "--attestations-path",
            str(base / case["provenance"]),
            "--trusted-root",
            root,
            *argv,
            "sha512:" + published_sha512(base / case["provenance"]),
        ]
    if kind == "gcb_image":
        # Local upstream images are OCI layouts that only serve to compute the digest; the
        # case gives it, so every image is named by digest (nothing is fetched).
        name = case["image"] if case["remote_image"] else "local.invalid/" + case["image"]
        return [
            "verify-provenance",
            "--provenance-path",
            str(base / case["provenance"]),
            "--image",
            f"{name}@{case['image_digest']}",
            *argv,
        ]
    assert kind == "artifact", kind
    return [
        "verify-provenance",
        "--provenance-path",
        str(base / case["provenance"]),
        "--trusted-root",
        root,
        *argv,
        *("sha256:" + digests[a] for a in case["artifacts"]),
    ]


@pytest.mark.shared
@pytest.mark.parametrize(
    ("case", "builder_id"),
    _runs(),
    ids=lambda v: f"{family(v)}:{v['name']}" if isinstance(v, dict) else f"builder={v}",
)
def test_slsa_builder_case(
    case: dict[str, Any], builder_id: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    base = require_shared("vectors", "slsa-verifier-builders", "cases.json").parent
    rc = main(_argv(case, builder_id, base))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) <= 1, captured.err
    if case["expect"] == "pass":
        assert rc == 0, captured.err
        if "out_builder_id" in case:
            assert f"builder ID: {case['out_builder_id']}" in captured.out
    else:
        assert rc == 1, captured.err
        assert captured.err.startswith(f"FAILED: {case['expect']}:"), captured.err


def _npm_argv(base: Path, tarball: str) -> list[str]:
    return [
        "verify-npm-package",
        "--attestations-path",
        str(base / "npm/gha/supreme-googles-cli-v02-tag.tgz.json"),
        "--trusted-root",
        str(base / "../trusted_roots/production.json"),
        "--source-uri",
        "github.com/trishankatdatadog/supreme-goggles",
        "--builder-id",
        "https://github.com/actions/runner/github-hosted",
        tarball,
    ]


@pytest.mark.shared
def test_npm_tarball_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The tarball is bound by its SHA-512: another file, or a bare SHA-256, is refused."""
    base = require_shared("vectors", "slsa-verifier-builders", "cases.json").parent
    other = tmp_path / "other.tgz"
    other.write_bytes(b"not the published tarball")
    assert main(_npm_argv(base, str(other))) == 1
    assert capsys.readouterr().err.startswith("FAILED: ErrorMismatchHash:")
    sha256 = json.loads((base / "digests.json").read_text())[
        "npm/gha/supreme-googles-cli-v02-tag.tgz"
    ]
    assert main(_npm_argv(base, "sha256:" + sha256)) == 1
    assert "record the tarball's sha512" in capsys.readouterr().err
    published = published_sha512(base / "npm/gha/supreme-googles-cli-v02-tag.tgz.json")
    assert main(_npm_argv(base, "sha512:" + published)) == 0


@pytest.mark.shared
def test_npm_registry_keys_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A keys file that pairs the registry's key ID with another key is refused."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    base = require_shared("vectors", "slsa-verifier-builders", "cases.json").parent
    der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    keys = {
        "keys": [
            {
                "keyId": "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA",
                "keyUsage": "npm:attestations",
                "publicKey": {"rawBytes": base64.b64encode(der).decode()},
            }
        ]
    }
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(keys))
    published = published_sha512(base / "npm/gha/supreme-googles-cli-v02-tag.tgz.json")
    argv = _npm_argv(base, "sha512:" + published)
    assert main([*argv[:1], "--npm-registry-keys", str(path), *argv[1:]]) == 1
    assert "is not that key's fingerprint" in capsys.readouterr().err


@pytest.mark.shared
def test_vsa_tampered_payload(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A VSA whose statement was altered after signing has no valid signature."""
    base = require_shared("vectors", "slsa-verifier-builders", "cases.json").parent
    envelope = json.loads((base / "vsa/gce/v1/gke-gce-pre.bcid-vsa.jsonl").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["verifiedLevels"].append("SLSA_BUILD_LEVEL_3")
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    tampered = tmp_path / "vsa.json"
    tampered.write_text(json.dumps(envelope))
    argv = [
        "verify-vsa",
        "--attestation-path",
        str(tampered),
        "--public-key-path",
        str(base / "vsa/gce/v1/vsa_signing_public_key.pem"),
        "--public-key-id",
        "keystore://76574:prod:vsa_signing_public_key",
        "--subject-digest",
        "gce_image_id:8970095005306000053",
        "--verifier-id",
        "https://bcid.corp.google.com/verifier/bcid_package_enforcer/v0.1",
        "--resource-uri",
        statement["predicate"]["resourceUri"],
        "--verified-level",
        "SLSA_BUILD_LEVEL_3",
    ]
    assert main(argv) == 1
    assert capsys.readouterr().err.startswith("FAILED: ErrorNoValidSignature:")
    argv[2] = str(base / "vsa/gce/v1/gke-gce-pre.bcid-vsa.jsonl")
    assert main(argv) == 1
    assert capsys.readouterr().err.startswith("FAILED: ErrorMismatchVerifiedLevels:")


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b'{"a": Infinity}', b"\xff{"])
@pytest.mark.parametrize("command", ["artifact", "gcb", "npm", "vsa"])
def test_hostile_documents_fail_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, content: bytes
) -> None:
    """Deep nesting, non-JSON constants and bad bytes: one clear line, never a crash."""
    path = tmp_path / "hostile.json"
    path.write_bytes(content)
    key = tmp_path / "key.pem"
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    digest = "sha256:" + "ab" * 32
    argv = {
        "artifact": [
            "verify-provenance",
            "--provenance-path",
            str(path),
            "--source-uri",
            "x",
            digest,
        ],
        "gcb": [
            "verify-provenance",
            "--provenance-path",
            str(path),
            "--image",
            f"example.invalid/app@{digest}",
            "--source-uri",
            "github.com/o/r",
            "--builder-id",
            "https://cloudbuild.googleapis.com/GoogleHostedWorker",
        ],
        "npm": [
            "verify-npm-package",
            "--attestations-path",
            str(path),
            "--source-uri",
            "github.com/o/r",
            "sha512:" + "ab" * 64,
        ],
        "vsa": ["verify-vsa", "--attestation-path", str(path), "--public-key-path", str(key)],
    }[command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("FAILED: ") and len(err.strip().splitlines()) == 1, err
    assert "unexpected error" not in err and "Traceback" not in err
