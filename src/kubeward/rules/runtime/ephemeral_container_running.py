"""The `ephemeral-container-running` rule: a container was added to a running Pod."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.runtime import RunningPod
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.source import shorten


@rule(
    id="ephemeral-container-running",
    layer=Layer.RUNTIME,
    severity=Severity.MEDIUM,
    references=(
        "https://kubernetes.io/docs/concepts/workloads/pods/ephemeral-containers/",
        "https://kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod/#ephemeral-container",
    ),
)
def ephemeral_container_running(pod: RunningPod) -> Iterator[Finding]:
    """Pod of the cluster has an ephemeral container (`kubectl debug`), added after admission.

    The snapshot's Pod lists `spec.ephemeralContainers` (or statuses of ephemeral containers
    the spec no longer shows). The finding points at each ephemeral container's image.

    ## Why it matters
    Ephemeral containers are added through the Pod's `ephemeralcontainers` subresource long
    after the Pod was admitted: admission webhooks that do not match that subresource
    (most image-verification policies match `pods` only) never see their image, and they
    share the Pod's process namespace, volumes and service account token. Whoever holds
    `pods/ephemeralcontainers` can run any image inside any such Pod.

    ## Remediation
    Find who added it (the API server's audit log, `kubectl get pod -o yaml` `managedFields`)
    and delete the Pod if it was not a sanctioned debug session. Restrict
    `pods/ephemeralcontainers` in RBAC to break-glass roles, and make the image-verification
    webhooks match the `pods/ephemeralcontainers` subresource too.
    """
    seen = False
    for c in pod.containers:
        if c.role != "ephemeralContainer":
            continue
        seen = True
        image = c.image.text if c.image is not None else "<no image>"
        yield Finding(
            c.image_span,
            f"{c.display}: ephemeral container running {shorten(image)}, added after the Pod "
            "was admitted",
        )
    if seen:
        return
    statuses = pod.obj.node.dig("status", "ephemeralContainerStatuses")
    for entry in statuses.seq() if statuses is not None else []:
        node = entry.get("image") if entry.is_map else None
        if node is not None and node.is_scalar and node.text is not None:
            yield Finding(
                node.span,
                f"{pod.display}: ephemeral container {shorten(entry.get_str('name') or '?')} "
                f"ran {shorten(str(node.text))}, added after the Pod was admitted",
            )
