"""`verify --policy` with several keyless identities: each (subject, issuer) is one pair.

The evidence is cosign's real attestation bundle (../shared/vectors/cosign), whose Fulcio
certificate names `cody@soyland.com` (an RFC 822 SAN) issued by
`https://github.com/login/oauth`, attached to cosign's test image in the real local registry.
cosign's `CheckCertificatePolicy` (and policy-controller, which hands `identities` to it)
accepts a certificate only when one listed identity matches both subject and issuer, so a
subject of one identity with the issuer of another must be refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubeward.verify.registry import ImageRef
from tests.conftest import require_shared
from tests.verify._registry_fixture import Registry
from tests.verify.test_registry_verify import (
    cosign_image,
    push_empty_image,
    pusher,
    run_verify,
)

__all__ = ["cosign_image"]  # the module-scoped fixture, shared with test_registry_verify

SUBJECT = "cody@soyland.com"
ISSUER = "https://github.com/login/oauth"


def _policy(tmp_path: Path, glob: str, identities: list[dict[str, str]]) -> Path:
    lines = [
        "apiVersion: policy.sigstore.dev/v1beta1",
        "kind: ClusterImagePolicy",
        "metadata: {name: pairs}",
        "spec:",
        f"  images: [{{glob: '{glob}'}}]",
        "  authorities:",
        "    - name: release",
        "      keyless:",
        "        identities:",
    ]
    for ident in identities:
        first = True
        for key, value in ident.items():
            lines.append(f"          {'- ' if first else '  '}{key}: '{value}'")
            first = False
    lines += ["      attestations:", "        - {name: custom, predicateType: custom}"]
    path = tmp_path / "policy.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _verify(
    registry: Registry, image: str, policy: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    root = require_shared("vectors", "cosign", "trusted_root_pgi.json")
    rc, out = run_verify(
        registry, image, "--policy", str(policy), "--trusted-root", str(root), capsys=capsys
    )
    assert isinstance(out, dict), out
    (result,) = out["results"]
    return rc, result


CROSSED = {
    # The issue's example: alice's subject with bob's issuer, here with the vector's identity.
    "exact": [
        {"subject": SUBJECT, "issuer": "https://accounts.google.com"},
        {"subject": "bob@example.com", "issuer": ISSUER},
    ],
    "regexp": [
        {"subjectRegExp": "soyland", "issuer": "https://accounts.google.com"},
        {"subject": "bob@example.com", "issuerRegExp": "^https://github\\.com/"},
    ],
}

MATCHING = {
    "exact-second": [
        {"subject": "bob@example.com", "issuer": "https://accounts.google.com"},
        {"subject": SUBJECT, "issuer": ISSUER},
    ],
    "regexp-unanchored": [
        {"subjectRegExp": "@soyland\\.com", "issuerRegExp": "github\\.com/login"},
    ],
    "regexp-anchored": [
        {"subject": "bob@example.com", "issuer": ISSUER},
        {
            "subjectRegExp": "^cody@soyland\\.com$",
            "issuerRegExp": "^https://github\\.com/login/oauth$",
        },
    ],
}


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(CROSSED))
def test_subject_and_issuer_of_different_identities_are_refused(
    registry_env: Registry,
    cosign_image: str,
    tmp_path: Path,
    name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy = _policy(tmp_path, f"{registry_env.host}/**", CROSSED[name])
    rc, result = _verify(registry_env, cosign_image, policy, capsys)
    assert rc == 1 and result["verdict"] == "fail", result
    assert not result["verified"]
    assert any(
        f"certificate identity '{SUBJECT}' from issuer '{ISSUER}' is none of the 2 accepted "
        "identities" in r
        for r in result["reasons"]
    ), result["reasons"]


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(MATCHING))
def test_one_matching_pair_is_accepted(
    registry_env: Registry,
    cosign_image: str,
    tmp_path: Path,
    name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy = _policy(tmp_path, f"{registry_env.host}/**", MATCHING[name])
    rc, result = _verify(registry_env, cosign_image, policy, capsys)
    assert rc == 0, result["reasons"]
    (verified,) = result["verified"]
    assert (verified["signer"], verified["issuer"]) == (SUBJECT, ISSUER)
    assert result["reasons"] == ["policy pairs: authority release satisfied"]


@pytest.mark.shared
@pytest.mark.parametrize(
    ("glob", "selected"),
    [
        ("{host}/repo:*", True),  # a tag glob selects the tagged reference
        ("{host}/repo:latest", True),
        ("{host}/*", True),  # '*' crosses ':'
        ("{host}/repo:v*", False),
        ("{host}/rep", False),  # the whole name must match
    ],
)
def test_policy_globs_select_as_policy_controller(
    registry_env: Registry,
    cosign_image: str,
    tmp_path: Path,
    glob: str,
    selected: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    identities = MATCHING["exact-second"]
    policy = _policy(tmp_path, glob.format(host=registry_env.host), identities)
    rc, result = _verify(registry_env, cosign_image, policy, capsys)
    if selected:
        assert rc == 0, result["reasons"]
    else:
        assert rc == 1
        assert result["reasons"] == ["no policy selects this image (fails closed)"]


@pytest.mark.shared
def test_star_stops_at_a_slash(
    registry_env: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`acme/*` must not select `acme/team/api` (fnmatch did); `acme/**` does."""
    client = pusher(registry_env)
    push_empty_image(client, ImageRef(registry_env.host, "acme/team/api", "1"))
    image = f"{registry_env.host}/acme/team/api:1"
    narrow = _policy(tmp_path, f"{registry_env.host}/acme/*", MATCHING["exact-second"])
    rc, result = _verify(registry_env, image, narrow, capsys)
    assert rc == 1 and result["reasons"] == ["no policy selects this image (fails closed)"]

    wide = _policy(tmp_path, f"{registry_env.host}/acme/**", MATCHING["exact-second"])
    rc, result = _verify(registry_env, image, wide, capsys)
    assert rc == 1 and result["reasons"] != ["no policy selects this image (fails closed)"]
    assert all(r.startswith("policy pairs: ") for r in result["reasons"]), result["reasons"]
