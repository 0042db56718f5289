"""RBAC: Roles and ClusterRoles with their rules, bindings with their subjects, and the index
that resolves a binding's `roleRef` to a role defined anywhere in the scan.

Matching follows the API server's RBAC authorizer (`pkg/apis/rbac/v1/evaluation_helpers.go`):
`*` matches every verb, group or resource; `*/sub` matches that subresource of every
resource; `resourceNames` narrows a rule to named objects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from kubeward.model.k8s import KubeObject
from kubeward.model.kustomize import deployed_namespaces
from kubeward.model.labels import LabelSelector, parse_selector
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Related, instances_in, provider, scan_provider
from kubeward.scan_context import ScanContext
from kubeward.source import SourceFile, Span, shorten

RBAC_GROUP = "rbac.authorization.k8s.io"
READ_VERBS = frozenset({"get", "list", "watch"})
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
# Groups a human or a careless binding should never reach, and the groups that mean "everyone".
BROAD_GROUPS = frozenset(
    {"system:anonymous", "system:unauthenticated", "system:authenticated", "system:serviceaccounts"}
)


@dataclass(frozen=True, slots=True)
class Item:
    """One string of a rule's list (`verbs`, `resources`...), with its node for positions."""

    value: str
    node: YNode


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One entry of a role's `rules:`."""

    node: YNode
    api_groups: tuple[Item, ...]
    resources: tuple[Item, ...]
    verbs: tuple[Item, ...]
    resource_names: tuple[Item, ...]
    non_resource_urls: tuple[Item, ...]

    def verbs_for(self, wanted: Iterable[str]) -> list[Item]:
        """The verb items granting any of `wanted` (`*` included)."""
        want = set(wanted)
        return [v for v in self.verbs if v.value == "*" or v.value in want]

    def covers_group(self, group: str) -> bool:
        return any(g.value in ("*", group) for g in self.api_groups)

    def resources_for(self, group: str, wanted: Iterable[str]) -> list[Item]:
        """The resource items granting any of `wanted` (`group/resource[/sub]`) in `group`."""
        if not self.covers_group(group):
            return []
        out = []
        for r in self.resources:
            for w in wanted:
                if _resource_matches(r.value, w):
                    out.append(r)
                    break
        return out

    def grants(self, *, verbs: Iterable[str], group: str, resources: Iterable[str]) -> bool:
        return bool(self.verbs_for(verbs)) and bool(self.resources_for(group, resources))


def _resource_matches(rule_resource: str, requested: str) -> bool:
    if rule_resource in ("*", requested):
        return True
    _, slash, sub = requested.partition("/")
    return bool(slash) and rule_resource == f"*/{sub}"


@dataclass(frozen=True, slots=True)
class Role:
    """A Role or ClusterRole."""

    obj: KubeObject
    rules: tuple[PolicyRule, ...]
    aggregated: bool  # a ClusterRole with an aggregationRule: its rules are filled in by others
    labels: tuple[tuple[str, str], ...] = ()
    selectors: tuple[LabelSelector, ...] = ()  # aggregationRule clusterRoleSelectors

    @property
    def cluster(self) -> bool:
        return self.obj.kind == "ClusterRole"

    @property
    def name(self) -> str:
        return self.obj.name or "<unnamed>"

    @property
    def display(self) -> str:
        kind, name = shorten(self.obj.kind), shorten(self.name)
        if self.cluster or not self.obj.namespace:
            return f"{kind}/{name}"
        return f"{kind}/{shorten(self.obj.namespace)}/{name}"

    @property
    def span(self) -> Span:
        return self.obj.kind_span

    def has_star_on_star(self) -> bool:
        """Holds `*` verbs on `*` resources in all groups: cluster-admin in all but name."""
        return any(
            any(g.value == "*" for g in r.api_groups)
            and any(x.value == "*" for x in r.resources)
            and any(v.value == "*" for v in r.verbs)
            and not r.resource_names
            for r in self.rules
        )


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # User | Group | ServiceAccount
    name: str
    namespace: str | None
    node: YNode

    @property
    def display(self) -> str:
        if self.kind == "ServiceAccount":
            ns = shorten(self.namespace or "<binding namespace>")
            return f"ServiceAccount {ns}/{shorten(self.name)}"
        return f"{shorten(self.kind)} {shorten(self.name)}"

    @property
    def span(self) -> Span:
        name = self.node.get("name")
        return (name or self.node).span


