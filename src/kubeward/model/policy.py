"""Admission policies that verify images, and the image patterns each one covers.

Which image a pattern selects is decided by `kubeward.policy` (shared with `kubeward verify
--policy`): Kyverno's wildcards and gobwas globs in `kubeward.policy.kyverno`, policy-controller's
globs in `kubeward.policy.policy_controller`. This module models the policies around them:

- Kyverno (`kyverno.io` `ClusterPolicy`/`Policy`, `verifyImages[].imageReferences`).
- Kyverno `ImageValidatingPolicy` (`policies.kyverno.io`, also `NamespacedImageValidatingPolicy`,
  `spec.matchImageReferences[]`): an empty list matches every image. An `expression` entry is
  CEL over `ref` and cannot be evaluated here: it covers nothing.
- Sigstore policy-controller (`ClusterImagePolicy`, `spec.images[].glob`), matched against the
  go-containerregistry name of the image (`index.docker.io/library/nginx:latest`, or
  `repo@sha256:...` for a digest), as its webhook does.
  A non-empty `spec.match` limits the policy to the admitted objects (the workload, the
  ReplicaSet or Job its controller creates, its pods) one entry names by group, resource and
  version (or `*`) after the webhook's kind table, and whose own labels the entry's `selector`
  matches: a policy whose entries name only other resources covers nothing.
- OPA Gatekeeper with Ratify (`RatifyVerification` constraints): every image of a matched
  object is verified. Gatekeeper's own image constraints (`K8sAllowedRepos`...) restrict where
  images come from but verify no signature, so they never count as coverage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from kubeward.model.image import ImageRef
from kubeward.model.images import ImageUse
from kubeward.model.k8s import KubeObject
from kubeward.model.kustomize import KustomizeNamespaces
from kubeward.model.labels import LabelSelector, labels_of, parse_selector
from kubeward.parse.yamlnode import YNode
from kubeward.policy import gatekeeper, policy_controller
from kubeward.policy.identity import matches_any_value
from kubeward.policy.kyverno import gobwas_regex, kyverno_forms, kyverno_regex, wildcard_match
from kubeward.policy.prefix import PrefixIndex
from kubeward.registry import instances_in, provider, scan_provider
from kubeward.source import SourceFile, Span

if TYPE_CHECKING:
    from kubeward.scan_context import ScanContext

KYVERNO = "kyverno"
POLICY_CONTROLLER = "policy-controller"
GATEKEEPER = "gatekeeper"

# Regular expressions that accept any identity (anchored or not).
_CATCH_ALL_RE = re.compile(r"^\^?(?:\.\*|\.\+|\(\.\*\)|\(\.\+\)|\[\^?\]?\*?)*\$?$")


def is_catch_all_regexp(text: str) -> bool:
    """Whether a regular expression matches (nearly) any identity: `.*`, `^.*$`, `.+`, ``,
    or anything that matches every value under cosign's unanchored MatchString (`^`, `a?`)."""
    t = text.strip()
    if t in ("", "*", ".*", ".+", "^.*$", "^.+$", "^.*", ".*$", "(.*)", "^(.*)$", "**"):
        return True
    return (bool(_CATCH_ALL_RE.match(t)) and any(c in t for c in ".*+")) or matches_any_value(t)


def is_catch_all_wildcard(text: str) -> bool:
    """A Kyverno wildcard (subject/issuer) that matches any value: `*`, `**`, `?*`."""
    t = text.strip()
    return t != "" and set(t) <= {"*", "?"} and "*" in t


# --- the model ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImagePattern:
    """One image pattern of a policy, as written."""

    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Target:
    """Where a workload image is admitted: its namespace and the labels selectors look at.

    `labels` are the workload's own labels and its pod template's (Kyverno checks both the
    controller and the pods it creates, so a selector matching either gates the image);
    `namespace_labels` is None when the scan does not declare the namespace.
    """

    namespace: str | None = None
    labels: tuple[Mapping[str, str], ...] = ()
    namespace_labels: Mapping[str, str] | None = None
    # The objects an admission webhook sees for the image, each with its kind and its own
    # labels: the workload, what its controller creates, and the pods (empty: unknown).
    admitted: tuple[tuple[str, Mapping[str, str]], ...] = ()


