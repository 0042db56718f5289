"""The policy `kubeward policy generate` writes, used as it is by `kubeward verify --policy`
against the real registry: an image signed keyless by the workflow the scan found signing it
(on a ref its triggers allow) is admitted; the same image signed by that workflow on another
branch, or by another workflow, is not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.verify.registry import ImageRef
from tests.conftest import REPO
from tests.verify._registry_fixture import Registry
from tests.verify.test_keyless_negatives import FORMATS, World, _push_image, world
from tests.verify.test_registry_verify import pusher

__all__ = ["world"]  # the module-scoped fixture of test_keyless_negatives

HANG_GUARD = 120
ISSUER = "https://token.actions.githubusercontent.com"
SAN = "https://github.com/acme/shop/.github/workflows/release.yml@"


def kubeward(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubeward", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        timeout=HANG_GUARD,
        check=False,
    )


def write_repo(root: Path, host: str) -> None:
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    # The registry through a variable: a push written to a loopback registry literally is a
    # runner-local test push to the pipeline model, not one that reaches a cluster.
    (workflows / "release.yml").write_text(
        "on:\n  push:\n    branches: [main]\n    tags: ['v*']\npermissions: {}\n"
        f"env:\n  REGISTRY: '{host}'\njobs:\n"
        "  build:\n    runs-on: ubuntu-latest\n"
        "    permissions: {contents: read, packages: write, id-token: write}\n    steps:\n"
        "      - id: build\n        run: |\n"
        "          docker build -t $REGISTRY/acme/shop:${GITHUB_SHA} .\n"
        "          docker push $REGISTRY/acme/shop:${GITHUB_SHA}\n"
        "      - run: cosign sign --yes $REGISTRY/acme/shop@${{ steps.build.outputs.digest }}\n"
    )
    (root / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: shop}\nspec:\n  containers:\n"
        f"    - name: shop\n      image: {host}/acme/shop:1\n"
    )


@pytest.fixture(scope="module")
def policy(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated")
    write_repo(root / "repo", registry.host)
    out = root / "policy.yaml"
    p = kubeward(
        "policy", "generate", str(root / "repo"), "--repository", "acme/shop", "-o", str(out)
    )
    assert p.returncode == 0, p.stderr
    assert f"{registry.host}/acme/shop@*" in out.read_text()
    return out


def signed(registry: Registry, world: World, name: str, identity: str, fmt: str) -> str:
    client = pusher(registry)
    ref = ImageRef(registry.host, "acme/shop", name)
    digest = _push_image(client, ref, f"generated-{name}-{fmt}")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = world.fulcio.issue(key, world.ct, identity=identity, issuer=ISSUER)
    FORMATS[fmt](client, world.log, ref, digest, key, cert)
    return f"{registry.host}/acme/shop:{name}"


def verify(registry: Registry, world: World, image: str, policy: Path) -> tuple[int, Any]:
    p = kubeward(
        "verify",
        image,
        "--policy",
        str(policy),
        "--trusted-root",
        str(world.root),
        "--registry-ca",
        str(registry.ca_file),
        "--registry-config",
        str(registry.docker_config),
        "-f",
        "json",
    )
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode, json.loads(p.stdout)["results"][0]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize(
    ("ref", "admitted"),
    [
        ("refs/heads/main", True),
        ("refs/tags/v1.2.3", True),
        ("refs/heads/feature", False),
        ("refs/pull/7/merge", False),
        ("refs/tags/release-1", False),
    ],
)
def test_generated_policy_admits_only_its_pipeline(
    registry: Registry, world: World, policy: Path, fmt: str, ref: str, admitted: bool
) -> None:
    name = f"{fmt}-{ref.replace('/', '-')}"
    image = signed(registry, world, name, SAN + ref, fmt)
    rc, result = verify(registry, world, image, policy)
    assert (rc, result["verdict"]) == ((0, "pass") if admitted else (1, "fail")), result


def test_another_workflow_of_the_repository_is_refused(
    registry: Registry, world: World, policy: Path
) -> None:
    other = "https://github.com/acme/shop/.github/workflows/preview.yml@refs/heads/main"
    image = signed(registry, world, "other-workflow", other, "legacy-sig")
    rc, result = verify(registry, world, image, policy)
    assert (rc, result["verdict"]) == (1, "fail"), result
