"""A policy engine's admission webhook fails open or exempts every namespace."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import KubeObject, Workload
from kubeward.model.kustomize import deployed_namespaces
from kubeward.model.labels import LabelSelector, labels_of, parse_selector
from kubeward.model.policy import PolicyWebhook
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
from kubeward.scan_context import ScanContext

# Webhook timeouts (seconds) beyond which a policy engine slows every admission noticeably.
_LONG_TIMEOUT = 15

_NAME_LABEL = "kubernetes.io/metadata.name"


def _workload_namespaces(scan: ScanContext) -> dict[str, dict[str, str]]:
    """The namespaces the scan's workloads are deployed to (as stated, or set by Kustomize),
    with what is known of their labels: the automatic name label, and the labels of a
    `Namespace` object of the scan (None-valued keys unknown otherwise)."""
    declared = {
        str(o.name): labels_of(o.node.dig("metadata", "labels"))
        for o in scan.instances(KubeObject)
        if o.kind == "Namespace" and o.group == "" and o.name
    }
    out: dict[str, dict[str, str]] = {}
    for w in scan.instances(Workload):
        for ns in deployed_namespaces(scan, w.obj.file.rel, w.obj.namespace):
            if ns is not None and ns not in out:
                out[ns] = {**declared.get(ns, {}), _NAME_LABEL: ns}
    return out


def _selects_none(
    selector: LabelSelector, namespaces: dict[str, dict[str, str]], declared: set[str]
) -> bool:
    """Whether the selector selects none of the namespaces. For a namespace the scan does not
    declare only the name label is known: a requirement on any other key counts as met."""
    for ns, labels in namespaces.items():
        if ns in declared:
            if selector.matches(labels):
                return False
            continue
        if all(r.matches(labels) for r in selector.requirements if r.key == _NAME_LABEL):
            return False
    return True


def _selects_no_workload_namespace(
    hook: PolicyWebhook, where: str, scan: ScanContext
) -> Iterator[Finding]:
    sel_node = hook.node.get("namespaceSelector")
    selector = parse_selector(sel_node)
    if sel_node is None or selector is None or selector.templated or selector.is_empty:
        return
    namespaces = _workload_namespaces(scan)
    declared = {str(o.name) for o in scan.instances(KubeObject) if o.kind == "Namespace"}
    if not namespaces or not _selects_none(selector, namespaces, declared):
        return
    listed = ", ".join(sorted(namespaces)[:6]) + (
        f" and {len(namespaces) - 6} more" if len(namespaces) > 6 else ""
    )
    # Point at the list that excludes them when there is one (a NotIn on the name label).
    span = sel_node.span
    exprs = sel_node.get("matchExpressions")
    for expr in exprs.seq() if exprs is not None else []:
        values = expr.get("values")
        if expr.get_str("operator") == "NotIn" and values is not None:
            span = values.span
            break
    yield Finding(
        span,
        f"namespaceSelector of {where} ({selector.describe()}) selects none of the namespaces "
        f"the scan deploys workloads to ({listed}): the webhook checks none of them",
    )


@rule(
    id="policy-webhook-fails-open",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cross_file=True,
    references=(
        "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#failure-policy",
    ),
)
def policy_webhook_fails_open(hook: PolicyWebhook, ctx: RuleContext) -> Iterator[Finding]:
    """A policy engine's admission webhook fails open or exempts every namespace.

    For the webhooks of Kyverno, Gatekeeper, Sigstore policy-controller, Ratify and
    kubeward: `failurePolicy: Ignore` admits every request while the engine is down or slow;
    a `namespaceSelector` that requires `kubernetes.io/metadata.name` to not exist (every
    namespace has that label) matches no namespace, and so does one that, evaluated over the
    namespaces the scan's workloads are deployed to (a `NotIn` list of every one of them, say),
    selects none of them; a `timeoutSeconds` above 15 slows every admission and, with
    `Ignore`, widens the window in which requests are admitted unchecked.

    ## Why it matters
    An attacker who can overload or crash the policy engine (or who deploys while it
    restarts) gets anything admitted when the webhook fails open.

    ## Remediation
    Fail closed and keep the timeout short:

        webhooks:
          - name: validate.kyverno.svc-fail
            failurePolicy: Fail
            timeoutSeconds: 10
    """
    node = hook.node
    where = f"webhook {hook.name} of {hook.obj.display}"
    fp = node.get("failurePolicy")
    if fp is not None and (fp.text or "") == "Ignore":
        yield Finding(
            fp.span,
            f"{where} has failurePolicy: Ignore: requests are admitted when {hook.engine} fails",
        )
    matches_nothing = False
    for key in ("namespaceSelector", "objectSelector"):
        exprs = node.dig(key, "matchExpressions")
        for expr in exprs.seq() if exprs is not None else []:
            if expr.get_str("key") == _NAME_LABEL and expr.get_str("operator") == "DoesNotExist":
                matches_nothing = True
                yield Finding(
                    expr.span, f"{key} of {where} matches no namespace: the webhook checks nothing"
                )
    if not matches_nothing:
        yield from _selects_no_workload_namespace(hook, where, ctx.scan)
    timeout = node.get("timeoutSeconds")
    if timeout is not None and timeout.int is not None and timeout.int > _LONG_TIMEOUT:
        yield Finding(
            timeout.span,
            f"{where} waits up to {timeout.int}s per request",
            severity=Severity.LOW,
            related=(
                (Related(fp.span, "and then fails open"),)
                if fp is not None and fp.text == "Ignore"
                else ()
            ),
        )
