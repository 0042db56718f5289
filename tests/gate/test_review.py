"""Pure request handling: every kind with a pod template, the containers found and where,
bad requests, and the JSONPatch applied as the apiserver applies it (`jsonpatch`)."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import jsonpatch
import pytest

from kubeward.gate.review import (
    BadRequest,
    admission_response,
    digest_patch,
    image_review_response,
    parse_admission_review,
    parse_image_review,
    pin,
)

DIGEST = "sha256:" + "a" * 64
POD_SPEC = {
    "initContainers": [{"name": "init", "image": "busybox:1.36"}],
    "containers": [
        {"name": "app", "image": "ghcr.io/acme/app:1.0"},
        {"name": "side", "image": f"ghcr.io/acme/side@{DIGEST}"},
    ],
}


def _wrap(kind: str, spec: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    template = {"metadata": {"annotations": annotations}, "spec": spec}
    body: dict[str, Any]
    if kind == "Pod":
        return {"kind": "Pod", "metadata": {"name": "p", "annotations": annotations}, "spec": spec}
    if kind == "CronJob":
        body = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        body = {"template": template}
    return {"kind": kind, "metadata": {"name": "w"}, "spec": body}


def review(obj: dict[str, Any] | None, **request: Any) -> bytes:
    doc = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": (obj or {}).get("kind", "Pod")},
            "namespace": "team",
            "operation": "CREATE",
            "object": obj,
            **request,
        },
    }
    return json.dumps(doc).encode()


SPEC_PREFIX = {
    "Pod": "/spec",
    "Deployment": "/spec/template/spec",
    "StatefulSet": "/spec/template/spec",
    "DaemonSet": "/spec/template/spec",
    "ReplicaSet": "/spec/template/spec",
    "ReplicationController": "/spec/template/spec",
    "Job": "/spec/template/spec",
    "CronJob": "/spec/jobTemplate/spec/template/spec",
}


@pytest.mark.parametrize("kind", sorted(SPEC_PREFIX))
def test_every_pod_template_kind(kind: str) -> None:
    obj = _wrap(kind, POD_SPEC, {"x.image-policy.k8s.io/ticket": "T-1", "other": "no"})
    request = parse_admission_review(review(obj))
    prefix = SPEC_PREFIX[kind]
    assert [(c.pointer, c.role, c.name, c.image) for c in request.containers] == [
        (f"{prefix}/initContainers/0/image", "initContainer", "init", "busybox:1.36"),
        (f"{prefix}/containers/0/image", "container", "app", "ghcr.io/acme/app:1.0"),
        (f"{prefix}/containers/1/image", "container", "side", f"ghcr.io/acme/side@{DIGEST}"),
    ]
    assert request.uid == "705ab4f5-6393-11e8-b7cc-42010a800002"
    assert request.namespace == "team" and request.object_kind == kind
    assert dict(request.annotations) == {"x.image-policy.k8s.io/ticket": "T-1"}


def test_ephemeral_containers_of_a_pod() -> None:
    spec = {**POD_SPEC, "ephemeralContainers": [{"name": "debug", "image": "alpine:3"}]}
    request = parse_admission_review(
        review(_wrap("Pod", spec, {}), subResource="ephemeralcontainers", operation="UPDATE")
    )
    assert request.containers[-1].pointer == "/spec/ephemeralContainers/0/image"
    assert request.containers[-1].role == "ephemeralContainer"
    assert request.operation == "UPDATE"


def test_dry_run() -> None:
    assert parse_admission_review(review(_wrap("Pod", POD_SPEC, {}), dryRun=True)).dry_run
    assert not parse_admission_review(review(_wrap("Pod", POD_SPEC, {}))).dry_run


def test_objects_that_run_nothing() -> None:
    deleted = parse_admission_review(review(None, operation="DELETE"))
    assert deleted.containers == () and deleted.operation == "DELETE"
    config_map = parse_admission_review(review({"kind": "ConfigMap", "data": {}}))
    assert config_map.containers == () and config_map.object_kind == "ConfigMap"


def test_break_glass_annotation() -> None:
    glass = parse_admission_review(
        review(_wrap("Pod", POD_SPEC, {"acme.image-policy.k8s.io/break-glass": "true"}))
    )
    assert glass.break_glass
    other = parse_admission_review(
        review(_wrap("Pod", POD_SPEC, {"acme.image-policy.k8s.io/break-glass": "yes"}))
    )
    assert not other.break_glass


BAD = {
    "not json": b"{",
    "not an object": b"[]",
    "deep nesting": b"[" * 100000 + b"]" * 100000,
    "wrong api": json.dumps({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"}),
    "no request": json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}),
    "no uid": review({"kind": "Pod"}, uid=""),
    "containers not a list": review({"kind": "Pod", "spec": {"containers": {"a": 1}}}),
    "container not an object": review({"kind": "Pod", "spec": {"containers": ["x"]}}),
    "image not a string": review({"kind": "Pod", "spec": {"containers": [{"image": 3}]}}),
    "template not an object": review({"kind": "Deployment", "spec": {"template": []}}),
    "annotations not a map": review({"kind": "Pod", "metadata": {"annotations": []}}),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_admission_reviews(name: str) -> None:
    body = BAD[name]
    with pytest.raises(BadRequest) as info:
        parse_admission_review(body.encode() if isinstance(body, str) else body)
    assert info.value.reason


def test_image_review() -> None:
    body = {
        "apiVersion": "imagepolicy.k8s.io/v1alpha1",
        "kind": "ImageReview",
        "spec": {
            "containers": [{"image": "myrepo/myimage:v1"}, {"image": f"myrepo/other@{DIGEST}"}],
            "annotations": {"mycluster.image-policy.k8s.io/ticket-1234": "break-glass"},
            "namespace": "mynamespace",
        },
    }
    request = parse_image_review(json.dumps(body).encode())
    assert [c.image for c in request.containers] == ["myrepo/myimage:v1", f"myrepo/other@{DIGEST}"]
    assert request.namespace == "mynamespace" and not request.break_glass
    for bad in (b"{}", json.dumps({**body, "spec": {"containers": "x"}}).encode()):
        with pytest.raises(BadRequest):
            parse_image_review(bad)
    assert image_review_response(allowed=True, reason="ignored") == {
        "apiVersion": "imagepolicy.k8s.io/v1alpha1",
        "kind": "ImageReview",
        "status": {"allowed": True},
    }
    denied = image_review_response(allowed=False, reason="unsigned")["status"]
    assert denied == {"allowed": False, "reason": "unsigned"}


def test_patch_pins_digests_keeping_the_tag() -> None:
    obj = _wrap("CronJob", POD_SPEC, {})
    request = parse_admission_review(review(obj))
    pins = {c.pointer: pin(c.image, DIGEST) for c in request.containers if "@" not in c.image}
    doc = admission_response(request.uid, allowed=True, patch=digest_patch(pins))
    response = doc["response"]
    assert response["uid"] == request.uid and response["patchType"] == "JSONPatch"
    patched = jsonpatch.JsonPatch(json.loads(base64.b64decode(response["patch"]))).apply(
        copy.deepcopy(obj)
    )
    spec = patched["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert spec["initContainers"][0]["image"] == f"busybox:1.36@{DIGEST}"
    assert spec["containers"][0]["image"] == f"ghcr.io/acme/app:1.0@{DIGEST}"
    assert (
        spec["containers"][1]["image"]
        == obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][1]["image"]
    )


def test_denied_response_and_warnings() -> None:
    doc = admission_response(
        "u1", allowed=False, message="container app: unsigned", warnings=["w"] * 2 + ["x" * 300]
    )
    response = doc["response"]
    assert response["status"] == {
        "code": 403,
        "reason": "Forbidden",
        "message": "container app: unsigned",
    }
    assert response["warnings"][0] == "w" and len(response["warnings"]) == 2
    assert len(response["warnings"][1]) == 256 and "patch" not in response
