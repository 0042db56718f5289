"""A Kyverno ImageValidatingPolicy that does not deny: audit/warn only, fails open, or is off."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.policy import ImageValidatingPolicy
from kubeward.registry import Finding, Layer, Severity, rule

_IVPOL_DOCS = "https://kyverno.io/docs/policy-types/image-validating-policy/"
_IVPOL_API = (
    "https://github.com/kyverno/kyverno/blob/main/api/policies.kyverno.io/v1/"
    "imagevalidating_policy.go"
)


@rule(
    id="kyverno-image-validating-policy-not-enforced",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=("5.5.1",),
    references=(_IVPOL_DOCS, _IVPOL_API),
)
def kyverno_image_validating_policy_not_enforced(p: ImageValidatingPolicy) -> Iterator[Finding]:
    """A Kyverno ImageValidatingPolicy admits images that fail verification.

    Kyverno's newer `ImageValidatingPolicy` (and `NamespacedImageValidatingPolicy`, API group
    `policies.kyverno.io`) decides with `spec.validationActions`: `Deny` rejects the request,
    `Audit` only records a policy report entry and `Warn` only returns a warning header. An
    empty or absent list means `[Deny]`. `failurePolicy: Ignore` admits the request when the
    policy itself fails (a registry or Rekor outage, a CEL runtime error), and
    `evaluation.admission.enabled: false` turns the policy off at admission altogether. Each
    of these is reported where it is written.

    ## Why it matters
    An image-verification policy that only audits or warns looks like a gate in review but
    stops nothing: an unsigned image pushed to a referenced tag is scheduled, and the trace
    is a report or a warning nobody may read. Failing open hands the decision to whoever can
    make verification error out (CIS 5.5.1: configure image provenance).

    ## Remediation
    Deny on failure, and fail closed:

        spec:
          validationActions: [Deny]   # Audit may be added beside it
          failurePolicy: Fail
    """
    if not p.denies and p.actions_node is not None:
        yield Finding(
            p.actions_node.span,
            f"{p.obj.display} has validationActions [{', '.join(p.actions)}] without Deny: "
            "images that fail verification are admitted",
        )
    if p.failure_policy is not None:
        yield Finding(
            p.failure_policy.span,
            f"{p.obj.display} has failurePolicy: Ignore: when verification errors, the image "
            "is admitted unchecked",
        )
    if p.admission_off is not None:
        yield Finding(
            p.admission_off.span,
            f"{p.obj.display} has evaluation.admission.enabled: false: it never runs at "
            "admission, so unverified images are admitted",
        )
