"""Pure request handling: `AdmissionReview` v1 and `ImageReview` v1alpha1 in, typed requests
out; decisions in, response documents and JSONPatches out. No I/O here.

Anything malformed raises `BadRequest` (the server answers HTTP 400), never another error.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ADMISSION_API = "admission.k8s.io/v1"
IMAGE_POLICY_API = "imagepolicy.k8s.io/v1alpha1"

# Where the pod spec lives, per kind; the pod annotations are in the `metadata` beside it.
POD_SPEC_PATHS: Mapping[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_ROLES = (
    ("initContainers", "initContainer"),
    ("containers", "container"),
    ("ephemeralContainers", "ephemeralContainer"),
)
# Kubernetes forwards (to ImagePolicyWebhook) only pod annotations matching this pattern.
_POLICY_ANNOTATION = re.compile(r"^[^/]+\.image-policy\.k8s\.io/[^/]+$")
_BREAK_GLASS = re.compile(r"^[^/]+\.image-policy\.k8s\.io/break-glass$")
_MAX_WARNING = 256


class BadRequest(Exception):
    """The request is not a well-formed review; answered with HTTP 400."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ContainerImage:
    """One container's image as written, and where it is in the object."""

    pointer: str
    """RFC 6901 pointer to the `image` field, e.g. `/spec/template/spec/containers/0/image`."""
    role: str
    """`container`, `initContainer` or `ephemeralContainer`."""
    name: str
    image: str
    """As written; empty when the container has none (judged as a bad reference)."""

    @property
    def display(self) -> str:
        return f"{self.role} {self.name or '<unnamed>'}"


