"""The `pod-without-controller` rule: a running Pod no controller owns."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.runtime import RunningPod
from kubeward.registry import Finding, Layer, Severity, rule


@rule(
    id="pod-without-controller",
    layer=Layer.RUNTIME,
    severity=Severity.MEDIUM,
    references=(
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/",
    ),
)
def pod_without_controller(pod: RunningPod) -> Iterator[Finding]:
    """Running Pod has no controller: it was created by hand, not by a workload.

    The snapshot's Pod has no `metadata.ownerReferences` entry with `controller: true` (no
    ReplicaSet, StatefulSet, DaemonSet, Job or other controller made it), and it is not a
    static Pod's mirror (`static-pod-running` reports those). The finding points at the Pod's
    name.

    ## Why it matters
    Workloads come from reviewed manifests through GitOps; a bare Pod came from someone's
    `kubectl run` or `kubectl apply` with credentials that can create Pods. It is what an
    attacker with a stolen token starts, it is not reconciled away, and nothing in the
    repository describes it, so no repository scan sees its image.

    ## Remediation
    Find who created it (`metadata.managedFields`, the API server's audit log). Delete it if
    it was not meant to run; otherwise move it into a Deployment, Job or other workload in
    the repository. Limit `create` on `pods` in RBAC to the controllers and break-glass roles.
    """
    if pod.controller is not None or pod.mirror is not None:
        return
    owners = pod.owners
    why = (
        f"its {len(owners)} owner reference(s) name no controller"
        if owners
        else "no ownerReferences"
    )
    yield Finding(pod.metadata_span, f"{pod.display} has no controller ({why}): a bare Pod")
