"""`scan --cluster --verify-images`: the digest that runs is verified, not the spec's tag.

Against the real registry on 127.0.0.1: `run/app:1.0` was pushed and signed, then pushed over
with an unsigned build (the tag moved); `run/multi:2.0` is a signed OCI index whose platform
manifest is what a node runs. A snapshot names both by tag/index; the running digests decide.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.cli import main
from kubeward.cluster import ClusterInput
from kubeward.cluster.verify_stage import RunningImagesStage
from kubeward.engine import ScanOptions, scan
from kubeward.verify import (
    ImageRef,
    KeyPolicy,
    PolicySet,
    RegistryClient,
    RegistryOptions,
    Trust,
    load_public_key_pem,
)
from tests.verify._registry_fixture import Registry
from tests.verify.test_own_signatures import Log, _pem_public, _push_image, _sign_image
from tests.verify.test_registry_verify import pusher

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
RUNTIME = [
    "running-image-unverified",
    "running-digest-differs-from-spec",
    "running-tag-moved",
]

POD = """\
  - apiVersion: v1
    kind: Pod
    metadata:
      name: {name}
      namespace: shop
      ownerReferences:
        - {{apiVersion: apps/v1, kind: ReplicaSet, name: rs, uid: u-{name}, controller: true}}
    spec:
      nodeName: node-a
      containers:
        - name: app
          image: {image}
    status:
      containerStatuses:
        - name: app
          image: {image}
          imageID: {image_id}
"""


def _pod_line(text: str, name: str) -> int:
    lines = text.split("\n")
    start = next(i for i, t in enumerate(lines) if f"name: {name}" in t)
    return next(i for i in range(start, len(lines)) if "imageID:" in lines[i]) + 1


@pytest.fixture(scope="module")
def world(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    client = pusher(registry)
    log = Log()
    key = ec.generate_private_key(ec.SECP256R1())
    host = registry.host
    app = ImageRef(host, "run/app", "1.0")
    signed = _push_image(client, app, "app-build-1")
    _sign_image(client, log, app, signed, key)
    unsigned = _push_image(client, app, "app-build-2")  # the tag moved to an unsigned build
    multi = ImageRef(host, "run/multi", "amd64")
    platform = _push_image(client, multi, "multi-amd64")
    got = client.get_manifest(ImageRef(host, "run/multi", None, platform))
    assert got is not None
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": got.media_type,
                    "digest": platform,
                    "size": len(got.data),
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        }
    ).encode()
    index_ref = ImageRef(host, "run/multi", "2.0")
    index_digest = client.put_manifest(index_ref, "2.0", index, OCI_INDEX)
    _sign_image(client, log, index_ref, index_digest, key)
    work = tmp_path_factory.mktemp("running")
    (work / "cosign.pub").write_bytes(_pem_public(key))
    snap = work / "snapshot"
    snap.mkdir()
    text = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        POD.format(name=n, image=i, image_id=r)
        for n, i, r in [
            ("app-a", f"{host}/run/app:1.0", f"{host}/run/app@{signed}"),
            ("app-b", f"{host}/run/app:1.0", f"{host}/run/app@{unsigned}"),
            ("multi-a", f"{host}/run/multi:2.0@{index_digest}", f"{host}/run/multi@{platform}"),
        ]
    )
    (snap / "pods.yaml").write_text(text)
    return {
        "snapshot": snap,
        "text": text,
        "key": work / "cosign.pub",
        "root": log.trusted_root(work / "trusted_root.json"),
        "registry": registry,
        "unsigned": unsigned,
    }


def _stage(world: dict[str, object]) -> RunningImagesStage:
    key_file = world["key"]
    registry = world["registry"]
    assert isinstance(key_file, Path) and isinstance(registry, Registry)
    key = load_public_key_pem(key_file.read_bytes(), source=str(key_file))
    return RunningImagesStage(
        policy=PolicySet.for_signer(KeyPolicy(keys=(key,), name=str(key_file))),
        trust=Trust.from_file(Path(str(world["root"]))),
        client=RegistryClient(
            RegistryOptions(
                ca_file=registry.ca_file, credentials=(registry.user, registry.password)
            )
        ),
    )


def _found(report: object) -> set[tuple[str, int]]:
    return {(r.rule.id, r.span.start.line) for r in report.results}  # type: ignore[attr-defined]


def test_running_digests_are_verified_and_indexes_fetched(world: dict[str, object]) -> None:
    text = str(world["text"])
    cluster = ClusterInput(snapshots=(Path(str(world["snapshot"])),))
    report = scan(
        [], ScanOptions(only_rules=RUNTIME, jobs=1, cluster=cluster, stages=[_stage(world)])
    )
    assert report.errors == []
    b = _pod_line(text, "app-b")
    # app-a runs the signed build, app-b the unsigned one the tag now names; multi-a runs the
    # platform manifest of the signed index it is pinned to: verified, and no drift (the
    # index was fetched from the registry).
    assert _found(report) == {("running-image-unverified", b), ("running-tag-moved", b)}
    (unverified,) = [r for r in report.results if r.rule.id == "running-image-unverified"]
    assert str(world["unsigned"]) in unverified.message

    offline = scan([], ScanOptions(only_rules=RUNTIME, jobs=1, cluster=cluster))
    multi = _pod_line(text, "multi-a")
    assert ("running-digest-differs-from-spec", multi) in _found(offline)  # undecided offline


def test_through_the_command_line(
    world: dict[str, object], registry_env: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "scan", "--no-progress", "-f", "json", "--cluster", str(world["snapshot"]),
            "--verify-images", "--key", str(world["key"]), "--trusted-root", str(world["root"]),
            "--registry-ca", str(registry_env.ca_file),
            *(f"--rule={r}" for r in RUNTIME),
        ]
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    found = {(f["rule"], f["location"]["start"]["line"]) for f in report["findings"]}
    b = _pod_line(str(world["text"]), "app-b")
    assert found == {("running-image-unverified", b), ("running-tag-moved", b)}
    (posture,) = report["sections"]
    assert posture["rows"] == [
        {
            "namespace": "shop",
            "running": 3,
            "pinned": 1,
            "signed": 2,
            "admitted": "-",
            "drifting": 2,
            "side-loaded": 0,
        }
    ]