@dataclass(frozen=True, slots=True)
class Binding:
    """A RoleBinding or ClusterRoleBinding."""

    obj: KubeObject
    role_kind: str  # Role | ClusterRole
    role_name: str
    role_ref: YNode
    subjects: tuple[Subject, ...]

    @property
    def cluster(self) -> bool:
        return self.obj.kind == "ClusterRoleBinding"

    @property
    def display(self) -> str:
        kind, name = shorten(self.obj.kind), shorten(self.obj.name or "<unnamed>")
        if self.cluster or not self.obj.namespace:
            return f"{kind}/{name}"
        return f"{kind}/{shorten(self.obj.namespace)}/{name}"

    @property
    def role_span(self) -> Span:
        name = self.role_ref.get("name")
        return (name or self.role_ref).span

    @property
    def scope(self) -> str:
        if self.cluster:
            return "cluster-wide"
        return f"in namespace {self.obj.namespace}" if self.obj.namespace else "in its namespace"

    def subject_namespace(self, s: Subject) -> str | None:
        return s.namespace or (self.obj.namespace if s.kind == "ServiceAccount" else None)

    def who(self, s: Subject) -> str:
        """The subject for messages, a service account with the namespace it resolves to."""
        if s.kind == "ServiceAccount":
            ns = self.subject_namespace(s)
            return f"ServiceAccount {ns}/{s.name}" if ns else f"ServiceAccount {s.name}"
        return s.display


def _items(node: YNode | None) -> tuple[Item, ...]:
    if node is None:
        return ()
    if node.is_scalar and node.text is not None:  # tolerated: a single string instead of a list
        return (Item(node.text, node),)
    return tuple(Item(n.text, n) for n in node.seq() if n.is_scalar and n.text is not None)


def _policy_rules(node: YNode | None) -> tuple[PolicyRule, ...]:
    if node is None:
        return ()
    out = []
    for r in node.seq():
        if not r.is_map:
            continue
        out.append(
            PolicyRule(
                node=r,
                api_groups=_items(r.get("apiGroups")),
                resources=_items(r.get("resources")),
                verbs=_items(r.get("verbs")),
                resource_names=_items(r.get("resourceNames")),
                non_resource_urls=_items(r.get("nonResourceURLs")),
            )
        )
    return tuple(out)


def _labels(node: YNode | None) -> tuple[tuple[str, str], ...]:
    if node is None or not node.is_map:
        return ()
    return tuple(
        (str(k.value), v.text or "") for k, v in node.items() if k.is_scalar and v.is_scalar
    )


def _selectors(agg: YNode | None) -> tuple[LabelSelector, ...]:
    sels = agg.get("clusterRoleSelectors") if agg is not None else None
    if sels is None:
        return ()
    return tuple(s for s in (parse_selector(n) for n in sels.seq()) if s is not None)


def _is_rbac(obj: KubeObject) -> bool:
    return obj.group == RBAC_GROUP


@provider(Role)
def roles(f: SourceFile) -> Iterator[Role]:
    for obj in instances_in(f, KubeObject):
        if obj.kind in ("Role", "ClusterRole") and _is_rbac(obj):
            agg = obj.node.get("aggregationRule")
            yield Role(
                obj=obj,
                rules=_policy_rules(obj.node.get("rules")),
                aggregated=agg is not None,
                labels=_labels(obj.node.dig("metadata", "labels")),
                selectors=_selectors(agg),
            )


@provider(Binding)
def bindings(f: SourceFile) -> Iterator[Binding]:
    for obj in instances_in(f, KubeObject):
        if obj.kind not in ("RoleBinding", "ClusterRoleBinding") or not _is_rbac(obj):
            continue
        ref = obj.node.get("roleRef")
        if ref is None or not ref.is_map:
            continue
        subjects = []
        subj = obj.node.get("subjects")
        for s in subj.seq() if subj is not None else []:
            kind, name = s.get_str("kind"), s.get_str("name")
            if kind and name:
                subjects.append(Subject(kind, name, s.get_str("namespace"), s))
        yield Binding(
            obj=obj,
            role_kind=ref.get_str("kind") or "ClusterRole",
            role_name=ref.get_str("name") or "",
            role_ref=ref,
            subjects=tuple(subjects),
        )


# --- the scan-wide index --------------------------------------------------------------------

# Default ClusterRoles the API server creates (not in manifests): what they grant, in brief.
BUILTIN_CLUSTER_ROLES = {
    "cluster-admin": "every verb on every resource (`*` on `*`)",
    "admin": "read and write of most namespaced resources, secrets and pods/exec included",
    "edit": "write of workloads, read of secrets, pods/exec",
}


