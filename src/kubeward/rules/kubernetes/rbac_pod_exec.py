"""The `rbac-pod-exec` rule: a Role or ClusterRole can run code in other pods."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.rbac import Role
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.kubernetes._rbac import CIS_VERSION, GOOD_PRACTICES, pod_exec, role_findings


@rule(
    id="rbac-pod-exec",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(f"5.1.4 ({CIS_VERSION}): Minimize access to create pods",),
    references=(GOOD_PRACTICES,),
    cross_file=True,
)
def rbac_pod_exec(role: Role, ctx: RuleContext) -> Iterator[Finding]:
    """Role can exec into, attach to, or add ephemeral containers to running pods.

    `create` on `pods/exec` or `pods/attach`, or `create`/`update`/`patch` on
    `pods/ephemeralcontainers` (what `kubectl debug` uses), runs commands inside other
    workloads' containers.

    ## Why it matters
    A shell in another pod reads its mounted secrets and service-account token and runs any
    code there: the image that was reviewed and signed is no longer what runs.

    ## Remediation
    Remove the subresource from the rule; grant it to a break-glass role bound only when
    needed:

        - apiGroups: [""]
          resources: ["pods", "pods/log"]
          verbs: ["get", "list"]
    """
    grants = pod_exec(role)
    yield from role_findings(role, ctx, grants, "runs code in other pods")
