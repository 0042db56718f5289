"""A Gatekeeper image constraint only reports violations (`dryrun` or `warn`)."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import KubeObject
from kubeward.model.policy import (
    GATEKEEPER_IMAGE_KINDS,
    gatekeeper_action,
    gatekeeper_denies,
    is_gatekeeper_constraint,
)
from kubeward.registry import Finding, Layer, Severity, rule


@rule(
    id="gatekeeper-image-constraint-not-enforced",
    layer=Layer.ADMISSION,
    severity=Severity.MEDIUM,
    references=("https://open-policy-agent.github.io/gatekeeper/website/docs/violations/",),
)
def gatekeeper_image_constraint_not_enforced(obj: KubeObject) -> Iterator[Finding]:
    """A Gatekeeper image constraint only reports violations (`dryrun` or `warn`).

    Image constraints (`K8sAllowedRepos`, `K8sAllowedReposv2`, `K8sImageDigests`,
    `K8sDisallowedTags`, Ratify's `RatifyVerification`) deny a request only with
    `enforcementAction: deny` (the default), or `scoped` with a `deny` entry in
    `scopedEnforcementActions` at the `validation.gatekeeper.sh` enforcement point. `dryrun`
    records the violation in the audit results; `warn` returns a warning to the client; both
    admit the Pod.

    ## Why it matters
    A constraint in dryrun looks like a gate in the repository and stops nothing in the
    cluster.

    ## Remediation
    Enforce once the audit results are clean:

        spec:
          enforcementAction: deny
    """
    if not is_gatekeeper_constraint(obj) or obj.kind not in GATEKEEPER_IMAGE_KINDS:
        return
    action = gatekeeper_action(obj)
    if action is None or gatekeeper_denies(obj):
        return
    yield Finding(
        action.span,
        f"{obj.display} has enforcementAction: {action.text} with no deny at admission: "
        "violating images are admitted",
    )
