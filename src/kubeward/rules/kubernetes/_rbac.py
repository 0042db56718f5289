"""Shared helpers of the RBAC rules: which items of a policy rule grant a permission."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from kubeward.model.rbac import (
    RBAC_GROUP,
    READ_VERBS,
    WRITE_VERBS,
    Item,
    PolicyRule,
    Role,
    bound_suffix,
    bound_to,
)
from kubeward.registry import Finding, RuleContext, Severity

CIS_VERSION = "v1.10"
"""The CIS Kubernetes Benchmark version the RBAC rules cite."""
RBAC_DOCS = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"
GOOD_PRACTICES = "https://kubernetes.io/docs/concepts/security/rbac-good-practices/"


@dataclass(frozen=True, slots=True)
class Grant:
    """Verbs on resources a policy rule grants; `at` is the item a finding points to."""

    rule: PolicyRule
    verbs: tuple[Item, ...]
    resources: tuple[Item, ...]
    at: Item


def explicit_grant(
    r: PolicyRule,
    *,
    verbs: Iterable[str],
    group: str,
    resources: Iterable[str],
    named_verb_suffices: bool = False,
) -> Grant | None:
    """The grant of `verbs` on `group`/`resources` when the rule names the resource.

    A grant that reaches the resource only through `resources: ["*"]` is left to
    `rbac-wildcard` (one finding for the wildcard rather than one per thing it covers),
    unless `named_verb_suffices` and the verb itself is named (`bind` on `*`: the verb only
    means something on the resources we look for). A rule narrowed by `resourceNames` passes.
    """
    if r.resource_names:
        return None
    vs = r.verbs_for(verbs)
    rs = r.resources_for(group, resources)
    if not vs or not rs:
        return None
    named_r = [x for x in rs if x.value != "*"]
    named_v = [x for x in vs if x.value != "*"]
    if named_r:
        return Grant(r, tuple(vs), tuple(named_r), named_r[0])
    if named_verb_suffices and named_v:
        return Grant(r, tuple(named_v), tuple(rs), named_v[0])
    return None


def describe(g: Grant) -> str:
    verbs = ", ".join(dict.fromkeys(v.value for v in g.verbs))
    res = ", ".join(dict.fromkeys(x.value for x in g.resources))
    return f"{verbs} on {res}"


def role_findings(
    role: Role,
    ctx: RuleContext,
    grants: Iterable[Grant],
    what: str,
    *,
    namespaced_severity: Severity | None = None,
) -> Iterator[Finding]:
    """One finding per grant, naming the role, the grant and who holds it."""
    related = bound_to(role, ctx.scan)
    tail = bound_suffix(role, ctx.scan)
    sev = namespaced_severity if not role.cluster else None
    for g in grants:
        yield Finding(
            g.at.node.span,
            f"{role.display} grants {describe(g)} ({what}){tail}",
            related=related,
            severity=sev,
        )


# --- what a role can do, shared by the role rules and the binding rules' messages -----------


def _collect(
    role: Role, checks: Iterable[tuple[Iterable[str], str, Iterable[str], bool]]
) -> list[Grant]:
    out: list[Grant] = []
    for r in role.rules:
        for verbs, group, resources, named_verb in checks:
            g = explicit_grant(
                r, verbs=verbs, group=group, resources=resources, named_verb_suffices=named_verb
            )
            if g is not None and g not in out:
                out.append(g)
    return out


def secrets_read(role: Role) -> list[Grant]:
    return _collect(role, [(READ_VERBS, "", ("secrets",), False)])


def reads_secrets_through_wildcards(role: Role) -> bool:
    """Whether a rule with no `resourceNames` reads every Secret through a `*` (resources
    `*`, verbs `*` or groups `*`): what the API server grants, whatever the rule spells.
    `rbac-secrets-read` leaves such rules to `rbac-wildcard`; what a role can do (below)
    counts them."""
    return any(
        not r.resource_names
        and any(v.value == "*" for v in (*r.verbs, *r.resources, *r.api_groups))
        and r.grants(verbs=READ_VERBS, group="", resources=("secrets",))
        for r in role.rules
    )


def escalation(role: Role) -> list[Grant]:
    return _collect(
        role,
        [
            (("escalate",), RBAC_GROUP, ("roles", "clusterroles"), True),
            (("bind",), RBAC_GROUP, ("roles", "clusterroles"), True),
            (("impersonate",), "", ("users", "groups", "serviceaccounts"), True),
            (("impersonate",), "authentication.k8s.io", ("uids", "userextras/scopes"), True),
        ],
    )


def pod_exec(role: Role) -> list[Grant]:
    return _collect(
        role,
        [
            (("create",), "", ("pods/exec", "pods/attach"), False),
            (("create", "update", "patch"), "", ("pods/ephemeralcontainers",), False),
        ],
    )


_WORKLOAD_WRITE = ("create", "update", "patch")


def workload_write(role: Role) -> list[Grant]:
    return _collect(
        role,
        [
            (_WORKLOAD_WRITE, "", ("pods", "replicationcontrollers", "podtemplates"), False),
            (
                _WORKLOAD_WRITE,
                "apps",
                ("deployments", "daemonsets", "statefulsets", "replicasets"),
                False,
            ),
            (_WORKLOAD_WRITE, "batch", ("jobs", "cronjobs"), False),
            (_WORKLOAD_WRITE, "extensions", ("deployments", "daemonsets", "replicasets"), False),
        ],
    )


ADMISSION_RESOURCES = (
    "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
)


def webhook_write(role: Role) -> list[Grant]:
    return _collect(
        role, [(WRITE_VERBS, "admissionregistration.k8s.io", ADMISSION_RESOURCES, False)]
    )


def has_wildcard(role: Role) -> bool:
    return any(
        i.value == "*"
        for r in role.rules
        for i in (*r.verbs, *r.resources, *r.api_groups, *r.non_resource_urls)
    )


def capabilities(role: Role) -> list[str]:
    """What a role can do that widens the blast radius, in words, for binding messages."""
    if role.has_star_on_star():
        return ["`*` on `*`"]
    out = [
        what
        for what, check in (
            ("escalates privileges", escalation),
            ("controls admission webhooks", webhook_write),
            ("reads secrets", secrets_read),
            ("execs into pods", pod_exec),
            ("writes workloads", workload_write),
        )
        if check(role)
    ]
    if "reads secrets" not in out and reads_secrets_through_wildcards(role):
        out.append("reads secrets")  # through `*`: every Secret, as with `secrets`
    if has_wildcard(role):
        out.append("uses wildcards")
    return out
