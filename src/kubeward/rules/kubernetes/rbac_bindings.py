"""RBAC rules over RoleBindings and ClusterRoleBindings, resolving the role they name across
every file of the scan."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.rbac import (
    BROAD_GROUPS,
    BUILTIN_CLUSTER_ROLES,
    Binding,
    Role,
    Subject,
    index_of,
)
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
from kubeward.rules.kubernetes._rbac import capabilities

_CIS = "v1.10"
_RBAC_DOCS = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"


def _what(b: Binding, role: Role | None) -> str:
    if role is not None:
        caps = capabilities(role)
        return f"{role.display} ({', '.join(caps)})" if caps else role.display
    known = BUILTIN_CLUSTER_ROLES.get(b.role_name) if b.role_kind == "ClusterRole" else None
    suffix = f" ({known})" if known else " (not defined in the scan)"
    return f"{b.role_kind}/{b.role_name}{suffix}"


def _related(b: Binding, role: Role | None) -> tuple[Related, ...]:
    out = [Related(b.role_span, f"roleRef names {b.role_kind}/{b.role_name}")]
    if role is not None:
        out.append(Related(role.span, f"{role.display} is defined here"))
    return tuple(out)


def _is_system(s: Subject) -> bool:
    """The API server's own identities (`system:masters`, `system:kube-scheduler`...)."""
    if s.kind == "ServiceAccount":
        return False
    return s.name.startswith("system:") and not _is_broad(s)


def _is_broad(s: Subject) -> bool:
    return s.kind in ("Group", "User") and (
        s.name in BROAD_GROUPS or s.name.startswith("system:serviceaccounts:")
    )


@rule(
    id="rbac-cluster-admin-binding",
    layer=Layer.ADMISSION,
    severity=Severity.CRITICAL,
    cis=(f"5.1.1 ({_CIS}): Ensure that the cluster-admin role is only used where required",),
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
    (`system:authenticated`...) are not.

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
    what = _what(b, role)
    for s in b.subjects:
        if _is_system(s):
            continue
        yield Finding(
            s.span,
            f"{b.display} grants {what} {b.scope} to {b.who(s)}",
            related=_related(b, role),
        )


@rule(
    id="rbac-binding-to-broad-subject",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(f"5.1.5 ({_CIS}): Ensure that default service accounts are not actively used",),
    references=(
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-subjects",
        "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#default-service-account",
    ),
    cross_file=True,
)
def rbac_binding_to_broad_subject(b: Binding, ctx: RuleContext) -> Iterator[Finding]:
    """Binding grants a role to everyone, to anonymous users, or to a `default` service account.

    Subjects `system:anonymous`, `system:unauthenticated`, `system:authenticated` and the
    `system:serviceaccounts[:ns]` groups mean "anyone who can reach the API server" (or every
    pod); the `default` service account is the one every pod gets unless it names another
    (medium severity: the grant reaches every pod of the namespace).

    ## Why it matters
    A grant to a broad group reaches every pod of every image and, for anonymous, anyone on
    the network. A grant to `default` silently reaches every workload of the namespace,
    including ones added later.

    ## Remediation
    Create a dedicated service account for the workload that needs the role and bind that:

        subjects:
          - kind: ServiceAccount
            name: shop-reader
            namespace: shop
    """
    role = index_of(ctx.scan).resolve_effective(b)
    what = _what(b, role)
    for s in b.subjects:
        if _is_broad(s):
            sev = None
        elif s.kind == "ServiceAccount" and s.name == "default":
            sev = Severity.MEDIUM
        else:
            continue
        yield Finding(
            s.span,
            f"{b.display} grants {what} {b.scope} to {b.who(s)}: {_audience(b, s)}",
            related=_related(b, role),
            severity=sev,
        )


_AUDIENCE = {
    "system:anonymous": "anyone who can reach the API server, without credentials",
    "system:unauthenticated": "anyone who can reach the API server, without credentials",
    "system:authenticated": "every user and service account that can authenticate",
    "system:serviceaccounts": "every service account, so every pod of the cluster",
}


def _audience(b: Binding, s: Subject) -> str:
    """Who a broad subject is, in words."""
    if s.kind == "ServiceAccount":
        ns = b.subject_namespace(s)
        where = f"namespace {ns}" if ns else "its namespace"
        return f"the account every pod of {where} runs as unless it names another"
    if s.name.startswith("system:serviceaccounts:"):
        return f"every service account of namespace {s.name.split(':', 2)[2]}"
    return _AUDIENCE.get(s.name, "a group everyone belongs to")