@dataclass
class RbacIndex:
    """Roles by reference and bindings by role, across every file of the scan."""

    roles: dict[tuple[str, str | None, str], list[Role]] = field(default_factory=dict)
    # By the role's document node: the role as written and its Kustomize-namespaced copies.
    bound_by: dict[int, list[Binding]] = field(default_factory=lambda: defaultdict(list))
    bindings: list[Binding] = field(default_factory=list)
    # Built on first use from `bindings`: by (namespace, name) of a ServiceAccount subject.
    _by_account: dict[tuple[str | None, str], list[Binding]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def account_bindings(self, namespace: str | None, name: str) -> list[Binding]:
        """The bindings with a ServiceAccount subject `name` whose namespace resolves to
        `namespace` (`Binding.subject_namespace`), each once, in the order of `bindings`."""
        if self._by_account is None:
            by: dict[tuple[str | None, str], list[Binding]] = defaultdict(list)
            for b in self.bindings:
                keys = {
                    (b.subject_namespace(s), s.name)
                    for s in b.subjects
                    if s.kind == "ServiceAccount"
                }
                for key in keys:
                    by[key].append(b)
            self._by_account = by
        return self._by_account.get((namespace, name), [])

    def resolve(self, b: Binding) -> Role | None:
        """The role a binding names, when the scan defines it."""
        if b.role_kind == "ClusterRole":
            found = self.roles.get(("ClusterRole", None, b.role_name))
        else:
            found = self.roles.get(("Role", b.obj.namespace, b.role_name)) or self.roles.get(
                ("Role", None, b.role_name)
            )
        return found[0] if found else None

    def bindings_of(self, role: Role) -> list[Binding]:
        return self.bound_by.get(id(role.obj.node), [])

    def effective(self, role: Role) -> Role:
        """The role with the rules an `aggregationRule` collects from ClusterRoles whose labels
        match one of its `clusterRoleSelectors` (`matchLabels` and `matchExpressions`, as the
        controller-manager's aggregation evaluates them; an empty selector matches every
        ClusterRole)."""
        if not role.aggregated or not role.selectors:
            return role
        got = list(role.rules)
        for (kind, _, _), found in sorted(self.roles.items(), key=lambda kv: kv[0][2]):
            for other in found:
                if kind != "ClusterRole" or other is role:
                    continue
                labels = dict(other.labels)
                if any(sel.matches(labels) for sel in role.selectors):
                    got.extend(r for r in other.rules if r not in got)
        return replace(role, rules=tuple(got))

    def resolve_effective(self, b: Binding) -> Role | None:
        role = self.resolve(b)
        return self.effective(role) if role is not None else None


def _role_key(r: Role) -> tuple[str, str | None, str]:
    return (r.obj.kind, None if r.cluster else r.obj.namespace, r.name)


def _in_namespace(obj: KubeObject, namespace: str | None) -> KubeObject:
    return obj if namespace == obj.namespace else replace(obj, namespace=namespace)


def deployed_roles(scan: ScanContext) -> Iterator[Role]:
    """Every Role as deployed: one per namespace a Kustomize `namespace:` puts it in."""
    for r in scan.instances(Role):
        if r.cluster:
            yield r
            continue
        for ns in deployed_namespaces(scan, r.obj.file.rel, r.obj.namespace):
            yield replace(r, obj=_in_namespace(r.obj, ns))


def deployed_bindings(scan: ScanContext) -> Iterator[Binding]:
    """Every binding as deployed: a RoleBinding in each namespace a Kustomize `namespace:` puts
    it in. Kustomize also sets that namespace on subjects named `default` (its default
    `setRoleBindingSubjects: defaultOnly`), in ClusterRoleBindings too."""
    for b in scan.instances(Binding):
        for ns in deployed_namespaces(scan, b.obj.file.rel, b.obj.namespace):
            if ns == b.obj.namespace:
                yield b
                continue
            subjects = tuple(
                replace(s, namespace=ns) if s.name == "default" and ns is not None else s
                for s in b.subjects
            )
            obj = b.obj if b.cluster else _in_namespace(b.obj, ns)
            yield replace(b, obj=obj, subjects=subjects)


@scan_provider(RbacIndex)
def rbac_index(scan: ScanContext) -> Iterator[RbacIndex]:
    idx = RbacIndex()
    for r in deployed_roles(scan):
        idx.roles.setdefault(_role_key(r), []).append(r)
        if not r.cluster and r.obj.namespace:  # also findable by a binding with no namespace
            idx.roles.setdefault(("Role", None, r.name), []).append(r)
    for b in deployed_bindings(scan):
        idx.bindings.append(b)
        role = idx.resolve(b)
        if role is not None:
            idx.bound_by[id(role.obj.node)].append(b)  # every deployed copy of the role
    yield idx


def index_of(scan: ScanContext) -> RbacIndex:
    got = scan.instances(RbacIndex)
    return got[0] if got else RbacIndex()


def bound_to(role: Role, scan: ScanContext) -> tuple[Related, ...]:
    """Related locations: every binding of `role` in the scan, saying to whom it grants it."""
    out = []
    for b in index_of(scan).bindings_of(role):
        who = ", ".join(b.who(s) for s in b.subjects) or "no subjects"
        out.append(Related(b.obj.kind_span, f"bound by {b.display} to {who} ({b.scope})"))
    return tuple(out)


def bound_suffix(role: Role, scan: ScanContext) -> str:
    """A message tail naming who holds the role, when the scan binds it."""
    bs = index_of(scan).bindings_of(role)
    if not bs:
        return ""
    subjects = sorted({b.who(s) for b in bs for s in b.subjects})
    shown = ", ".join(subjects[:3]) + (
        f" and {len(subjects) - 3} more" if len(subjects) > 3 else ""
    )
    return f"; bound to {shown}" if shown else ""
