"""slsa-verifier's regression cases through `verify-provenance` (artifact and BCR kinds).

Each expected error must be reproduced by name and each pass must pass, for every builder id
variant the case lists. Cases marked `rekor_lookup` carry no log entry (slsa-verifier finds
it online); offline they must be rejected, and kubeward says why (`ErrorRekorSearch`).
The image cases run against the real registry in test_registry_verify.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubeward.verify.cli import main
from kubeward.verify.provenance import versioned_tag_matches
from tests.conftest import require_shared
from tests.verify.conftest import VECTORS

SLSA = VECTORS / "slsa-verifier"


def _runs() -> list[tuple[dict[str, Any], str | None]]:
    path = SLSA / "cases.json"
    if not path.exists():
        return [({"name": "vectors-absent"}, None)]
    cases = json.loads(path.read_text())["cases"]
    return [(c, b) for c in cases if c["kind"] != "image" for b in c["builder_ids"]]


def argv_for(case: dict[str, Any], builder_id: str | None, artifacts: list[str]) -> list[str]:
    base = require_shared("vectors", "slsa-verifier")
    argv = [
        "verify-provenance",
        "--source-uri",
        case["source"],
        "--trusted-root",
        str(base / "../trusted_roots/production.json"),
    ]
    if builder_id is not None:
        argv += ["--builder-id", builder_id]
    for key in ("branch", "tag", "versioned_tag"):
        if case.get(key) is not None:
            argv += ["--source-" + key.replace("_", "-"), case[key]]
    for name, value in (case.get("workflow_inputs") or {}).items():
        argv += ["--build-workflow-input", f"{name}={value}"]
    return argv + artifacts


def check_outcome(case: dict[str, Any], rc: int, out: str, err: str) -> None:
    assert "Traceback" not in err
    if case.get("rekor_lookup"):
        assert rc != 0 and err.startswith("FAILED: ErrorRekorSearch:"), err
    elif case["expect"] == "pass":
        assert rc == 0, err
        if "out_builder_id" in case:
            assert f"builder ID: {case['out_builder_id']}@" in out
    else:
        assert rc != 0
        assert err.startswith(f"FAILED: {case['expect']}:"), err


@pytest.mark.shared
@pytest.mark.parametrize(
    ("case", "builder_id"),
    _runs(),
    ids=lambda v: v["name"] if isinstance(v, dict) else f"builder={v}",
)
def test_slsa_verifier_case(
    case: dict[str, Any], builder_id: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    base = require_shared("vectors", "slsa-verifier", "cases.json").parent
    digests = json.loads((base / "digests.json").read_text())
    argv = argv_for(case, builder_id, ["sha256:" + digests[a] for a in case["artifacts"]])
    argv[1:1] = ["--provenance-path", str(base / case["provenance"]), "--kind", case["kind"]]
    rc = main(argv)
    captured = capsys.readouterr()
    check_outcome(case, rc, captured.out, captured.err)


@pytest.mark.parametrize(
    ("expected", "tag", "matches"),
    [
        ("v13", "v13.0.30", True),
        ("v13.0", "v13.0.30", True),
        ("v13.0.30", "v13.0.30", True),
        ("v13.1", "v13.0.30", False),
        ("v14.2.1", "v14.2", False),
        ("v14", "v14", True),
        ("v14.0", "v14", True),
        ("v14.1", "v14", False),
        ("v1", "main", False),
    ],
)
def test_versioned_tag_rules(expected: str, tag: str, matches: bool) -> None:
    assert versioned_tag_matches(expected, tag) is matches
