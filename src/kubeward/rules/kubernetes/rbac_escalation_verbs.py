"""The `rbac-escalation-verbs` rule: a role grants `escalate`, `bind` or `impersonate`."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.rbac import Role
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.kubernetes._rbac import CIS_VERSION, escalation, role_findings


@rule(
    id="rbac-escalation-verbs",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(
        f"5.1.8 ({CIS_VERSION}): Limit use of the Bind, Impersonate and Escalate permissions"
        " in the Kubernetes cluster",
    ),
    references=(
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping",
        "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation",
    ),
    cross_file=True,
)
def rbac_escalation_verbs(role: Role, ctx: RuleContext) -> Iterator[Finding]:
    """Role grants `escalate`, `bind` or `impersonate`.

    `escalate` on roles lets a subject write a role with more rights than it holds; `bind` on
    roles lets it bind any role it can name; `impersonate` on users, groups or service
    accounts lets it act as them. The verbs are checked on the resources the API server
    checks them on (`bind` on `rolebindings` grants nothing); a `*` verb on those resources
    counts, and so does a named verb on `*` resources.

    ## Why it matters
    These are the API server's own exceptions to RBAC's escalation prevention: a subject that
    holds one can give itself cluster-admin.

    ## Remediation
    Remove the verb; grant the specific role bindings the subject must create instead, and use
    `resourceNames` where `bind` is truly needed:

        - apiGroups: ["rbac.authorization.k8s.io"]
          resources: ["clusterroles"]
          resourceNames: ["view"]
          verbs: ["bind"]
    """
    grants = escalation(role)
    yield from role_findings(role, ctx, grants, "privilege escalation")