@dataclass(frozen=True)
class ReviewRequest:
    """What the gate judges, from either review kind."""

    kind: str
    """`AdmissionReview` or `ImageReview`."""
    namespace: str
    containers: tuple[ContainerImage, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    """The pod's `*.image-policy.k8s.io/*` annotations."""
    uid: str = ""
    object_kind: str = "Pod"
    object_name: str = ""
    operation: str = "CREATE"
    dry_run: bool = False
    """`request.dryRun`: nothing is stored whatever the answer (the ledger says so)."""

    @property
    def object_display(self) -> str:
        return f"{self.object_kind}/{self.object_name or '<generated>'}"

    @property
    def break_glass(self) -> bool:
        """A `<prefix>.image-policy.k8s.io/break-glass: "true"` annotation is present."""
        return any(_BREAK_GLASS.match(k) and v == "true" for k, v in self.annotations.items())


def _load(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("request body is not JSON") from exc
    if not isinstance(doc, dict):
        raise BadRequest("request body is not a JSON object")
    return doc


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{what} is not an object")
    return value


def _string(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{what} is not a string")
    return value


def _policy_annotations(metadata: dict[str, Any]) -> dict[str, str]:
    annotations = _mapping(metadata.get("annotations"), "metadata.annotations")
    return {
        k: _string(v, f"annotation {k}")
        for k, v in annotations.items()
        if _POLICY_ANNOTATION.match(k)
    }


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pod_containers(pod_spec: dict[str, Any], prefix: Sequence[str]) -> Iterator[ContainerImage]:
    """Every container of a pod spec (init, app, ephemeral), in that order."""
    base = "".join("/" + _escape(p) for p in prefix)
    for key, role in CONTAINER_ROLES:
        items = pod_spec.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise BadRequest(f"{base}/{key} is not a list")
        for index, container in enumerate(items):
            if not isinstance(container, dict):
                raise BadRequest(f"{base}/{key}/{index} is not an object")
            yield ContainerImage(
                pointer=f"{base}/{key}/{index}/image",
                role=role,
                name=_string(container.get("name"), f"{base}/{key}/{index}/name"),
                image=_string(container.get("image"), f"{base}/{key}/{index}/image"),
            )


def _dig(doc: dict[str, Any], path: Sequence[str]) -> dict[str, Any]:
    node: dict[str, Any] = doc
    for index, key in enumerate(path):
        node = _mapping(node.get(key), "/".join(path[: index + 1]))
    return node


def parse_admission_review(body: bytes) -> ReviewRequest:
    """An `admission.k8s.io/v1` `AdmissionReview` request; raises `BadRequest`."""
    doc = _load(body)
    if doc.get("apiVersion") != ADMISSION_API or doc.get("kind") != "AdmissionReview":
        raise BadRequest(f"expected {ADMISSION_API} AdmissionReview")
    request = doc.get("request")
    if not isinstance(request, dict):
        raise BadRequest("AdmissionReview has no request")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise BadRequest("AdmissionReview request has no uid")
    operation = _string(request.get("operation"), "request.operation") or "CREATE"
    dry_run = request.get("dryRun") is True
    namespace = _string(request.get("namespace"), "request.namespace")
    obj = request.get("object")
    kind = _string(_mapping(request.get("kind"), "request.kind").get("kind"), "request.kind.kind")
    if obj is None:  # DELETE and CONNECT carry no object: nothing runs
        return ReviewRequest(
            "AdmissionReview",
            namespace,
            (),
            uid=uid,
            object_kind=kind,
            operation=operation,
            dry_run=dry_run,
        )
    obj = _mapping(obj, "request.object")
    kind = _string(obj.get("kind"), "object.kind") or kind
    metadata = _mapping(obj.get("metadata"), "object.metadata")
    name = _string(request.get("name"), "request.name") or _string(
        metadata.get("name") or metadata.get("generateName"), "object.metadata.name"
    )
    path = POD_SPEC_PATHS.get(kind)
    if path is None:  # not a kind that runs pods: the webhook's rules should not send it
        return ReviewRequest(
            "AdmissionReview",
            namespace,
            (),
            uid=uid,
            object_kind=kind,
            object_name=name,
            operation=operation,
            dry_run=dry_run,
        )
    pod_metadata = metadata if kind == "Pod" else _dig(obj, (*path[:-1], "metadata"))
    containers = tuple(pod_containers(_dig(obj, path), path))
    return ReviewRequest(
        kind="AdmissionReview",
        namespace=namespace or _string(metadata.get("namespace"), "object.metadata.namespace"),
        containers=containers,
        annotations=_policy_annotations(pod_metadata),
        uid=uid,
        object_kind=kind,
        object_name=name,
        operation=operation,
        dry_run=dry_run,
    )


def parse_image_review(body: bytes) -> ReviewRequest:
    """An `imagepolicy.k8s.io/v1alpha1` `ImageReview`; raises `BadRequest`."""
    doc = _load(body)
    if doc.get("apiVersion") != IMAGE_POLICY_API or doc.get("kind") != "ImageReview":
        raise BadRequest(f"expected {IMAGE_POLICY_API} ImageReview")
    spec = _mapping(doc.get("spec"), "spec")
    items = spec.get("containers") or []
    if not isinstance(items, list):
        raise BadRequest("spec.containers is not a list")
    containers = []
    for index, item in enumerate(items):
        container = _mapping(item, f"spec.containers[{index}]")
        containers.append(
            ContainerImage(
                pointer=f"/spec/containers/{index}/image",
                role="container",
                name="",
                image=_string(container.get("image"), f"spec.containers[{index}].image"),
            )
        )
    annotations = _mapping(spec.get("annotations"), "spec.annotations")
    return ReviewRequest(
        kind="ImageReview",
        namespace=_string(spec.get("namespace"), "spec.namespace"),
        containers=tuple(containers),
        annotations={k: _string(v, f"annotation {k}") for k, v in annotations.items()},
    )


def pin(image: str, digest: str) -> str:
    """`repo:tag` -> `repo:tag@sha256:…` (the tag kept for people); a digest already there is
    replaced."""
    return image.partition("@")[0] + "@" + digest


def digest_patch(pins: Mapping[str, str]) -> list[dict[str, str]]:
    """RFC 6902 operations replacing each pointed-to image by its pinned form."""
    return [{"op": "replace", "path": p, "value": v} for p, v in pins.items()]


def _warning(text: str) -> str:
    return text if len(text) <= _MAX_WARNING else text[: _MAX_WARNING - 1] + "…"


def admission_response(
    uid: str,
    *,
    allowed: bool,
    message: str = "",
    warnings: Sequence[str] = (),
    patch: Sequence[Mapping[str, str]] = (),
    audit: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The `AdmissionReview` response document (uid echoed)."""
    response: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        response["status"] = {"code": 403, "reason": "Forbidden", "message": message}
    if warnings:
        response["warnings"] = [_warning(w) for w in dict.fromkeys(warnings)]
    if patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(list(patch)).encode()).decode()
    if audit:
        response["auditAnnotations"] = dict(audit)
    return {"apiVersion": ADMISSION_API, "kind": "AdmissionReview", "response": response}


def image_review_response(
    *, allowed: bool, reason: str = "", audit: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The `ImageReview` answer: `status.allowed`, and `reason` only when denied."""
    status: dict[str, Any] = {"allowed": allowed}
    if not allowed:
        status["reason"] = reason
    if audit:
        status["auditAnnotations"] = dict(audit)
    return {"apiVersion": IMAGE_POLICY_API, "kind": "ImageReview", "status": status}
