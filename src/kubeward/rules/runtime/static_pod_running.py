"""The `static-pod-running` rule: a Pod the kubelet runs from a file on the node."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.runtime import RunningPod
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.source import shorten


@rule(
    id="static-pod-running",
    layer=Layer.RUNTIME,
    severity=Severity.LOW,
    references=("https://kubernetes.io/docs/tasks/configure-pod-container/static-pod/",),
)
def static_pod_running(pod: RunningPod) -> Iterator[Finding]:
    """Running Pod is a static Pod: the kubelet runs it from a node's file, past admission.

    The snapshot's Pod carries the `kubernetes.io/config.mirror` annotation: it is the mirror
    the kubelet creates in the API server for a Pod it runs from its static Pod path or URL.
    The finding points at the annotation, naming the node. Control-plane Pods of kubeadm
    clusters (`kube-apiserver`, `etcd`, ...) are static Pods by design; anything else is
    worth a look.

    ## Why it matters
    The kubelet runs a static Pod whatever admission says: a webhook that denies its mirror
    only keeps it out of the API, not off the node. Its manifest lives on the node's disk,
    outside every repository and GitOps flow, so whoever can write that directory runs any
    image there, unsigned and unscanned.

    ## Remediation
    Keep static Pods to the control plane. Check the node's static Pod path
    (`staticPodPath` in the kubelet configuration, usually `/etc/kubernetes/manifests`) and
    who can write it; move other Pods into DaemonSets or Deployments managed from the
    repository; pin the images static Pods use by digest.
    """
    mirror = pod.mirror
    if mirror is None:
        return
    node = shorten(pod.node_name or "an unknown node")
    yield Finding(
        mirror.span,
        f"{pod.display} is the mirror of a static Pod run by the kubelet of {node}, outside "
        "admission control",
    )
