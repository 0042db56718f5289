"""The gate end to end, with the suite playing the kube-apiserver's documented part (no
apiserver can run on these machines): reviews POSTed over HTTPS to a `kubeward gate`
subprocess, trusting only the webhook CA, with the webhook's timeout; the mutating patch
applied with `jsonpatch` as the apiserver applies it. Images live in the real
`docker-registry` on 127.0.0.1, signed with a key the way cosign stores signatures."""

from __future__ import annotations

import base64
import copy
import json
import socket
from collections.abc import Iterator
from typing import Any

import jsonpatch
import pytest

from tests.gate._harness import ApiServer, GateProcess, Redis, free_port, start_gate, start_redis
from tests.gate._world import (
    MARGIN,
    STOPPED,
    TIMEOUT,
    World,
    admission,
    env_for,
    image_review,
    pod,
    write_config,
)


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    yield from start_redis(tmp_path_factory.mktemp("gate-redis"))


@pytest.fixture(scope="module")
def gate(world: World, shared_redis: Redis) -> Iterator[GateProcess]:
    path, port = write_config(world, "main", cache={"redis": shared_redis.url})
    process = start_gate(path, ca_file=world.tls[0], env=env_for(world), port=port)
    yield process
    assert process.stop() in STOPPED, process.log.read_text()


@pytest.fixture()
def api(world: World, gate: GateProcess) -> Iterator[ApiServer]:
    client = ApiServer(gate.port, world.tls[0], timeout=TIMEOUT)
    yield client
    client.close()


def mutate_then_validate(api: ApiServer, obj: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The apiserver's order: mutating webhook, patch applied, validating webhook."""
    review = admission(obj)
    response = api.post("/mutate", review)["response"]
    assert response["uid"] == review["request"]["uid"] and response["allowed"] is True
    patched = copy.deepcopy(obj)
    if "patch" in response:
        assert response["patchType"] == "JSONPatch"
        patched = jsonpatch.JsonPatch(json.loads(base64.b64decode(response["patch"]))).apply(
            patched
        )
    validated = api.post("/validate", admission(patched))["response"]
    return validated, patched


def test_signed_tag_is_pinned_and_admitted(world: World, api: ApiServer) -> None:
    image = world.image("app/signed:1.0")
    ok = 'kubeward_registry_requests_total{status="200"}'
    requests_before = api.metrics().get(ok, 0)
    response, patched = mutate_then_validate(api, pod(image, init=(image,)))
    # one request resolves the tag; the verification's own requests are counted too
    assert api.metrics()[ok] - requests_before >= 3
    digest = world.digests["app/signed"]
    assert patched["spec"]["containers"][0]["image"] == f"{image}@{digest}"
    assert patched["spec"]["initContainers"][0]["image"] == f"{image}@{digest}"
    assert response["allowed"] is True and "warnings" not in response
    before = api.metrics()
    again = api.post("/validate", admission(patched))["response"]
    after = api.metrics()
    assert again["allowed"] is True
    hits = 'kubeward_gate_cache_lookups_total{result="hit"}'
    assert after[hits] == before.get(hits, 0) + 1  # one distinct image, judged from the cache
    assert after['kubeward_verification_duration_seconds_count{result="pass"}'] >= 1


def test_unsigned_and_tampered_are_denied_naming_the_container(
    world: World, api: ApiServer
) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "team"},
        "spec": {
            "template": {
                "metadata": {},
                "spec": pod(
                    world.image("app/unsigned:1.0"),
                    world.image("app/tampered:1.0"),
                    init=(world.image("app/signed:1.0"),),
                )["spec"],
            }
        },
    }
    # The signed init container's verdict is in the cache: that hit must not stand for the
    # other containers, each judged in its own right.
    assert api.post("/validate", admission(pod(world.image("app/signed:1.0"))))["response"][
        "allowed"
    ]
    hits = 'kubeward_gate_cache_lookups_total{result="hit"}'
    before = api.metrics().get(hits, 0)
    review = admission(deployment)
    response = api.post("/validate", review)["response"]
    assert api.metrics()[hits] == before + 1
    assert response["uid"] == review["request"]["uid"]
    assert response["allowed"] is False and response["status"]["code"] == 403
    message = response["status"]["message"]
    assert message.startswith("kubeward gate denied Deployment/api: ")
    assert f"container c0 image {world.image('app/unsigned:1.0')}: " in message
    assert "no signature found" in message
    assert f"container c1 image {world.image('app/tampered:1.0')}: " in message
    assert "not this image" in message
    assert "initContainer" not in message  # the signed init container passed


