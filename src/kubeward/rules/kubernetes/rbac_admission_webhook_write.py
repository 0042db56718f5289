"""The `rbac-admission-webhook-write` rule: a Role or ClusterRole can change the admission gate."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.rbac import Role
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.kubernetes._rbac import (
    CIS_VERSION,
    GOOD_PRACTICES,
    role_findings,
    webhook_write,
)


@rule(
    id="rbac-admission-webhook-write",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(f"5.1.12 ({CIS_VERSION}): Minimize access to webhook configuration objects",),
    references=(
        "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/",
        GOOD_PRACTICES,
    ),
    cross_file=True,
)
def rbac_admission_webhook_write(role: Role, ctx: RuleContext) -> Iterator[Finding]:
    """Role can change or delete admission webhook configurations or admission policies.

    Write verbs (`create`, `update`, `patch`, `delete`, `deletecollection`) on
    `mutatingwebhookconfigurations`, `validatingwebhookconfigurations` or validating
    admission policies and their bindings.

    ## Why it matters
    The admission gate is where unsigned or unpinned images are stopped. Whoever can delete a
    webhook configuration, set its `failurePolicy` to `Ignore`, or add a mutating webhook of
    their own opens the gate, or rewrites every pod that passes it.

    ## Remediation
    Keep webhook configurations in the hands of the admission controller's own installer;
    grant others read access at most:

        - apiGroups: ["admissionregistration.k8s.io"]
          resources: ["validatingwebhookconfigurations"]
          verbs: ["get", "list", "watch"]
    """
    grants = webhook_write(role)
    yield from role_findings(role, ctx, grants, "controls the admission gate")
