"""`kubeward gate` configuration: errors are one line naming the file and the reason (exit 2),
`--check` loads policies and trust material, and policy files are watched: a gate whose
policies do not load serves /healthz but not /readyz and denies every image until they do,
and a changed policy applies without a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

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


def test_unusable_certificates_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"policies": [str(CHART_POLICY)], "listen": {"host": "127.0.0.1", "port": 1}}
    config = tmp_path / "gate.yaml"
    config.write_text(json.dumps({**base, "tls": {"certFile": "nope.pem", "keyFile": "nope.key"}}))
    assert main(["gate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kubeward gate: cannot read ") and "nope.pem" in err
    assert len(err.splitlines()) == 1
    (tmp_path / "bad.pem").write_text("not a certificate")
    config.write_text(json.dumps({**base, "tls": {"certFile": "bad.pem", "keyFile": "bad.pem"}}))
    assert main(["gate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "are not a PEM certificate and its key" in err and len(err.splitlines()) == 1
    config.write_text(json.dumps(base))
    assert main(["gate", "--config", str(config)]) == 2
    assert "tls.certFile and tls.keyFile are required" in capsys.readouterr().err


def test_check_loads_the_chart_default_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gate.yaml"
    config.write_text(json.dumps({"policies": [str(CHART_POLICY)]}))
    assert main(["gate", "--config", str(config), "--check"]) == 0
    assert "1 policies, trust material loaded" in capsys.readouterr().out


def _poll(what: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not what():
        assert time.monotonic() < deadline, "the gate did not pick up the change"
        time.sleep(0.2)


def test_policies_load_late_and_reload_without_restart(world: World, tmp_path: Path) -> None:
    """Not ready while its policies do not load (and every image denied); ready once the
    file is fixed; a later policy change applies without a restart, and no verdict cached
    under the old policies is reused."""
    policies = tmp_path / "policies.yaml"
    policies.write_text(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
        "metadata: {name: broken}\nspec: {images: []}\n"
    )
    path, port = write_config(world, "reload", policies=[str(policies)], reloadSeconds=0.2)
    gate = start_gate(path, ca_file=world.tls[0], env=env_for(world), port=port, ready=False)
    api = ApiServer(port, world.tls[0], timeout=TIMEOUT)
    signed = admission(pod(f"{world.image('app/signed:1.0')}@{world.digests['app/signed']}"))
    try:
        status, body = api.request("GET", "/readyz")
        assert status == 503 and b"ClusterImagePolicy broken: no image globs" in body
        response = api.post("/validate", signed)["response"]
        assert response["allowed"] is False
        assert "the gate is not ready" in response["status"]["message"]

        good = (world.directory / "policies.yaml").read_text()
        policies.write_text(good)
        _poll(lambda: api.request("GET", "/readyz")[0] == 200)
        assert api.post("/validate", signed)["response"]["allowed"] is True
        assert api.post("/validate", signed)["response"]["allowed"] is True  # cached

        other = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        start = good.index("-----BEGIN PUBLIC KEY-----")
        end = good.index("-----END PUBLIC KEY-----") + len("-----END PUBLIC KEY-----")
        indent = "\n" + " " * 10
        policies.write_text(good[:start] + indent.join(other.strip().splitlines()) + good[end:])
        _poll(lambda: not api.post("/validate", signed)["response"]["allowed"])
        response = api.post("/validate", signed)["response"]
        assert "was not made by public key" in response["status"]["message"]
        assert api.metrics()['kubeward_gate_policy_reloads_total{result="loaded"}'] == 2
    finally:
        api.close()
        assert gate.stop() in STOPPED


def test_registry_logins_come_from_registry_config(world: World, tmp_path: Path) -> None:
    """`registry.config` names the Docker config the gate logs in with; without it (and with
    an empty `$DOCKER_CONFIG`) the registry refuses the gate and the image is denied."""
    empty = tmp_path / "empty-docker"
    empty.mkdir()
    signed = admission(pod(f"{world.image('app/signed:1.0')}@{world.digests['app/signed']}"))
    registry = {"ca": str(world.registry.ca_file), "timeoutSeconds": 2.5}
    for name, extra, allowed in (
        ("no-logins", {}, False),
        ("logins", {"config": str(world.registry.docker_config)}, True),
    ):
        path, port = write_config(world, name, registry={**registry, **extra})
        gate = start_gate(path, ca_file=world.tls[0], env={"DOCKER_CONFIG": str(empty)}, port=port)
        try:
            response = ApiServer(port, world.tls[0], timeout=TIMEOUT).post("/validate", signed)
            assert response["response"]["allowed"] is allowed, response
            if not allowed:
                assert "authentication required" in response["response"]["status"]["message"]
        finally:
            gate.stop()
