"""`kubeward gate` configuration: errors are one line naming the file and the reason (exit 2),
`--check` loads policies and trust material, and a gate whose policies do not load serves
/healthz but not /readyz and denies every image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubeward.cli import main
from tests.gate._harness import ApiServer, start_gate
from tests.gate._world import STOPPED, TIMEOUT, World, admission, env_for, pod, write_config

CHART_POLICY = Path(__file__).resolve().parents[2] / "charts/kubeward-gate/policies/default.yaml"


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({}, "policies must list at least one ClusterImagePolicy file"),
        ({"policies": ["p.yaml"], "timeoutSeconds": 31}, "timeoutSeconds must be at most 30"),
        (
            {"policies": ["p.yaml"], "timeoutSeconds": 2, "deadlineMarginSeconds": 2},
            "deadlineMarginSeconds must be less than timeoutSeconds",
        ),
        ({"policies": ["p.yaml"], "noMatchPolicy": "allow"}, "noMatchPolicy must be deny or warn"),
        (
            {"policies": ["p.yaml"], "cache": {"denyTTLSeconds": "x"}},
            "cache.denyTTLSeconds must be a number",
        ),
        ({"policies": ["missing.yaml"]}, "cannot read policy"),
    ],
)
def test_configuration_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: dict[str, object], reason: str
) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text(json.dumps(doc))
    assert main(["gate", "--config", str(config), "--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kubeward gate: ") and reason in err and len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_check_loads_the_chart_default_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text(json.dumps({"policies": [str(CHART_POLICY)]}))
    assert main(["gate", "--config", str(config), "--check"]) == 0
    assert "1 policies, trust material loaded" in capsys.readouterr().out


def test_a_gate_whose_policies_do_not_load_is_not_ready(world: World, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
        "metadata: {name: broken}\nspec: {images: []}\n"
    )
    path, port = write_config(world, "not-ready", policies=[str(bad)])
    gate = start_gate(path, ca_file=world.tls[0], env=env_for(world), port=port, ready=False)
    api = ApiServer(port, world.tls[0], timeout=TIMEOUT)
    try:
        status, body = api.request("GET", "/readyz")
        assert status == 503 and b"ClusterImagePolicy broken: no image globs" in body
        response = api.post("/validate", admission(pod(world.image("app/signed:1.0"))))
        assert response["response"]["allowed"] is False
        assert "the gate is not ready" in response["response"]["status"]["message"]
    finally:
        api.close()
        assert gate.stop() in STOPPED
