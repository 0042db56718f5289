"""The Sigstore conformance suite's bundle cases through `verify-bundle`, in both modes.

Every `_fail` case must be rejected and every other case verified, with the artifact given
as a file path and as `sha256:<hex>`. Each engine is also run on its own, so the figures in
docs/conformance.md can be reproduced: `auto` (what users get), `own` (kubeward's engine on
every case) and `sigstore` (sigstore-python alone, with its known gaps).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubeward.verify.cli import main
from tests.conftest import require_shared
from tests.verify.conftest import VECTORS

CONFORMANCE = VECTORS / "conformance"

# Cases sigstore-python 4.5.1 cannot get right (see ../shared/vectors/README.md).
SIGSTORE_PYTHON_GAPS = frozenset(
    {"intoto-with-custom-trust-root", "managed-key-and-trusted-root", "managed-key-happy-path"}
)


def _cases() -> list[dict[str, Any]]:
    path = CONFORMANCE / "cases.json"
    if not path.exists():
        return [{"case": "vectors-absent"}]
    cases: list[dict[str, Any]] = json.loads(path.read_text())["cases"]
    return cases


def _argv(case: dict[str, Any], mode: str, engine: str) -> list[str]:
    base = require_shared("vectors", "conformance")
    argv = ["verify-bundle", "--bundle", str(base / case["bundle"]), "--engine", engine]
    if case["key"]:
        argv += ["--key", str(base / case["key"])]
    else:
        argv += [
            "--certificate-identity",
            case["identity"],
            "--certificate-oidc-issuer",
            case["issuer"],
        ]
    root = case["trusted_root"] or "../trusted_roots/production.json"
    argv += ["--trusted-root", str(base / root)]
    argv.append(str(base / case["artifact"]) if mode == "path" else case["artifact_digest"])
    return argv


def _run(case: dict[str, Any], mode: str, engine: str, capsys: pytest.CaptureFixture[str]) -> int:
    if case["case"] == "vectors-absent":
        require_shared("vectors", "conformance", "cases.json")
    rc = main(_argv(case, mode, engine))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if rc != 0:
        assert err.startswith("verification FAILED: "), err
    return rc


@pytest.mark.shared
@pytest.mark.parametrize("mode", ["path", "digest"], ids=lambda m: f"mode-{m}")
@pytest.mark.parametrize("engine", ["auto", "own"], ids=lambda e: f"engine-{e}")
@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["case"])
def test_conformance_case(
    case: dict[str, Any], mode: str, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = _run(case, mode, engine, capsys)
    if case["expect"] == "pass":
        assert rc == 0, f"{case['case']} must verify ({mode} mode, {engine} engine)"
    else:
        assert rc != 0, f"{case['case']} must be rejected ({mode} mode, {engine} engine)"


@pytest.mark.shared
@pytest.mark.parametrize("mode", ["path", "digest"])
def test_sigstore_python_engine_alone(mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    """sigstore-python alone gets all but its documented gaps right; nothing else."""
    wrong = set()
    for case in _cases():
        rc = _run(case, mode, "sigstore", capsys)
        if (rc == 0) != (case["expect"] == "pass"):
            wrong.add(case["case"])
    assert wrong == SIGSTORE_PYTHON_GAPS


def test_digest_input_is_a_digest_only_when_no_such_file(tmp_path: Path) -> None:
    from kubeward.verify.bundle import artifact_from_input

    digest = "sha256:" + "ab" * 32
    assert artifact_from_input(digest).data is None
    assert artifact_from_input(digest).sha256 == bytes.fromhex("ab" * 32)


def test_cli_engine_choices_match_the_engines() -> None:
    from kubeward.verify.bundle import Engine
    from kubeward.verify.cli import ENGINES

    assert tuple(e.value for e in Engine) == ENGINES


def test_cli_artifact_kinds_match() -> None:
    from kubeward.verify._cli_provenance import ARTIFACT_KINDS
    from kubeward.verify.provenance import ArtifactKind

    assert tuple(k.value for k in ArtifactKind) == ARTIFACT_KINDS
