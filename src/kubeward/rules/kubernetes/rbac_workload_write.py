"""The `rbac-workload-write` rule: a Role or ClusterRole can create or change workloads."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.rbac import Role
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.kubernetes._rbac import (
    CIS_VERSION,
    GOOD_PRACTICES,
    role_findings,
    workload_write,
)


@rule(
    id="rbac-workload-write",
    layer=Layer.ADMISSION,
    severity=Severity.MEDIUM,
    cis=(f"5.1.4 ({CIS_VERSION}): Minimize access to create pods",),
    references=(GOOD_PRACTICES,),
    cross_file=True,
)
def rbac_workload_write(role: Role, ctx: RuleContext) -> Iterator[Finding]:
    """Role can create or change workloads (pods, deployments, daemonsets, jobs...).

    Whoever writes a pod spec chooses its image, its service account and its host mounts.
    Controllers and CD tools need this; a bound application service account rarely does.

    ## Why it matters
    Write access to workloads is how an attacker swaps in an image of their own or runs a pod
    with another service account's token; a DaemonSet runs it on every node.

    ## Remediation
    Grant read-only verbs, or move deployment to the CD system's own account:

        - apiGroups: ["apps"]
          resources: ["deployments"]
          verbs: ["get", "list", "watch"]
    """
    grants = workload_write(role)
    yield from role_findings(role, ctx, grants, "writes workloads")