def test_tag_moved_after_signing(world: World, api: ApiServer) -> None:
    moved = world.image("app/moved:1.0")
    response = api.post("/validate", admission(pod(moved)))["response"]
    assert response["allowed"] is False and "no signature found" in response["status"]["message"]
    pinned = api.post("/validate", admission(pod(f"{moved}@{world.moved_from}")))["response"]
    assert pinned["allowed"] is True


def test_multi_arch_index_is_judged_by_its_own_digest(world: World, api: ApiServer) -> None:
    """As `cosign verify` of an index: the index digest must be signed; a signature on one
    platform manifest does not admit the index."""
    image = world.image("app/multi:1.0")
    response, patched = mutate_then_validate(api, pod(image))
    assert patched["spec"]["containers"][0]["image"] == f"{image}@{world.digests['app/multi']}"
    assert response["allowed"] is True
    platform_only = world.image("app/multi-platform:1.0")
    response, _ = mutate_then_validate(api, pod(platform_only))
    assert response["allowed"] is False
    assert "no signature found" in response["status"]["message"]


def test_warn_mode_policy_admits_with_a_warning(world: World, api: ApiServer) -> None:
    response = api.post("/validate", admission(pod(world.image("audit/unsigned:1.0"))))
    assert response["response"]["allowed"] is True
    (warning,) = response["response"]["warnings"]
    assert warning.startswith(f"container c0 image {world.image('audit/unsigned:1.0')}: ")
    assert "warn-mode policy" in warning and "no signature found" in warning


def test_no_policy_selects_fails_closed(world: World, api: ApiServer) -> None:
    image = f"{world.image('other/x')}@sha256:{'1' * 64}"
    response = api.post("/validate", admission(pod(image)))["response"]
    assert response["allowed"] is False
    assert "no policy selects this image (fails closed)" in response["status"]["message"]


def test_bad_references_are_denied_with_the_reason(api: ApiServer) -> None:
    obj = pod("Not/A:Valid:Ref", "")
    response = api.post("/validate", admission(obj))["response"]
    assert response["allowed"] is False
    message = response["status"]["message"]
    assert "container c0 image Not/A:Valid:Ref: 'Not/A:Valid:Ref' is not a valid" in message
    assert "container c1 image <none>: the container has no image" in message


def test_image_review(world: World, api: ApiServer) -> None:
    allowed = api.post("/imagereview", image_review(world.image("app/signed:1.0")))
    assert allowed["kind"] == "ImageReview" and allowed["status"] == {"allowed": True}
    denied = api.post(
        "/imagereview",
        image_review(world.image("app/signed:1.0"), world.image("app/unsigned:1.0")),
    )["status"]
    assert denied["allowed"] is False
    assert denied["reason"].startswith(
        f"kubeward gate denied the pod: image {world.image('app/unsigned:1.0')}: "
    )
    assert "app/signed" not in denied["reason"]
    glass = api.post(
        "/imagereview",
        image_review(
            world.image("app/unsigned:1.0"),
            annotations={"acme.image-policy.k8s.io/break-glass": "true"},
        ),
    )["status"]
    assert glass == {"allowed": True, "auditAnnotations": {"break-glass": "true"}}


def test_excluded_namespaces_are_never_judged(world: World, api: ApiServer) -> None:
    for namespace in ("kube-system", "kubeward-gate"):
        review = admission(pod(world.image("app/unsigned:1.0")), namespace=namespace)
        assert api.post("/validate", review)["response"]["allowed"] is True
        assert (
            api.post(
                "/imagereview", image_review(world.image("app/unsigned:1.0"), namespace=namespace)
            )["status"]["allowed"]
            is True
        )


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/validate", b"{", 400),
        (
            "POST",
            "/validate",
            b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}',
            400,
        ),
        ("POST", "/mutate", b"[" * 50000, 400),
        ("POST", "/imagereview", b'{"kind": "ImageReview"}', 400),
        ("GET", "/validate", b"", 405),
        ("POST", "/nowhere", b"{}", 404),
    ],
)
def test_bad_requests(api: ApiServer, method: str, path: str, body: bytes, status: int) -> None:
    assert api.request(method, path, body)[0] == status
    assert api.request("GET", "/healthz") == (200, b"ok\n")


