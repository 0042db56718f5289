"""The `rbac-binding-to-broad-subject` rule: a role granted to everyone or to `default`."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.rbac import Binding, Subject, index_of
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.kubernetes._bindings import binding_related, granted, is_broad
from kubeward.rules.kubernetes._rbac import CIS_VERSION


@rule(
    id="rbac-binding-to-broad-subject",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(f"5.1.5 ({CIS_VERSION}): Ensure that default service accounts are not actively used",),
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
    what = granted(b, role)
    for s in b.subjects:
        if is_broad(s):
            sev = None
        elif s.kind == "ServiceAccount" and s.name == "default":
            sev = Severity.MEDIUM
        else:
            continue
        yield Finding(
            s.span,
            f"{b.display} grants {what} {b.scope} to {b.who(s)}: {_audience(b, s)}",
            related=binding_related(b, role),
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
