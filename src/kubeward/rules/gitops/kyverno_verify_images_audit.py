"""Kyverno image verification runs in Audit mode, so unsigned images are admitted."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.policy import KyvernoImageRule
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.gitops._kyverno import _KYVERNO_DOCS


def _audit_overrides(r: KyvernoImageRule) -> Iterator[Finding]:
    """`validationFailureActionOverrides` entries that audit in some namespaces."""
    spec = r.obj.node.get("spec")
    overrides = spec.get("validationFailureActionOverrides") if spec is not None else None
    for o in overrides.seq() if overrides is not None else []:
        action = o.get("action")
        if action is None or (action.text or "").lower() != "audit":
            continue
        ns = o.get("namespaces")
        names = (
            ", ".join(n.text or "" for n in ns.seq()) if ns is not None else "selected namespaces"
        )
        yield Finding(
            action.span,
            f"verifyImages of {r.where} only audits in namespaces {names}: "
            "unsigned images are admitted there",
        )


@rule(
    id="kyverno-verify-images-audit",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=("5.5.1",),
    references=(_KYVERNO_DOCS, "https://kyverno.io/docs/writing-policies/validate/#failure-action"),
)
def kyverno_verify_images_audit(r: KyvernoImageRule) -> Iterator[Finding]:
    """Kyverno image verification runs in Audit mode, so unsigned images are admitted.

    A `verifyImages` rule takes its failure action from its own `failureAction` or, when that
    is absent, from the policy's `validationFailureAction`, which defaults to `Audit`. In Audit
    mode a failed signature check becomes a policy report entry and the Pod is created anyway.

    ## Why it matters
    An image-verification policy in Audit mode looks like a gate in review but stops nothing:
    an attacker who pushes an unsigned image to a referenced tag gets it scheduled, and the
    only trace is a report nobody may read (CIS 5.5.1: configure image provenance).

    ## Remediation
    Enforce the rule once the audit reports are clean:

        spec:
          validationFailureAction: Enforce   # or, per rule: verifyImages[].failureAction: Enforce
    """
    if r.action == "enforce":
        yield from _audit_overrides(r)
        return
    if r.action_node is not None:
        span = r.action_node.span
        msg = (
            f"verifyImages of {r.where} runs with failure action {r.action_node.text}: "
            "unsigned images are admitted"
        )
    else:
        key = r.rule.key_node("verifyImages")
        span = key.span if key is not None else r.entry.span
        msg = (
            f"verifyImages of {r.where} has no failure action, so it defaults to Audit: "
            "unsigned images are admitted"
        )
    yield Finding(span, msg)
