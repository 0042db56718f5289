"""The public API of `kubeward.verify`: docs/api.md's example, verdicts, digests, deadlines.

Images are pushed to the real registry on 127.0.0.1 and signed with a key of ours, logged in a
transparency log of ours (the trusted root names its key), as in test_own_signatures.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import kubeward.verify as api
from kubeward.model.image import ImageRef as ModelImageRef
from kubeward.registry import load_rules
from kubeward.report.sarif import rule_descriptor
from kubeward.verify import (
    Deadline,
    ImageRef,
    KeyPolicy,
    PolicySet,
    RegistryClient,
    RegistryOptions,
    Trust,
    Verdict,
    load_public_key_pem,
    parse_image,
    verify_image,
)
from kubeward.verify._inputs import canonical
from kubeward.verify.cli import main
from tests.conftest import sarif_schema
from tests.verify._registry_fixture import Registry
from tests.verify.test_own_signatures import Log, _pem_public, _push_image, _sign_image
from tests.verify.test_registry_verify import pusher

ROOT = Path(__file__).resolve().parents[2]

POLICY = """\
# The shop's images must be signed by the release key.
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: shop-images
spec:
  images:
    - glob: "{host}/shop/**"
  authorities:
    - name: release-key
      key:
        data: |
{pem}
"""


@dataclass(frozen=True)
class Shop:
    registry: Registry
    signed: str
    """`host/shop/api:1.0`, signed by the release key."""
    signed_digest: str
    unsigned: str
    """`host/shop/worker:1.0`, signed by nobody."""
    policy_file: Path
    trusted_root: Path
    key_pem: bytes


def _policy_text(host: str, pem: bytes) -> str:
    indented = "\n".join("          " + line for line in pem.decode().strip().splitlines())
    return POLICY.format(host=host, pem=indented)


@pytest.fixture(scope="module")
def shop(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Shop:
    client = pusher(registry)
    log = Log()
    key = ec.generate_private_key(ec.SECP256R1())
    host = registry.host
    api_ref = ImageRef(host, "shop/api", "1.0")
    digest = _push_image(client, api_ref, "shop-api")
    _sign_image(client, log, api_ref, digest, key)
    _push_image(client, ImageRef(host, "shop/worker", "1.0"), "shop-worker")
    work = tmp_path_factory.mktemp("api")
    pem = _pem_public(key)
    policy_file = work / "policy.yaml"
    policy_file.write_text(_policy_text(host, pem))
    return Shop(
        registry=registry,
        signed=f"{host}/shop/api:1.0",
        signed_digest=digest,
        unsigned=f"{host}/shop/worker:1.0",
        policy_file=policy_file,
        trusted_root=log.trusted_root(work / "trusted_root.json"),
        key_pem=pem,
    )


def _client(shop: Shop) -> RegistryClient:
    return RegistryClient(
        RegistryOptions(
            ca_file=shop.registry.ca_file,
            credentials=(shop.registry.user, shop.registry.password),
        )
    )


# --- docs/api.md ------------------------------------------------------------------------------


def _doc_blocks(kind: str) -> list[str]:
    text = (ROOT / "docs" / "api.md").read_text()
    example = text.split("\n## Example\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{kind}\n(.*?)```", example, flags=re.S)


def _normalise(text: str, host: str) -> str:
    text = text.replace(host, "HOST").replace("127.0.0.1:5000", "HOST")
    return re.sub(r"sha256:[0-9a-f]*…?", "sha256:DIGEST", text)


def test_the_documented_example_runs(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    [code] = _doc_blocks("python")
    [documented_output] = _doc_blocks("text")
    monkeypatch.setenv("DOCKER_CONFIG", str(shop.registry.docker_config))
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    admit = namespace["admit"]
    assert callable(admit)
    files = {
        "policy_file": shop.policy_file,
        "trusted_root": shop.trusted_root,
        "registry_ca": shop.registry.ca_file,
    }

    assert admit([shop.signed], **files) is True
    capsys.readouterr()
    assert admit([shop.signed, shop.unsigned], **files) is False
    out = capsys.readouterr().out
    assert _normalise(out, shop.registry.host) == _normalise(documented_output, "HOST")
    assert f"pass {shop.signed}@{shop.signed_digest}\n" in out


# --- verdicts ---------------------------------------------------------------------------------


def test_verdicts_carry_digest_policies_and_reasons(shop: Shop) -> None:
    policy = PolicySet.from_file(shop.policy_file)
    trust = Trust.from_file(shop.trusted_root)
    client = _client(shop)

    ok = verify_image(shop.signed, policy, client=client, trust=trust)
    assert (ok.verdict, ok.passed, ok.definitive, ok.error) == (Verdict.PASS, True, True, None)
    assert ok.digest == shop.signed_digest
    assert ok.resolved == ImageRef(shop.registry.host, "shop/api", "1.0", shop.signed_digest)
    [outcome] = ok.policies
    assert (outcome.policy, outcome.passed, outcome.authority) == (
        "shop-images",
        True,
        "release-key",
    )
    assert [(v.kind, v.signer) for v in ok.verified] == [("signature", "release-key")]

    # An ImageRef in, the same verdict out; and the pinned reference verifies the same.
    assert verify_image(ok.resolved, policy, client=client, trust=trust).passed

    no = verify_image(shop.unsigned, policy, client=client, trust=trust)
    assert (no.verdict, no.definitive) == (Verdict.FAIL, True)
    assert no.digest is not None and no.digest.startswith("sha256:")
    [outcome] = no.policies
    assert (outcome.passed, outcome.authority) == (False, None)
    assert "no signature found" in outcome.reasons[0]
    assert no.reasons == tuple(f"policy shop-images: {r}" for r in outcome.reasons)


def test_an_image_no_policy_selects_fails_closed(shop: Shop) -> None:
    policy = PolicySet.from_file(shop.policy_file)
    _push_image(pusher(shop.registry), ImageRef(shop.registry.host, "other/app", "1"), "other")
    verdict = verify_image(
        f"{shop.registry.host}/other/app:1",
        policy,
        client=_client(shop),
        trust=Trust.from_file(shop.trusted_root),
    )
    assert (verdict.verdict, verdict.policies) == (Verdict.FAIL, ())
    assert verdict.reasons == ("no policy selects this image (fails closed)",)


@pytest.mark.parametrize(("tag", "selected"), [("1.0", True), ("2.0", False)])
def test_a_glob_naming_a_tag_selects_that_tag(shop: Shop, tag: str, selected: bool) -> None:
    """Globs see the whole reference, tag included (policy-controller matches `Name()`)."""
    text = _policy_text(shop.registry.host, shop.key_pem).replace("/shop/**", f"/shop/api:{tag}")
    policy = PolicySet.from_yaml(text, source="tagged.yaml")
    verdict = verify_image(
        shop.signed, policy, client=_client(shop), trust=Trust.from_file(shop.trusted_root)
    )
    assert [p.name for p in policy.selecting(parse_image(shop.signed))] == (
        ["shop-images"] if selected else []
    )
    assert verdict.verdict is (Verdict.PASS if selected else Verdict.FAIL)


@pytest.mark.parametrize(
    ("ref", "error", "reason"),
    [
        ("Not A Reference!", "invalid-input", "is not a valid image reference"),
        ("{{ .Values.image }}", "invalid-input", "is a template"),
        (ModelImageRef(text="x@sha256:00", error="bad digest"), "invalid-input", "bad digest"),
    ],
)
def test_bad_references_are_errors_not_exceptions(
    shop: Shop, ref: str | ImageRef, error: str, reason: str
) -> None:
    verdict = verify_image(
        ref,
        PolicySet.from_file(shop.policy_file),
        client=_client(shop),
        trust=Trust.from_file(shop.trusted_root),
    )
    assert (verdict.verdict, verdict.definitive, verdict.error) == (Verdict.ERROR, False, error)
    assert reason in verdict.reasons[0]


def test_a_missing_image_is_an_error(shop: Shop) -> None:
    verdict = verify_image(
        f"{shop.registry.host}/shop/nothere:1",
        PolicySet.from_file(shop.policy_file),
        client=_client(shop),
        trust=Trust.from_file(shop.trusted_root),
    )
    assert (verdict.verdict, verdict.error) == (Verdict.ERROR, "manifest-not-found")


# --- deadlines --------------------------------------------------------------------------------


@contextlib.contextmanager
def _silent_server() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


def test_a_silent_registry_gives_a_deadline_verdict(shop: Shop) -> None:
    policy = PolicySet.from_file(shop.policy_file)
    trust = Trust.from_file(shop.trusted_root)
    with _silent_server() as host:
        # Each request may wait a minute; the deadline of one second decides.
        client = RegistryClient(RegistryOptions(insecure=frozenset({host}), timeout=60))
        verdict = verify_image(
            f"{host}/shop/api:1.0", policy, client=client, trust=trust, deadline=Deadline.after(1)
        )
    assert (verdict.verdict, verdict.error) == (Verdict.ERROR, "deadline-exceeded")
    assert verdict.reasons == (f"deadline passed while resolving {host}/shop/api:1.0",)


def test_an_expired_deadline_asks_no_registry(shop: Shop) -> None:
    with _silent_server() as host:
        client = RegistryClient(RegistryOptions(insecure=frozenset({host}), timeout=60))
        verdict = verify_image(
            f"{host}/shop/api:1.0",
            PolicySet.from_file(shop.policy_file),
            client=client,
            trust=Trust.from_file(shop.trusted_root),
            deadline=Deadline.after(-1),
        )
    assert (verdict.verdict, verdict.error) == (Verdict.ERROR, "deadline-exceeded")


def test_a_deadline_that_holds_changes_nothing(shop: Shop) -> None:
    policy = PolicySet.from_file(shop.policy_file)
    trust = Trust.from_file(shop.trusted_root)
    client = _client(shop)
    without = verify_image(shop.signed, policy, client=client, trust=trust)
    within = verify_image(
        shop.signed, policy, client=client, trust=trust, deadline=Deadline.after(60)
    )
    assert within == without


# --- digests for a decision cache -------------------------------------------------------------


def test_policy_digest_follows_content_not_layout(shop: Shop) -> None:
    host = shop.registry.host
    base = PolicySet.from_yaml(_policy_text(host, shop.key_pem), source="a.yaml")
    # Other file, no comment, keys in another order, flow style: the same policy.
    pem_lines = "\\n".join(shop.key_pem.decode().strip().splitlines())
    flow = (
        "kind: ClusterImagePolicy\napiVersion: policy.sigstore.dev/v1beta1\n"
        "metadata: {name: shop-images}\n"
        "spec:\n"
        f'  authorities: [{{name: release-key, key: {{data: "{pem_lines}\\n"}}}}]\n'
        f'  images: [{{glob: "{host}/shop/**"}}]\n'
    )
    same = PolicySet.from_yaml(flow, source="b.yaml")
    assert same.digest == base.digest
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", base.digest)

    other_key = _pem_public(ec.generate_private_key(ec.SECP256R1()))
    changed = {
        "key": _policy_text(host, other_key),
        "glob": _policy_text(host, shop.key_pem).replace("/shop/**", "/shop/*"),
        "name": _policy_text(host, shop.key_pem).replace("name: shop-images", "name: shop"),
        "authority": _policy_text(host, shop.key_pem).replace("release-key", "old-key"),
    }
    digests = {what: PolicySet.from_yaml(t, source="c.yaml").digest for what, t in changed.items()}
    assert base.digest not in digests.values()
    assert len(set(digests.values())) == len(changed)


def test_signer_policy_digest_is_the_key_not_its_pem_layout(shop: Shop) -> None:
    key = load_public_key_pem(shop.key_pem, source="a.pub")
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    same_key = serialization.load_der_public_key(der)
    one = PolicySet.for_signer(KeyPolicy(keys=(key,), name="release"))
    two = PolicySet.for_signer(KeyPolicy(keys=(same_key,), name="release"))
    other = PolicySet.for_signer(
        KeyPolicy(keys=(ec.generate_private_key(ec.SECP256R1()).public_key(),), name="release")
    )
    assert one.digest == two.digest != other.digest


def test_canonical_refuses_what_it_cannot_see() -> None:
    with pytest.raises(TypeError, match="cannot take the digest of a value of type object"):
        canonical({"x": object()})
    with pytest.raises(TypeError):
        canonical(float("nan"))


def test_trust_digest_follows_content(shop: Shop, tmp_path: Path) -> None:
    trust = Trust.from_file(shop.trusted_root)
    doc = json.loads(shop.trusted_root.read_text())
    relaid = tmp_path / "relaid.json"
    relaid.write_text(json.dumps(doc, indent=7, sort_keys=True))
    assert Trust.from_file(relaid).digest == trust.digest
    doc["tlogs"][0]["baseUrl"] = "https://rekor.example"
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(doc))
    assert Trust.from_file(moved).digest != trust.digest
    production = Trust.production()
    assert production.digest == Trust.production().digest != trust.digest
    assert production.source == "sigstore production (offline)"


# --- one ImageRef, a lazy package -------------------------------------------------------------


def test_one_image_ref_type() -> None:
    from kubeward.verify import registry

    assert api.ImageRef is ModelImageRef is registry.ImageRef
    built = ImageRef("127.0.0.1:5000", "shop/api", "1.0")
    parsed = parse_image("127.0.0.1:5000/shop/api:1.0")
    assert (built.text, str(built), built.reference) == (
        "127.0.0.1:5000/shop/api:1.0",
        "127.0.0.1:5000/shop/api:1.0",
        "1.0",
    )
    assert (parsed.registry, parsed.repository, parsed.tag) == (
        built.registry,
        built.repository,
        built.tag,
    )
    digest = "sha256:" + "a" * 64
    pinned = parsed.with_digest(digest)
    assert (pinned.canonical, pinned.reference) == (f"{built.canonical}@{digest}", digest)
    assert registry.parse_image_ref("nginx") == ImageRef("docker.io", "library/nginx")


def test_exports_resolve_and_load_lazily() -> None:
    assert sorted(api.__all__) == sorted(api._EXPORTS)
    for name in api.__all__:
        assert getattr(api, name) is getattr(importlib.import_module(api._EXPORTS[name]), name)
    with pytest.raises(AttributeError):
        api.verify_images  # noqa: B018
    probe = (
        "import sys, kubeward.verify, kubeward.rules; "
        "print('kubeward.verify.image' in sys.modules, 'cryptography' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.split() == ["False", "False"]


# --- kubeward verify's JSON and SARIF ---------------------------------------------------------


def _verify_cli(
    shop: Shop, fmt: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, dict[str, object]]:
    monkeypatch.setenv("DOCKER_CONFIG", str(shop.registry.docker_config))
    rc = main(
        [
            "verify",
            shop.signed,
            shop.unsigned,
            f"{shop.registry.host}/shop/nothere:1",
            "--policy",
            str(shop.policy_file),
            "--trusted-root",
            str(shop.trusted_root),
            "--registry-ca",
            str(shop.registry.ca_file),
            "--format",
            fmt,
        ]
    )
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return rc, doc


def test_verify_json_has_the_scans_envelope(
    shop: Shop, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubeward import __version__

    rc, doc = _verify_cli(shop, "json", capsys, monkeypatch)
    assert rc == 1
    assert (doc["schema_version"], doc["tool"], doc["command"]) == (
        1,
        {"name": "kubeward", "version": __version__},
        "verify",
    )
    assert doc["policy"] == {
        "source": str(shop.policy_file),
        "digest": PolicySet.from_file(shop.policy_file).digest,
    }
    assert doc["trust"] == {
        "source": str(shop.trusted_root),
        "digest": Trust.from_file(shop.trusted_root).digest,
    }
    assert doc["summary"] == {"images": 3, "pass": 1, "fail": 1, "error": 1}
    results = doc["results"]
    assert isinstance(results, list)
    assert [(r["verdict"], r["error"]) for r in results] == [
        ("pass", None),
        ("fail", None),
        ("error", "manifest-not-found"),
    ]
    assert results[0]["resolved"] == f"{shop.signed}@{shop.signed_digest}"
    assert results[0]["policies"] == [
        {"name": "shop-images", "passed": True, "authority": "release-key", "reasons": []}
    ]


def test_verify_sarif_uses_the_scans_descriptor(
    shop: Shop, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rc, doc = _verify_cli(shop, "sarif", capsys, monkeypatch)
    assert rc == 1
    jsonschema.validate(doc, sarif_schema())
    runs = doc["runs"]
    assert isinstance(runs, list)
    [run] = runs
    rule = load_rules()["image-signature-unverified"]
    assert run["tool"]["driver"]["rules"] == [rule_descriptor(rule)]
    assert [(r["kind"], r["level"]) for r in run["results"]] == [
        ("pass", "none"),
        ("fail", "error"),
    ]
    assert run["properties"]["policy"]["digest"] == PolicySet.from_file(shop.policy_file).digest
