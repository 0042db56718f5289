"""slsa-verifier's regression cases for the builders beyond the generic and Go generators.

`../shared/vectors/slsa-verifier-builders/cases.json` (same format as `slsa-verifier/`): BYOB
(delegator workflows, Maven and Gradle builders), the container-based builder, Google Cloud
Build images, npm packages and VSAs. Each case runs once per builder ID it lists, through the
command slsa-verifier uses for it (`verify-artifact` = `verify-provenance`, `verify-image`
with `--provenance-path` = `verify-provenance --image`, `verify-npm-package`, `verify-vsa`),
and must end with the expected outcome and, when it fails, with the expected error kind.
"""

from __future__ import annotations

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
        (tarball,) = case["artifacts"]
        return [
            "verify-npm-package",
            "--attestations-path",
            str(base / case["provenance"]),
            "--trusted-root",
            root,
            *argv,
            "sha256:" + digests[tarball],
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
