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
