"""A Kyverno attestation check requires a predicate but no condition on its content."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.policy import KyvernoImageRule
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.gitops._kyverno import _KYVERNO_API, _KYVERNO_DOCS


@rule(
    id="kyverno-attestation-without-conditions",
    layer=Layer.ADMISSION,
    severity=Severity.MEDIUM,
    references=(_KYVERNO_DOCS, _KYVERNO_API),
)
def kyverno_attestation_without_conditions(r: KyvernoImageRule) -> Iterator[Finding]:
    """A Kyverno attestation check requires a predicate but no condition on its content.

    Without `conditions`, Kyverno is satisfied by any signed statement of the predicate
    type: a provenance that names another builder or source repository, or a vulnerability
    scan full of critical findings, passes.

    ## Why it matters
    The value of provenance and scan attestations lies in what they say. Checking only that
    one exists lets an attacker attach a truthful attestation of the wrong build.

    ## Remediation
    Add conditions on the predicate:

        attestations:
          - predicateType: https://slsa.dev/provenance/v1
            conditions:
              - all:
                  - key: "{{ buildDefinition.externalParameters.workflow.repository }}"
                    operator: Equals
                    value: "https://github.com/acme/shop"
    """
    atts = r.entry.get("attestations")
    for att in atts.seq() if atts is not None else []:
        if not att.is_map:
            continue
        conds = att.get("conditions")
        if conds is not None and conds.seq():
            continue
        pt = att.get("predicateType") or att.get("type")
        span = pt.span if pt is not None else att.span
        yield Finding(
            span,
            f"attestation {pt.text if pt is not None else ''} in {r.where} has no conditions: "
            "any statement of that type passes",
        )