# policy-controller's table from an admitted object's kind to the group, version and resource
# its `spec.match` entries are compared with (`kindResourceMap` in
# pkg/apis/config/image_policies.go), as written there: DaemonSet under the core group, and no
# ReplicaSet (its key is misspelled), so a ReplicaSet, like any kind not listed, compares as
# the empty group, version and resource.
_PC_KIND_RESOURCES: dict[str, tuple[str, str, str]] = {
    "Deployment": ("apps", "v1", "deployments"),
    "CronJob": ("batch", "v1", "cronjobs"),
    "Job": ("batch", "v1", "jobs"),
    "DaemonSet": ("", "v1", "daemonsets"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "Pod": ("", "v1", "pods"),
}


@dataclass(frozen=True, slots=True)
class ResourceMatch:
    """One policy-controller `spec.match` entry: the policy applies to an admitted object
    whose group, resource and version (or `*`) are these and whose own labels its `selector`
    matches (`GetMatchingPolicies`)."""

    group: str
    version: str
    resource: str
    selector: LabelSelector | None = None
    templated: bool = False  # cannot be evaluated statically: taken to match

    def matches(self, kind: str, labels: Mapping[str, str]) -> bool:
        if self.templated:
            return True
        group, version, resource = _PC_KIND_RESOURCES.get(kind, ("", "", ""))
        if (self.group, self.resource) != (group, resource) or self.version not in (version, "*"):
            return False
        sel = self.selector
        return sel is None or sel.templated or sel.matches(labels)

    def describe(self) -> str:
        gvr = "/".join(x for x in (self.group, self.version, self.resource) if x) or "(none)"
        return gvr + (f" labelled {self.selector.describe()}" if self.selector else "")


@dataclass(frozen=True, slots=True)
class Selection:
    """One Kyverno match/exclude `resources` block's label conditions."""

    selector: LabelSelector | None = None  # on the resource's labels
    namespace_selector: LabelSelector | None = None

    def matches(self, t: Target) -> bool:
        """Unknown (templated selector, undeclared namespace, no labels known): it matches."""
        sel = self.selector
        if (
            sel is not None
            and not sel.templated
            and t.labels
            and not any(sel.matches(lab) for lab in t.labels)
        ):
            return False
        ns = self.namespace_selector
        if ns is not None and not ns.templated and t.namespace_labels is not None:
            return ns.matches(t.namespace_labels)
        return True

    @property
    def constrains(self) -> bool:
        return self.selector is not None or self.namespace_selector is not None


@dataclass(frozen=True, slots=True)
class AuditOverride:
    """A `validationFailureActionOverrides` entry that turns the policy to Audit somewhere."""

    namespaces: frozenset[str]
    namespace_selector: LabelSelector | None
    span: Span

    def applies(self, t: Target) -> bool:
        if t.namespace is not None and any(wildcard_match(n, t.namespace) for n in self.namespaces):
            return True
        sel = self.namespace_selector
        return (
            sel is not None
            and t.namespace_labels is not None
            and not sel.templated
            and sel.matches(t.namespace_labels)
        )


@dataclass(frozen=True, slots=True)
class VerificationPolicy:
    """One unit of image signature verification and the images it applies to.

    For Kyverno that is one `verifyImages` entry (its own `failureAction` and `required`);
    for policy-controller a `ClusterImagePolicy`; for Gatekeeper a `RatifyVerification`
    constraint. `enforcing` is False when a non-verified image is still admitted (audit or
    warn mode, `required: false`, a `static: pass` authority); `not_enforcing_why` and
    `mode_span` say why and where.
    """

    obj: KubeObject
    engine: str
    span: Span  # where the policy is (the verifyImages entry, the spec, the kind)
    patterns: tuple[ImagePattern, ...]
    skip: tuple[ImagePattern, ...] = ()
    match_all: bool = False
    enforcing: bool = True
    not_enforcing_why: str = ""
    mode_span: Span | None = None
    namespaces: frozenset[str] | None = None  # None: every namespace; globs allowed
    excluded_namespaces: frozenset[str] = frozenset()
    # Kyverno label conditions: any of `select_any` (empty: no condition) and all of
    # `select_all` must match; an `exclude_selections` entry that matches exempts the target.
    select_any: tuple[Selection, ...] = ()
    select_all: tuple[Selection, ...] = ()
    exclude_selections: tuple[Selection, ...] = ()
    audit_overrides: tuple[AuditOverride, ...] = ()
    # Kyverno ImageValidatingPolicy: `patterns` are gobwas globs, and `expressions` are the CEL
    # `matchImageReferences` entries, which cannot be evaluated statically (they cover nothing).
    gobwas: bool = False
    expressions: tuple[ImagePattern, ...] = ()
    # policy-controller `spec.match`: when not empty, the policy applies only to the admitted
    # objects one entry matches.
    resource_matches: tuple[ResourceMatch, ...] = ()

    @property
    def display(self) -> str:
        return f"{self.obj.display} ({self.engine})"

    def applies_in(self, namespace: str | None) -> bool:
        """Whether the policy applies in a namespace (an unknown namespace: yes)."""
        if namespace is None:
            return True
        match = gatekeeper.wildcard_matches if self.engine == GATEKEEPER else wildcard_match
        if any(match(n, namespace) for n in self.excluded_namespaces):
            return False
        return self.namespaces is None or any(match(n, namespace) for n in self.namespaces)

    def selects(self, t: Target) -> bool:
        """Whether the label conditions of the policy's match and exclude admit the target."""
        if (
            self.resource_matches
            and t.admitted
            and not any(m.matches(k, lab) for k, lab in t.admitted for m in self.resource_matches)
        ):
            return False
        if self.select_any and not any(s.matches(t) for s in self.select_any):
            return False
        if not all(s.matches(t) for s in self.select_all):
            return False
        return not any(s.matches(t) for s in self.exclude_selections)

    def audit_override(self, t: Target) -> AuditOverride | None:
        return next((o for o in self.audit_overrides if o.applies(t)), None)

    def covering(
        self, ref: ImageRef, namespace: str | None = None, *, target: Target | None = None
    ) -> str | None:
        """The pattern that makes this policy apply to `ref` (None when it does not apply)."""
        if target is not None:
            namespace = target.namespace
            if not self.selects(target):
                return None
        if not self.applies_in(namespace):
            return None
        if self.engine == KYVERNO and self.gobwas:
            if self.match_all:
                return "every image"
            forms = kyverno_forms(ref)
            for p in self.patterns:
                rx = gobwas_regex(p.text)
                if rx is not None and any(rx.match(f) for f in forms):
                    return p.text
            return None
        if self.engine == KYVERNO:
            forms = kyverno_forms(ref)
            if any(kyverno_regex(p.text).match(f) for p in self.skip for f in forms):
                return None
            for p in self.patterns:
                if any(kyverno_regex(p.text).match(f) for f in forms):
                    return p.text
            return None
        if self.engine == POLICY_CONTROLLER:
            for p in self.patterns:
                if policy_controller.selects(p.text, ref):
                    return p.text
            return None
        return "every image" if self.match_all else None


@dataclass(frozen=True, slots=True)
class KyvernoImageRule:
    """One `verifyImages` entry of a Kyverno policy rule, with what decides its mode."""

    obj: KubeObject
    rule: YNode  # the policy rule (spec.rules[i])
    entry: YNode  # the verifyImages entry
    action: str  # "enforce" | "audit"
    action_node: YNode | None  # the failureAction / validationFailureAction value (None: default)

    @property
    def rule_name(self) -> str:
        return self.rule.get_str("name") or "<unnamed rule>"

    @property
    def where(self) -> str:
        return f"rule {self.rule_name} of {self.obj.display}"

    @property
    def applies_to_pods(self) -> bool:
        """Whether the rule's `match` selects Pods or workloads (Kyverno auto-generates the
        controller rules from a Pod rule). A rule without kinds is taken to apply."""
        kinds = list(_match_kinds(self.rule.get("match")))
        if not kinds:
            return True
        return any(k.rsplit("/", 1)[-1] in _POD_KINDS for k in kinds)


_POD_KINDS = frozenset(
    {"*", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
)


def _resource_blocks(match: YNode | None) -> list[YNode]:
    """The `resources` maps of a Kyverno match/exclude (legacy form, `any` and `all`)."""
    if match is None or not match.is_map:
        return []
    out = []
    blocks = [match]
    for key in ("any", "all"):
        node = match.get(key)
        blocks.extend(node.seq() if node is not None else [])
    for b in blocks:
        res = b.get("resources")
        if res is not None and res.is_map:
            out.append(res)
    return out


def _names(node: YNode | None) -> set[str]:
    return {n.text for n in (node.seq() if node is not None else []) if n.text}


def _match_namespaces(match: YNode | None) -> frozenset[str] | None:
    """The namespaces a match selects, when every resource block names some (else None)."""
    blocks = _resource_blocks(match)
    if not blocks or any(b.get("namespaces") is None for b in blocks):
        return None
    return frozenset(n for b in blocks for n in _names(b.get("namespaces")))


def _selection(block: YNode) -> Selection:
    return Selection(
        selector=parse_selector(block.get("selector")),
        namespace_selector=parse_selector(block.get("namespaceSelector")),
    )


def _match_selections(match: YNode | None) -> tuple[tuple[Selection, ...], tuple[Selection, ...]]:
    """(any-of, all-of) label conditions of a Kyverno match. The legacy top-level `resources`
    is one condition that must hold."""
    if match is None or not match.is_map:
        return (), ()
    any_of: list[Selection] = []
    all_of: list[Selection] = []
    top = match.get("resources")
    if top is not None and top.is_map:
        all_of.append(_selection(top))
    for key, out in (("any", any_of), ("all", all_of)):
        node = match.get(key)
        for b in node.seq() if node is not None else []:
            res = b.get("resources")
            out.append(_selection(res) if res is not None and res.is_map else Selection())
    return (
        tuple(any_of) if any(s.constrains for s in any_of) else (),
        tuple(s for s in all_of if s.constrains),
    )


def _exclude_selections(exclude: YNode | None) -> tuple[Selection, ...]:
    """Exclude blocks narrowed only by labels (and kinds): each exempts what it selects."""
    out = []
    for b in _resource_blocks(exclude):
        if set(b.keys()) <= {"kinds", "selector", "namespaceSelector"}:
            sel = _selection(b)
            if sel.constrains:
                out.append(sel)
    return tuple(out)


def _audit_overrides(spec: YNode) -> tuple[AuditOverride, ...]:
    """`validationFailureActionOverrides` entries with action Audit. Only downgrades are read:
    an override to Enforce is not taken as proof that images are verified there."""
    node = spec.get("validationFailureActionOverrides")
    out = []
    for o in node.seq() if node is not None else []:
        action = o.get("action")
        if action is None or (action.text or "").lower() != "audit":
            continue
        out.append(
            AuditOverride(
                namespaces=frozenset(_names(o.get("namespaces"))),
                namespace_selector=parse_selector(o.get("namespaceSelector")),
                span=action.span,
            )
        )
    return tuple(out)


def _excluded_namespaces(exclude: YNode | None) -> frozenset[str]:
    """Namespaces an exclude block removes whole (blocks narrowed by anything but kinds are
    ignored: they exclude less than a namespace)."""
    out: set[str] = set()
    for b in _resource_blocks(exclude):
        if set(b.keys()) <= {"namespaces", "kinds"}:
            out |= _names(b.get("namespaces"))
    return frozenset(out)


def _match_kinds(match: YNode | None) -> Iterator[str]:
    if match is None or not match.is_map:
        return
    blocks = [match]
    for key in ("any", "all"):
        node = match.get(key)
        blocks.extend(node.seq() if node is not None else [])
    for b in blocks:
        kinds = b.dig("resources", "kinds")
        for k in kinds.seq() if kinds is not None else []:
            if k.text:
                yield k.text


def _is_kyverno_policy(obj: KubeObject) -> bool:
    return obj.group == "kyverno.io" and obj.kind in ("ClusterPolicy", "Policy")


def _kyverno_rules(f: SourceFile) -> Iterator[KyvernoImageRule]:
    for obj in instances_in(f, KubeObject):
        if not _is_kyverno_policy(obj):
            continue
        spec = obj.node.get("spec")
        if spec is None:
            continue
        policy_action = spec.get("validationFailureAction")
        for rule in spec.get("rules").seq() if spec.get("rules") is not None else []:  # type: ignore[union-attr]
            vi = rule.get("verifyImages")
            if vi is None:
                continue
            for entry in vi.seq():
                if not entry.is_map:
                    continue
                node = entry.get("failureAction") or policy_action
                text = (node.text or "").lower() if node is not None else "audit"
                action = "enforce" if text == "enforce" else "audit"
                if node is not None and node.is_templated:
                    action = "enforce"  # cannot know: do not accuse
                yield KyvernoImageRule(obj, rule, entry, action, node)


@provider(KyvernoImageRule)
def kyverno_image_rules(f: SourceFile) -> Iterator[KyvernoImageRule]:
    yield from _kyverno_rules(f)


def _patterns(node: YNode | None) -> tuple[ImagePattern, ...]:
    if node is None:
        return ()
    items = node.seq() if node.is_seq else [node]
    return tuple(ImagePattern(str(n.text), n.span) for n in items if n.text)


def _kyverno_policies(f: SourceFile) -> Iterator[VerificationPolicy]:
    for r in instances_in(f, KyvernoImageRule):
        if not r.applies_to_pods:
            continue  # a Tekton bundle or custom-resource image check does not cover Pods
        patterns = _patterns(r.entry.get("imageReferences")) or _patterns(r.entry.get("image"))
        why = ""
        mode_span = None
        if r.action != "enforce":
            where = r.action_node.text if r.action_node is not None else "Audit (the default)"
            why = f"failure action {where}"
            mode_span = r.action_node.span if r.action_node is not None else r.entry.span
        required = r.entry.get("required")
        if not why and required is not None and required.bool is False:
            why, mode_span = "required: false", required.span
        namespaces = _match_namespaces(r.rule.get("match"))
        if r.obj.kind == "Policy":
            namespaces = frozenset({r.obj.namespace}) if r.obj.namespace else namespaces
        any_of, all_of = _match_selections(r.rule.get("match"))
        spec = r.obj.node.get("spec")
        yield VerificationPolicy(
            obj=r.obj,
            engine=KYVERNO,
            span=r.entry.span,
            patterns=patterns,
            skip=_patterns(r.entry.get("skipImageReferences")),
            enforcing=not why,
            not_enforcing_why=why,
            mode_span=mode_span,
            namespaces=namespaces,
            excluded_namespaces=_excluded_namespaces(r.rule.get("exclude")),
            select_any=any_of,
            select_all=all_of,
            exclude_selections=_exclude_selections(r.rule.get("exclude")),
            audit_overrides=_audit_overrides(spec) if spec is not None and not why else (),
        )


IVP_KINDS = frozenset({"ImageValidatingPolicy", "NamespacedImageValidatingPolicy"})

# Resources (lower-case plural, as admission `resourceRules` name them) whose pods are checked.
_POD_RESOURCES = frozenset(
    {"*", "pods", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs"}
)


@dataclass(frozen=True, slots=True)
class ImageValidatingPolicy:
    """A Kyverno `ImageValidatingPolicy` (or `NamespacedImageValidatingPolicy`), API group
    `policies.kyverno.io`, with what decides whether it denies admission.

    `validationActions` empty or absent means `[Deny]` (the spec's `ValidationActions()`);
    `failurePolicy` absent means `Fail`; `evaluation.admission.enabled` absent means true.
    """

    obj: KubeObject
    spec: YNode
    actions: tuple[str, ...]  # as written; () when absent (Kyverno then denies)
    actions_node: YNode | None
    failure_policy: YNode | None  # the failurePolicy value when it is Ignore
    admission_off: YNode | None  # evaluation.admission.enabled when it is false

    @property
    def denies(self) -> bool:
        if self.actions_node is not None and self.actions_node.is_templated:
            return True  # cannot know: do not accuse
        return not self.actions or any(a.lower() == "deny" for a in self.actions)

    @property
    def applies_to_pods(self) -> bool:
        """Whether `matchConstraints.resourceRules` name pods or a workload (none: yes)."""
        rules = self.spec.dig("matchConstraints", "resourceRules")
        resources = [
            r.text
            for rule in (rules.seq() if rules is not None else [])
            for r in (rule.get("resources").seq() if rule.get("resources") is not None else [])  # type: ignore[union-attr]
            if r.text
        ]
        return not resources or any(r.split("/")[0] in _POD_RESOURCES for r in resources)


def _image_validating_policies(f: SourceFile) -> Iterator[ImageValidatingPolicy]:
    for obj in instances_in(f, KubeObject):
        if obj.group != "policies.kyverno.io" or obj.kind not in IVP_KINDS:
            continue
        spec = obj.node.get("spec")
        if spec is None or not spec.is_map:
            continue
        node = spec.get("validationActions")
        actions = tuple(a.text for a in node.seq() if a.text) if node is not None else ()
        fp = spec.get("failurePolicy")
        enabled = spec.dig("evaluation", "admission", "enabled")
        yield ImageValidatingPolicy(
            obj=obj,
            spec=spec,
            actions=actions,
            actions_node=node if actions else None,
            failure_policy=fp if fp is not None and (fp.text or "") == "Ignore" else None,
            admission_off=enabled if enabled is not None and enabled.bool is False else None,
        )


@provider(ImageValidatingPolicy)
def image_validating_policies(f: SourceFile) -> Iterator[ImageValidatingPolicy]:
    yield from _image_validating_policies(f)


def _entry_patterns(entries: list[YNode], key: str) -> Iterator[ImagePattern]:
    for e in entries:
        node = e.get(key)
        if node is not None and node.text:
            yield ImagePattern(str(node.text), node.span)


def _ivp_policies(f: SourceFile) -> Iterator[VerificationPolicy]:
    for p in instances_in(f, ImageValidatingPolicy):
        if not p.applies_to_pods:
            continue
        refs = p.spec.get("matchImageReferences")
        entries = [e for e in (refs.seq() if refs is not None else []) if e.is_map]
        globs = tuple(_entry_patterns(entries, "glob"))
        exprs = tuple(_entry_patterns(entries, "expression"))
        why, mode_span = "", None
        if not p.denies:
            why = f"validationActions: [{', '.join(p.actions)}] without Deny"
            mode_span = p.actions_node.span if p.actions_node is not None else None
        elif p.admission_off is not None:
            why, mode_span = "evaluation.admission.enabled: false", p.admission_off.span
        mc = p.spec.get("matchConstraints")
        sel = Selection(
            selector=parse_selector(mc.get("objectSelector")) if mc is not None else None,
            namespace_selector=parse_selector(mc.get("namespaceSelector"))
            if mc is not None
            else None,
        )
        namespaces = None
        if p.obj.kind == "NamespacedImageValidatingPolicy" and p.obj.namespace:
            namespaces = frozenset({p.obj.namespace})
        yield VerificationPolicy(
            obj=p.obj,
            engine=KYVERNO,
            span=p.obj.kind_span,
            patterns=globs,
            match_all=not entries,  # an empty matchImageReferences matches every image
            enforcing=not why,
            not_enforcing_why=why,
            mode_span=mode_span,
            namespaces=namespaces,
            select_all=(sel,) if sel.constrains else (),
            gobwas=True,
            expressions=exprs,
        )


def is_cluster_image_policy(obj: KubeObject) -> bool:
    return obj.kind == "ClusterImagePolicy" and obj.group == "policy.sigstore.dev"


def static_pass(authority: YNode) -> YNode | None:
    """The `static: {action: pass}` node of an authority (None otherwise)."""
    action = authority.dig("static", "action")
    return action if action is not None and (action.text or "").lower() == "pass" else None


def _pc_policies(f: SourceFile) -> Iterator[VerificationPolicy]:
    for obj in instances_in(f, KubeObject):
        if not is_cluster_image_policy(obj):
            continue
        spec = obj.node.get("spec")
        if spec is None:
            continue
        globs = tuple(
            ImagePattern(str(g.text), g.span)
            for img in (spec.get("images").seq() if spec.get("images") is not None else [])  # type: ignore[union-attr]
            if (g := img.get("glob")) is not None and g.text
        )
        why, mode_span = "", None
        mode = spec.get("mode")
        authorities = spec.get("authorities")
        auth_list = authorities.seq() if authorities is not None else []
        if mode is not None and (mode.text or "").lower() == "warn":
            why, mode_span = "mode: warn", mode.span
        elif not auth_list:
            why, mode_span = "no authorities", (authorities or obj.node.get("kind") or spec).span
        else:
            passing = [p for a in auth_list if (p := static_pass(a)) is not None]
            if passing:
                why, mode_span = "a static pass authority", passing[0].span
        match = spec.get("match")
        yield VerificationPolicy(
            obj=obj,
            engine=POLICY_CONTROLLER,
            span=obj.kind_span,
            patterns=globs,
            enforcing=not why,
            not_enforcing_why=why,
            mode_span=mode_span,
            resource_matches=tuple(
                _pc_resource_match(m) for m in (match.seq() if match is not None else [])
            ),
        )


def _pc_resource_match(m: YNode) -> ResourceMatch:
    if not m.is_map:
        return ResourceMatch("", "", "", templated=m.is_templated)
    fields = [m.get(k) for k in ("group", "version", "resource")]
    group, version, resource = (
        (n.text or "").strip() if n is not None and n.is_scalar else "" for n in fields
    )
    return ResourceMatch(
        group,
        version,
        resource,
        selector=parse_selector(m.get("selector")),
        templated=any(n is not None and n.is_templated for n in fields),
    )


GATEKEEPER_IMAGE_KINDS = frozenset(
    {
        "K8sAllowedRepos",
        "K8sAllowedReposv2",
        "K8sImageDigests",
        "K8sDisallowedTags",
        "RatifyVerification",
    }
)


def is_gatekeeper_constraint(obj: KubeObject) -> bool:
    return obj.group == "constraints.gatekeeper.sh"


def gatekeeper_action(obj: KubeObject) -> YNode | None:
    return obj.node.dig("spec", "enforcementAction")


_ADMISSION_POINTS = {"validation.gatekeeper.sh", "*"}


def gatekeeper_denies(obj: KubeObject) -> bool:
    """Whether a constraint denies admission requests: `enforcementAction` `deny` (the
    default), or `scoped` with a `deny` entry of `scopedEnforcementActions` at the admission
    enforcement point (`validation.gatekeeper.sh` or `*`; no points listed counts too)."""
    action = gatekeeper_action(obj)
    text = (action.text or "deny").lower() if action is not None else "deny"
    if text != "scoped":
        return text not in ("dryrun", "warn")
    scoped = obj.node.dig("spec", "scopedEnforcementActions")
    for entry in scoped.seq() if scoped is not None else []:
        if (entry.get_str("action") or "").lower() != "deny":
            continue
        points = entry.get("enforcementPoints")
        names = {p.get_str("name") for p in points.seq()} if points is not None else set()
        if not names or names & _ADMISSION_POINTS:
            return True
    return False


def _gk_policies(f: SourceFile) -> Iterator[VerificationPolicy]:
    for obj in instances_in(f, KubeObject):
        if not is_gatekeeper_constraint(obj) or obj.kind != "RatifyVerification":
            continue
        action = gatekeeper_action(obj)
        not_enforcing = not gatekeeper_denies(obj)
        match = obj.node.dig("spec", "match")
        included = match.get("namespaces") if match is not None else None
        excluded = match.get("excludedNamespaces") if match is not None else None
        yield VerificationPolicy(
            obj=obj,
            engine=GATEKEEPER,
            span=obj.kind_span,
            patterns=(),
            match_all=True,
            enforcing=not not_enforcing,
            not_enforcing_why=f"enforcementAction: {action.text}"
            if not_enforcing and action
            else "",
            mode_span=action.span if not_enforcing and action is not None else None,
            namespaces=frozenset(_names(included)) if included is not None else None,
            excluded_namespaces=frozenset(_names(excluded)),
            select_all=_gk_selection(match),
        )


def _gk_selection(match: YNode | None) -> tuple[Selection, ...]:
    """A constraint's `match.labelSelector` (on the object's labels) and
    `match.namespaceSelector`, as one label condition."""
    if match is None or not match.is_map:
        return ()
    sel = Selection(
        selector=parse_selector(match.get("labelSelector")),
        namespace_selector=parse_selector(match.get("namespaceSelector")),
    )
    return (sel,) if sel.constrains else ()


@provider(VerificationPolicy)
def verification_policies(f: SourceFile) -> Iterator[VerificationPolicy]:
    yield from _kyverno_policies(f)
    yield from _ivp_policies(f)
    yield from _pc_policies(f)
    yield from _gk_policies(f)


# --- webhooks -------------------------------------------------------------------------------------

# Policy engines by the names their webhooks and services carry.
POLICY_ENGINE_MARKERS = (
    "kyverno",
    "gatekeeper",
    "policy.sigstore.dev",
    "policy-controller",
    "sigstore",
    "ratify",
    "kubeward",
    "connaisseur",
)


@dataclass(frozen=True, slots=True)
class PolicyWebhook:
    """One webhook of a Validating/MutatingWebhookConfiguration that belongs to a policy engine."""

    obj: KubeObject
    node: YNode
    name: str
    engine: str


def _engine_of(obj: KubeObject, hook: YNode) -> str | None:
    texts = [obj.name or "", hook.get_str("name") or ""]
    svc = hook.dig("clientConfig", "service")
    if svc is not None:
        texts += [svc.get_str("name") or "", svc.get_str("namespace") or ""]
    client = hook.get("clientConfig")
    if client is not None:
        texts.append(client.get_str("url") or "")
    low = " ".join(texts).lower()
    for marker in POLICY_ENGINE_MARKERS:
        if marker in low:
            return marker
    return None


@provider(PolicyWebhook)
def policy_webhooks(f: SourceFile) -> Iterator[PolicyWebhook]:
    for obj in instances_in(f, KubeObject):
        if obj.group != "admissionregistration.k8s.io" or obj.kind not in (
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration",
        ):
            continue
        hooks = obj.node.get("webhooks")
        for hook in hooks.seq() if hooks is not None else []:
            if not hook.is_map:
                continue
            engine = _engine_of(obj, hook)
            if engine is not None:
                yield PolicyWebhook(obj, hook, hook.get_str("name") or "<unnamed>", engine)


# --- coverage across the scan ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyCoverage:
    """The workload images of a whole scan beside the verification policies of the scan.

    `repo_constraints` are Gatekeeper constraints that restrict repositories (shown as context:
    they admit an unsigned copy from an allowed repository).
    """

    images: tuple[ImageUse, ...]
    policies: tuple[VerificationPolicy, ...]
    repo_constraints: tuple[KubeObject, ...]
    # Namespaces the scan declares that do not opt in to policy-controller.
    not_opted_in: frozenset[str] = frozenset()
    # Labels of the Namespace objects of the scan, by name.
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    kustomize: KustomizeNamespaces = field(default_factory=lambda: KustomizeNamespaces({}))
    # What makes a namespace opt in to policy-controller, and where the scan says so.
    opt_in: str = 'the label policy.sigstore.dev/include: "true"'
    opt_in_span: Span | None = None
    # Built on first use: the policies by the literal prefix of their patterns, and per image
    # the policies that can cover it (`candidates`).
    _index: PrefixIndex | None = field(default=None, init=False, repr=False, compare=False)
    _always: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)
    _per_image: dict[ImageRef, tuple[VerificationPolicy, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def candidates(self, ref: ImageRef) -> tuple[VerificationPolicy, ...]:
        """The policies whose `covering` can be other than None for `ref`, in scan order:
        those matching every image, and those with a pattern whose literal prefix starts a
        name the image is compared under (`kubeward.policy.prefix`). The others cannot cover
        it whatever the target, so `covering` need not ask them."""
        got = self._per_image.get(ref)
        if got is not None:
            return got
        index = self._index
        if index is None:
            index = PrefixIndex()
            for i, p in enumerate(self.policies):
                for pat in p.patterns:
                    index.add(pat.text, i)
            object.__setattr__(self, "_index", index)
            always = tuple(i for i, p in enumerate(self.policies) if p.match_all)
            object.__setattr__(self, "_always", always)
        names = (*kyverno_forms(ref), policy_controller.reference_name(ref))
        hits = index.candidates(names).union(self._always)
        got = tuple(self.policies[i] for i in sorted(hits))
        self._per_image[ref] = got
        return got

    def targets_of(self, use: ImageUse) -> list[Target]:
        """Where the image is admitted: one target per namespace it is deployed to (Kustomize
        `namespace:` included), with the labels selectors look at."""
        c = use.container
        if c is None:
            return [Target()]
        obj = c.workload.obj
        labels = (
            labels_of(obj.node.dig("metadata", "labels")),
            labels_of(_pod_template_labels(obj)),
        )
        admitted = _admitted(obj, own=labels[0], pods=labels[1])
        return [
            Target(
                namespace=ns,
                labels=labels,
                admitted=admitted,
                namespace_labels=self.namespace_labels.get(ns) if ns is not None else None,
            )
            for ns in self._namespaces(use, obj)
        ]

    def _namespaces(self, use: ImageUse, obj: KubeObject) -> tuple[str | None, ...]:
        if use.namespaces:  # decided per overlay while resolving Kustomize images
            return tuple(dict.fromkeys(obj.namespace if n is None else n for n in use.namespaces))
        return self.kustomize.of(obj.file.rel, obj.namespace)

    def covering(
        self, ref: ImageRef, namespace: str | None = None, *, target: Target | None = None
    ) -> list[tuple[VerificationPolicy, str]]:
        """The policies that apply to `ref` there, with the pattern that matched. A policy
        that an Audit override turns off there is returned as not enforcing."""
        t = target if target is not None else Target(namespace=namespace)
        out = []
        for p in self.candidates(ref):
            pattern = p.covering(ref, target=t)
            if pattern is None or self.skipped_by_opt_in(p, t.namespace):
                continue
            override = p.audit_override(t) if p.enforcing else None
            if override is not None:
                p = replace(
                    p,
                    enforcing=False,
                    not_enforcing_why="validationFailureActionOverrides sets Audit in namespace "
                    f"{t.namespace}",
                    mode_span=override.span,
                )
            out.append((p, pattern))
        return out

    def skipped_by_opt_in(self, p: VerificationPolicy, namespace: str | None) -> bool:
        """policy-controller only admits-checks namespaces labelled to opt in."""
        return p.engine == POLICY_CONTROLLER and namespace in self.not_opted_in


# Image uses that a workload runs: containers as written, as a Kustomize overlay sets them, and
# the images a chart's values give its workloads.
WORKLOAD_ORIGINS = frozenset({"container", "kustomize-images", "kustomize-image", "helm-values"})


def namespace_of(use: ImageUse) -> str | None:
    """The namespace a workload image runs in, when the manifest says."""
    if use.container is None:
        return None
    return use.container.workload.obj.namespace


def _pod_template_labels(obj: KubeObject) -> YNode | None:
    """The labels of the pods a workload creates (a Pod's own labels)."""
    if obj.kind == "Pod":
        return obj.node.dig("metadata", "labels")
    if obj.kind == "CronJob":
        return obj.node.dig("spec", "jobTemplate", "spec", "template", "metadata", "labels")
    return obj.node.dig("spec", "template", "metadata", "labels")


def _admitted(
    obj: KubeObject, *, own: Mapping[str, str], pods: Mapping[str, str]
) -> tuple[tuple[str, Mapping[str, str]], ...]:
    """The objects admission sees for a workload's images, with their own labels: the
    workload, the ReplicaSet a Deployment creates (with the pod template's labels) or the Job a
    CronJob creates (with its jobTemplate's), and the pods."""
    if obj.kind == "Pod":
        return (("Pod", pods),)
    out: list[tuple[str, Mapping[str, str]]] = [(obj.kind or "", own)]
    if obj.kind == "Deployment":
        out.append(("ReplicaSet", pods))
    elif obj.kind == "CronJob":
        job = labels_of(obj.node.dig("spec", "jobTemplate", "metadata", "labels"))
        out.append(("Job", job))
    out.append(("Pod", pods))
    return tuple(out)


@scan_provider(PolicyCoverage)
def policy_coverage(scan: ScanContext) -> Iterator[PolicyCoverage]:
    images = tuple(
        u for u in scan.instances(ImageUse) if u.origin in WORKLOAD_ORIGINS and u.ref.is_resolved
    )
    policies = tuple(scan.instances(VerificationPolicy))
    repos = tuple(
        o
        for o in scan.instances(KubeObject)
        if is_gatekeeper_constraint(o) and o.kind in ("K8sAllowedRepos", "K8sAllowedReposv2")
    )
    namespaces = [
        o for o in scan.instances(KubeObject) if o.kind == "Namespace" and o.group == "" and o.name
    ]
    ns_labels = {str(o.name): labels_of(o.node.dig("metadata", "labels")) for o in namespaces}
    hook = _pc_webhook_selector(scan)
    if hook is not None:
        # The scan deploys policy-controller's webhook: its namespaceSelector decides.
        selector, span = hook
        not_opted_in = frozenset(
            n for n, lab in ns_labels.items() if not selector.matches({**lab, _NAME_LABEL: n})
        )
        opt_in = f"the namespaceSelector ({selector.describe()}) of policy-controller's webhook"
    else:
        not_opted_in = frozenset(str(o.name) for o in namespaces if not _opts_in(o))
        opt_in, span = f'the label {PC_INCLUDE_LABEL}: "true"', None
    kustomize = scan.instances(KustomizeNamespaces)
    yield PolicyCoverage(
        images,
        policies,
        repos,
        not_opted_in,
        namespace_labels=ns_labels,
        kustomize=kustomize[0] if kustomize else KustomizeNamespaces({}),
        opt_in=opt_in,
        opt_in_span=span,
    )


_NAME_LABEL = "kubernetes.io/metadata.name"
_PC_ENGINES = frozenset({"policy.sigstore.dev", "policy-controller", "sigstore"})


def _pc_webhook_selector(scan: ScanContext) -> tuple[LabelSelector, Span] | None:
    """The namespaceSelector of policy-controller's validating webhook, when the scan has it."""
    for hook in scan.instances(PolicyWebhook):
        if hook.engine not in _PC_ENGINES or hook.obj.kind != "ValidatingWebhookConfiguration":
            continue
        node = hook.node.get("namespaceSelector")
        selector = parse_selector(node)
        if node is not None and selector is not None and not selector.templated:
            return selector, node.span
    return None


PC_INCLUDE_LABEL = "policy.sigstore.dev/include"


def _opts_in(ns: KubeObject) -> bool:
    labels = ns.node.dig("metadata", "labels")
    value = labels.get(PC_INCLUDE_LABEL) if labels is not None else None
    return value is not None and (value.text or "").lower() == "true"


# --- ImagePolicyWebhook -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImagePolicyConfig:
    """An ImagePolicyWebhook configuration: the `imagePolicy` map of an AdmissionConfiguration
    plugin entry, or of a standalone configuration file."""

    node: YNode  # the imagePolicy map
    where: str


def _image_policy_maps(doc: YNode) -> Iterator[tuple[YNode, str]]:
    if not doc.is_map:
        return
    direct = doc.get("imagePolicy")
    if direct is not None and direct.is_map:
        yield direct, "ImagePolicyWebhook configuration"
    if doc.get_str("kind") != "AdmissionConfiguration":
        return
    plugins = doc.get("plugins")
    for plugin in plugins.seq() if plugins is not None else []:
        if plugin.get_str("name") != "ImagePolicyWebhook":
            continue
        conf = plugin.dig("configuration", "imagePolicy")
        if conf is not None and conf.is_map:
            yield conf, "ImagePolicyWebhook plugin of AdmissionConfiguration"


@provider(ImagePolicyConfig)
def image_policy_configs(f: SourceFile) -> Iterator[ImagePolicyConfig]:
    for doc in f.documents:
        for node, where in _image_policy_maps(doc):
            yield ImagePolicyConfig(node, where)