def test_ledger_records_each_container(world: World, api: ApiServer) -> None:
    review = admission(
        pod(world.image("app/signed:1.0"), world.image("app/unsigned:1.0"), name="ledgered")
    )
    api.post("/validate", review)
    dry = admission(pod(world.image("app/signed:1.0"), name="dry"))
    dry["request"]["dryRun"] = True
    api.post("/validate", dry)
    records = [json.loads(line) for line in world.ledger.read_text().splitlines()]
    (dry_record,) = [r for r in records if r["uid"] == dry["request"]["uid"]]
    assert dry_record["dry_run"] is True and dry_record["verdict"] == "allow"
    mine = [r for r in records if r["uid"] == review["request"]["uid"]]
    assert not any(r["dry_run"] for r in mine)
    assert [(r["container"], r["verdict"], r["digest"]) for r in mine] == [
        ("container c0", "allow", world.digests["app/signed"]),
        ("container c1", "deny", world.digests["app/unsigned"]),
    ]
    assert {r["object"] for r in mine} == {"Pod/ledgered"}
    assert mine[0]["policy"] == "release" and mine[0]["time"].endswith("Z")
    assert mine[0]["image"] == world.image("app/signed:1.0")


def test_registry_down_or_silent_is_a_deny_within_the_deadline(api: ApiServer) -> None:
    closed = free_port()  # nothing listens: connection refused
    response = api.post("/validate", admission(pod(f"127.0.0.1:{closed}/app/x:1")))["response"]
    assert response["allowed"] is False and "unreachable" in response["status"]["message"]
    with socket.socket() as silent:  # accepts, never answers: only the deadline ends it
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        image = f"127.0.0.1:{silent.getsockname()[1]}/app/x:1"
        response = api.post("/validate", admission(pod(image)))["response"]
    assert response["allowed"] is False
    # Either the gate's own deadline or the registry client's request deadline (shorter, and
    # bounded by the gate's) ends it; both deny and say which deadline passed.
    message = response["status"]["message"]
    assert (
        f"did not answer within the {TIMEOUT - MARGIN:g} s deadline (fails closed)" in message
        or "no complete answer within the" in message
    ), message


def test_replicas_share_decisions_through_redis(
    world: World, gate: GateProcess, shared_redis: Redis
) -> None:
    """A verdict one replica computed is a hit on the other; the second replica writes its
    ledger to a Redis stream."""
    stream = "kubeward:test-ledger"
    path, port = write_config(
        world,
        "replica",
        cache={"redis": shared_redis.url},
        ledger={"redis": shared_redis.url, "stream": stream},
    )
    replica = start_gate(path, ca_file=world.tls[0], env=env_for(world), port=port)
    first = ApiServer(gate.port, world.tls[0], timeout=TIMEOUT)
    second = ApiServer(port, world.tls[0], timeout=TIMEOUT)
    try:
        pinned = f"{world.image('app/signed:1.0')}@{world.digests['app/signed']}"
        assert first.post("/validate", admission(pod(pinned)))["response"]["allowed"]
        review = admission(pod(pinned))
        assert second.post("/validate", review)["response"]["allowed"]
        metrics = second.metrics()
        assert metrics['kubeward_gate_cache_lookups_total{result="hit"}'] == 1
        # the replica verified nothing itself: the first gate's verdict came through Redis
        assert not any(k.startswith("kubeward_verification_duration") for k in metrics)
    finally:
        first.close()
        second.close()
        assert replica.stop() in STOPPED, replica.log.read_text()
    import redis

    entries = redis.Redis.from_url(shared_redis.url).xrange(stream)
    records = [json.loads(fields[b"record"]) for _, fields in entries]
    assert [(r["uid"], r["verdict"], r["cache"]) for r in records] == [
        (review["request"]["uid"], "allow", "hit")
    ]
