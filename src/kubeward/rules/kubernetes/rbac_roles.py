"""RBAC rules over Roles and ClusterRoles (layer 5: blast radius of a compromised image).

Each runs over the whole scan (`cross_file=True`) so that a finding can name the bindings, in
any file, that hand the role to someone.
"""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.rbac import Item, PolicyRule, Role, bound_suffix, bound_to
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.kubernetes._rbac import (
    escalation,
    pod_exec,
    role_findings,
    secrets_read,
    webhook_write,
    workload_write,
)

_RBAC_DOCS = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"
_GOOD_PRACTICES = "https://kubernetes.io/docs/concepts/security/rbac-good-practices/"
_CIS = "v1.10"


@rule(
    id="rbac-wildcard",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(f"5.1.3 ({_CIS}): Minimize wildcard use in Roles and ClusterRoles",),
    references=(_RBAC_DOCS, _GOOD_PRACTICES),
    cross_file=True,
)
def rbac_wildcard(role: Role, ctx: RuleContext) -> Iterator[Finding]:
    """Role grants `*` verbs, resources or API groups.

    A wildcard grants everything that exists now and everything added later: new resource
    types, subresources and verbs such as `escalate`, `bind` and `impersonate` come with it.
    One finding per policy rule, on its first `*`; critical when the rule holds `*` verbs on
    `*` resources in `*` groups.

    ## Why it matters
    A workload whose service account holds a wildcard role turns one compromised image into
    control of every resource the wildcard reaches; `*` on `*` is cluster-admin in all but
    name.

    ## Remediation
    List the API groups, resources and verbs the subject needs:

        - apiGroups: ["apps"]
          resources: ["deployments"]
          verbs: ["get", "list", "watch"]
    """
    related = bound_to(role, ctx.scan)
    tail = bound_suffix(role, ctx.scan)
    for r in role.rules:
        stars = [
            (field, item)
            for field, items in (
                ("verbs", r.verbs),
                ("resources", r.resources),
                ("apiGroups", r.api_groups),
            )
            for item in items
            if item.value == "*"
        ]
        stars += [("nonResourceURLs", i) for i in r.non_resource_urls if i.value == "*"]
        if not stars:
            continue
        first = min(stars, key=lambda s: s[1].node.start.offset)
        fields = list(dict.fromkeys(f for f, _ in stars))
        everything = {"verbs", "resources", "apiGroups"} <= set(fields) and not r.resource_names
        what = " (`*` on `*` in every group: cluster-admin in all but name)" if everything else ""
        yield Finding(
            first[1].node.span,
            f"{role.display} uses a wildcard in {', '.join(fields)}"
            f"{what or ': ' + _grant(r)}{tail}",
            related=related,
            severity=Severity.CRITICAL if everything else None,
        )


def _grant(r: PolicyRule) -> str:
    """A policy rule in brief: `get, list on pods, pods/log in ""` (at most 4 of each)."""

    def brief(items: tuple[Item, ...], empty: str) -> str:
        values = [i.value or '""' for i in items]
        more = f" +{len(values) - 4}" if len(values) > 4 else ""
        return ", ".join(values[:4]) + more if values else empty

    if r.non_resource_urls and not r.resources:
        return f"{brief(r.verbs, 'no verbs')} on URLs {brief(r.non_resource_urls, '')}"
    groups = brief(r.api_groups, "no group")
    return f"{brief(r.verbs, 'no verbs')} on {brief(r.resources, 'nothing')} in {groups}"


@rule(
    id="rbac-secrets-read",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(f"5.1.2 ({_CIS}): Minimize access to secrets",),
    references=(_GOOD_PRACTICES,),
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


@rule(
    id="rbac-escalation-verbs",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(
        f"5.1.8 ({_CIS}): Limit use of the Bind, Impersonate and Escalate permissions"
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


@rule(
    id="rbac-pod-exec",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(f"5.1.4 ({_CIS}): Minimize access to create pods",),
    references=(_GOOD_PRACTICES,),
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


@rule(
    id="rbac-workload-write",
    layer=Layer.ADMISSION,
    severity=Severity.MEDIUM,
    cis=(f"5.1.4 ({_CIS}): Minimize access to create pods",),
    references=(_GOOD_PRACTICES,),
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


@rule(
    id="rbac-admission-webhook-write",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(f"5.1.12 ({_CIS}): Minimize access to webhook configuration objects",),
    references=(
        "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/",
        _GOOD_PRACTICES,
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
