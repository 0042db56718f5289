"""The `rbac-secrets-read` rule: a Role or ClusterRole can read Secrets."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.rbac import Role
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.kubernetes._rbac import CIS_VERSION, GOOD_PRACTICES, role_findings, secrets_read


@rule(
    id="rbac-secrets-read",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(f"5.1.2 ({CIS_VERSION}): Minimize access to secrets",),
    references=(GOOD_PRACTICES,),
    cross_file=True,
)
def rbac_secrets_read(role: Role, ctx: RuleContext) -> Iterator[Finding]:
    """Role can read Secrets (`get`, `list` or `watch`).

    `list` and `watch` return the secrets' contents just as `get` does. A rule narrowed by
    `resourceNames` to named secrets is least privilege and passes; a grant through
    `resources: ["*"]` is reported once by `rbac-wildcard` instead (as for the other RBAC
    rules). Severity is medium for a namespaced Role.

    ## Why it matters
    Secrets hold registry credentials, signing keys, cloud tokens and other service accounts'
    tokens: whoever reads them moves sideways, pushes images or escalates.

    ## Remediation
    Drop secrets from the rule, or narrow it to the secrets the workload needs:

        - apiGroups: [""]
          resources: ["secrets"]
          resourceNames: ["shop-db-credentials"]
          verbs: ["get"]
    """
    grants = secrets_read(role)
    yield from role_findings(
        role, ctx, grants, "reads secrets", namespaced_severity=Severity.MEDIUM
    )
