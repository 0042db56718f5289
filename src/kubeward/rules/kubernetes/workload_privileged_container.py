"""The `workload-privileged-container` rule: a container runs privileged."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import Container
from kubeward.registry import Finding, Layer, Severity, rule

_CIS = "v1.10"


@rule(
    id="workload-privileged-container",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(f"5.2.2 ({_CIS}): Minimize the admission of privileged containers",),
    references=(
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
    ),
)
def workload_privileged_container(c: Container) -> Iterator[Finding]:
    """Container runs privileged (`securityContext.privileged: true`).

    A privileged container has every capability and every host device, and no seccomp or
    AppArmor confinement: it is root on the node. The Pod Security Standards' baseline
    profile forbids it.

    ## Why it matters
    Whatever runs in the image (its own code, a compromised dependency, a swapped tag) can
    load kernel modules, read the node's disks and escape to the host.

    ## Remediation
    Remove `privileged: true` and add only the capabilities the container needs:

        securityContext:
          privileged: false
          capabilities: {drop: ["ALL"], add: ["NET_BIND_SERVICE"]}
    """
    node = c.node.dig("securityContext", "privileged")
    if node is not None and node.bool is True:
        yield Finding(node.span, f"{c.display} runs privileged")
