"""Shared helpers of the RBAC rules: which items of a policy rule grant a permission."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from kubeward.model.rbac import Item, PolicyRule, Role, bound_suffix, bound_to
from kubeward.registry import Finding, RuleContext, Severity


@dataclass(frozen=True, slots=True)
class Grant:
    """Verbs on resources a policy rule grants; `at` is the item a finding points to."""

    rule: PolicyRule
    verbs: tuple[Item, ...]
    resources: tuple[Item, ...]
    at: Item


def explicit_grant(
    r: PolicyRule, *, verbs: Iterable[str], group: str, resources: Iterable[str]
) -> Grant | None:
    """The grant of `verbs` on `group`/`resources`, unless it comes only from `*` verbs on `*`
    resources (the wildcard rule reports those) or is narrowed by `resourceNames`."""
    if r.resource_names:
        return None
    vs = r.verbs_for(verbs)
    rs = r.resources_for(group, resources)
    if not vs or not rs:
        return None
    named_r = [x for x in rs if x.value != "*"]
    named_v = [x for x in vs if x.value != "*"]
    if named_r:
        at = named_r[0]
    elif named_v:
        at = named_v[0]
    else:
        return None
    return Grant(r, tuple(vs), tuple(rs), at)


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
