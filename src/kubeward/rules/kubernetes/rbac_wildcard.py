"""The `rbac-wildcard` rule: a Role or ClusterRole grants `*` verbs, resources or groups."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.rbac import Item, PolicyRule, Role, bound_suffix, bound_to
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.kubernetes._rbac import CIS_VERSION, GOOD_PRACTICES, RBAC_DOCS


@rule(
    id="rbac-wildcard",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=(f"5.1.3 ({CIS_VERSION}): Minimize wildcard use in Roles and ClusterRoles",),
    references=(RBAC_DOCS, GOOD_PRACTICES),
    cross_file=True,
)
def rbac_wildcard(role: Role, ctx: RuleContext) -> Iterator[Finding]:
    """Role grants `*` verbs, resources or API groups.

    A wildcard grants everything that exists now and everything added later: new resource
    types, subresources and verbs such as `escalate`, `bind` and `impersonate` come with it.
    One finding per policy rule, on its first `*`; critical when a ClusterRole's rule holds
    `*` verbs on `*` resources in `*` groups (cluster-admin in all but name). The same rule in
    a namespaced Role is admin of that namespace, not of the cluster: reported at the rule's
    severity (high), and said so.

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
        if everything and role.cluster:
            what = " (`*` on `*` in every group: cluster-admin in all but name)"
            severity: Severity | None = Severity.CRITICAL
        elif everything:  # a Role reaches its own namespace only: admin of that namespace
            ns = role.obj.namespace or "its namespace"
            what, severity = f" (`*` on `*` in every group: admin of namespace {ns})", None
        else:
            what, severity = "", None
        yield Finding(
            first[1].node.span,
            f"{role.display} uses a wildcard in {', '.join(fields)}"
            f"{what or ': ' + _grant(r)}{tail}",
            related=related,
            severity=severity,
            properties={"role": role.display, "star_on_star": everything},
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
