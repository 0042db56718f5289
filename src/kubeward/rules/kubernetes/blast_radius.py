"""Blast radius: what a workload's images can do through the service account they run as."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import Workload
from kubeward.model.kustomize import deployed_namespaces
from kubeward.model.rbac import BUILTIN_CLUSTER_ROLES, Binding, RbacIndex, index_of
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
from kubeward.rules.kubernetes._rbac import capabilities
from kubeward.source import Span

# Capabilities that turn one compromised image into more than its own pod.
_POWERFUL = (
    "`*` on `*`",
    "escalates privileges",
    "controls admission webhooks",
    "reads secrets",
    "execs into pods",
)


def _service_account(w: Workload) -> tuple[str, Span]:
    """The pod's service account and where it is named (the kind when it is `default`)."""
    for key in ("serviceAccountName", "serviceAccount"):
        node = w.pod_spec.get(key)
        if node is not None and node.text:
            return node.text, node.span
    return "default", w.obj.kind_span


def _binds(b: Binding, name: str, namespace: str | None, *, implicit: bool) -> bool:
    """Whether `b` binds the service account `namespace/name`. Namespaces must be equal; an
    unset namespace matches only an unset one, and never for the implicit `default` account
    (every namespace has one: two unrelated manifests would be linked by name alone)."""
    if implicit and namespace is None:
        return False
    return any(
        s.kind == "ServiceAccount" and s.name == name and b.subject_namespace(s) == namespace
        for s in b.subjects
    )


@rule(
    id="workload-service-account-privileged",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=("5.1.6 (v1.10): Ensure that Service Account Tokens are only mounted where necessary",),
    references=(
        "https://kubernetes.io/docs/concepts/security/service-accounts/",
        "https://kubernetes.io/docs/concepts/security/rbac-good-practices/",
    ),
    cross_file=True,
)
def workload_service_account_privileged(w: Workload, ctx: RuleContext) -> Iterator[Finding]:
    """Workload runs as a service account that RBAC makes powerful, with its token mounted.

    Follows the pod's service account (`default` when none is named; the finding then
    points at the workload's `kind`) to every binding of it in the scan (same namespace; the
    implicit `default` account only when the namespace is set), resolves each role
    across files, and reports the workload when a role holds `*` on `*` (critical),
    `escalate`/`bind`/`impersonate`, webhook write, secrets read or pod exec. A pod with
    `automountServiceAccountToken: false` passes. The namespace is the one the workload is
    deployed to: a Kustomize `namespace:` of a kustomization that includes it (the outermost
    wins, as in `kustomize build`) counts, for the workload and for the bindings alike.

    ## Why it matters
    Every image of the pod, and every dependency in those images, can use the mounted token:
    one compromised image gets everything the bindings grant, across the namespace or the
    cluster.

    ## Remediation
    Give the workload its own service account with only what it needs, or do not mount the
    token when it does not call the API:

        spec:
          serviceAccountName: shop-web
          automountServiceAccountToken: false
    """
    if (m := w.pod_spec.get("automountServiceAccountToken")) is not None and m.bool is False:
        return
    name, span = _service_account(w)
    idx = index_of(ctx.scan)
    seen: set[str] = set()  # the same binding copied into several files of the scan
    implicit = span == w.obj.kind_span
    for namespace in deployed_namespaces(ctx.scan, w.obj.file.rel, w.obj.namespace):
        if implicit and namespace is None:
            continue  # an implicit `default` account with no namespace is linked to nothing
        yield from _granted(w, idx, name, span, namespace, implicit=implicit, seen=seen)


def _granted(
    w: Workload,
    idx: RbacIndex,
    name: str,
    span: Span,
    namespace: str | None,
    *,
    implicit: bool,
    seen: set[str],
) -> Iterator[Finding]:
    # Only the bindings of this account (an index by namespace and name: the same bindings,
    # in the same order, as testing each one with `_binds`).
    for b in idx.account_bindings(namespace, name):
        if not _binds(b, name, namespace, implicit=implicit):
            continue
        role = idx.resolve_effective(b)
        if role is not None:
            caps = capabilities(role)
            what = role.display
        elif b.role_kind == "ClusterRole" and b.role_name in BUILTIN_CLUSTER_ROLES:
            caps = ["`*` on `*`"] if b.role_name == "cluster-admin" else ["reads secrets"]
            what = f"{b.role_kind}/{b.role_name}"
        else:
            continue
        powerful = [c for c in caps if c in _POWERFUL]
        if not powerful:
            continue
        related = [Related(b.obj.kind_span, f"{b.display} binds it ({b.scope})")]
        if role is not None:
            related.append(Related(role.span, f"{role.display} is defined here"))
        message = (
            f"{w.obj.display} runs as ServiceAccount {namespace + '/' if namespace else ''}{name}, "
            f"which {b.display} grants {what} ({', '.join(powerful)}) {b.scope}: every image of "
            "the pod holds it"
        )
        if message in seen:
            continue
        seen.add(message)
        yield Finding(
            span,
            message,
            related=tuple(related),
            severity=Severity.CRITICAL if "`*` on `*`" in powerful else None,
        )
