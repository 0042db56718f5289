"""Keyless enforcement with a real Sigstore vector nobody here wrote: cosign's test image and
its production-signed attestation bundle (identity cody@soyland.com, GitHub OAuth issuer),
pushed to the real registry; the gate runs with its default trust root (sigstore's
production root, offline), playing the apiserver as in test_gate_server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kubeward.verify.registry import ImageRef
from tests.conftest import require_shared
from tests.gate._harness import ApiServer, GateProcess, start_gate
from tests.gate._world import STOPPED, TIMEOUT, World, admission, env_for, pod, write_config
from tests.verify.test_registry_verify import (
    COSIGN_DIGEST,
    attach_bundle,
    push_empty_image,
    pusher,
)

POLICY = """apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {{name: {name}}}
spec:
  images: [{{glob: "{glob}"}}]
  authorities:
    - name: cosign-tests
      keyless:
        identities:
          - {{subject: {subject}, issuer: "https://github.com/login/oauth"}}
      attestations:
        - {{name: custom, predicateType: custom}}
"""


@pytest.fixture(scope="module")
def keyless_gate(world: World) -> Iterator[GateProcess]:
    bundle = require_shared("vectors", "cosign", "oci-attestation.sigstore.json").read_bytes()
    client = pusher(world.registry)
    for repository in ("keyless/cody", "keyless/mallory"):
        ref = ImageRef(world.registry.host, repository, "latest")
        assert push_empty_image(client, ref) == COSIGN_DIGEST
        attach_bundle(client, ref, COSIGN_DIGEST, bundle)
    host = world.registry.host
    policies = world.directory / "keyless-policies.yaml"
    policies.write_text(
        POLICY.format(name="cody", glob=f"{host}/keyless/cody*", subject="cody@soyland.com")
        + "---\n"
        + POLICY.format(
            name="mallory", glob=f"{host}/keyless/mallory*", subject="mallory@example.com"
        )
    )
    path, port = write_config(world, "keyless", policies=[str(policies)], trustedRoot=None)
    gate = start_gate(path, ca_file=world.tls[0], env=env_for(world), port=port)
    yield gate
    assert gate.stop() in STOPPED


@pytest.mark.shared
def test_keyless_attestation_admits_the_listed_identity_only(
    world: World, keyless_gate: GateProcess
) -> None:
    api = ApiServer(keyless_gate.port, world.tls[0], timeout=TIMEOUT)
    try:
        cody = world.image("keyless/cody:latest")
        mutated = api.post("/mutate", admission(pod(cody)))["response"]
        assert mutated["allowed"] is True and "patch" in mutated
        pinned = f"{cody}@{COSIGN_DIGEST}"
        assert api.post("/validate", admission(pod(pinned)))["response"]["allowed"] is True
        mallory = f"{world.image('keyless/mallory:latest')}@{COSIGN_DIGEST}"
        denied = api.post("/validate", admission(pod(mallory)))["response"]
        assert denied["allowed"] is False
        assert "cody@soyland.com" in denied["status"]["message"]
        assert "mallory@example.com" in denied["status"]["message"]
    finally:
        api.close()
