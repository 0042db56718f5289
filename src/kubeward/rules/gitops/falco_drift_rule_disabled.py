"""A Falco drift-detection rule is disabled."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.falco import FalcoRule, is_drift_rule
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.gitops._falco import _FALCO_RULES

_FALCO_DOCS = "https://falco.org/docs/concepts/rules/overriding/"


@rule(
    id="falco-drift-rule-disabled",
    layer=Layer.RUNTIME,
    severity=Severity.MEDIUM,
    references=(
        _FALCO_RULES,
        _FALCO_DOCS,
        "https://falco.org/docs/concepts/rules/controlling-rules/",
    ),
)
def falco_drift_rule_disabled(r: FalcoRule) -> Iterator[Finding]:
    """A Falco drift-detection rule is disabled.

    Drift rules (`Drop and execute new binary in container`, `Container Drift Detected
    (chmod)` and `(open+create)`, `Fileless execution via memfd_create`, and custom rules
    named for drift) alert when a container runs an executable that was not in its image:
    the sign of a compromised workload fetching tools, or of an image swapped after
    admission. This rule reports such a rule set to `enabled: false` in a rules file (also
    when embedded in a ConfigMap or the chart's `customRules`).

    ## Why it matters
    Admission control judges the image once. Drift detection is what notices when the
    running container stops being that image.

    ## Remediation
    Keep the rule enabled and tune exceptions instead:

        - rule: Drop and execute new binary in container
          exceptions:
            - name: known_updaters
              fields: [container.image.repository, proc.exepath]
              values: [[ghcr.io/acme/agent, /usr/local/bin/agent-update]]
          override:
            exceptions: append
    """
    if r.enabled is False and is_drift_rule(r.name):
        yield Finding(r.enabled_span or r.span, f"Falco drift rule {r.name!r} is disabled")
