"""The `rbac-cluster-admin-binding` rule: a binding gives cluster-admin to a non-system subject."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.rbac import Binding, index_of
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.kubernetes._bindings import binding_related, granted, is_system
from kubeward.rules.kubernetes._rbac import CIS_VERSION


@rule(
    id="rbac-cluster-admin-binding",
    layer=Layer.ADMISSION,
    severity=Severity.CRITICAL,
    cis=(f"5.1.1 ({CIS_VERSION}): Ensure that the cluster-admin role is only used where required",),
    references=(
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles",
        "https://kubernetes.io/docs/concepts/security/rbac-good-practices/",
    ),
    cross_file=True,
)
def rbac_cluster_admin_binding(b: Binding, ctx: RuleContext) -> Iterator[Finding]:
    """Binding gives `cluster-admin`, or a role holding `*` on `*`, to a non-system subject.

    The role is resolved across the scan: a binding in one file that names a ClusterRole
    defined in another is judged by that role's rules, and an aggregated ClusterRole by the
    rules of the ClusterRoles its `aggregationRule` selects (`matchLabels` and
    `matchExpressions`). One finding per
    subject, naming the binding, the role and the scope; the API server's own `system:` users
    and groups (such as `system:masters`) are exempt, the broad groups
    (`system:authenticated`...) are not. Critical for a ClusterRoleBinding; a RoleBinding
    grants the role in its own namespace only (namespace admin), and is reported as high.

    ## Why it matters
    Every pod running as the subject, and every image those pods run, owns the whole cluster:
    secrets, admission webhooks, nodes. A single poisoned image ends the game.

    ## Remediation
    Bind a role with the verbs and resources the subject needs; for people, prefer `admin` or
    `edit` in a namespace, bound through a RoleBinding:

        kind: RoleBinding
        roleRef: {kind: ClusterRole, name: edit, apiGroup: rbac.authorization.k8s.io}
    """
    role = index_of(ctx.scan).resolve_effective(b)
    is_admin = b.role_kind == "ClusterRole" and b.role_name == "cluster-admin"
    if not is_admin and not (role is not None and role.has_star_on_star()):
        return
    what = granted(b, role)
    # A RoleBinding grants the role's rules in its own namespace only: admin of that
    # namespace (still high), not of the cluster (critical).
    scoped = "" if b.cluster else ": admin of that namespace, not of the cluster"
    for s in b.subjects:
        if is_system(s):
            continue
        yield Finding(
            s.span,
            f"{b.display} grants {what} {b.scope} to {b.who(s)}{scoped}",
            related=binding_related(b, role),
            severity=None if b.cluster else Severity.HIGH,
        )
