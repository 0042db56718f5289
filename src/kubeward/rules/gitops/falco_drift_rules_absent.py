"""Falco is configured to load only rules files that hold no drift detection."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.falco import DEFAULT_RULES_FILE, FalcoConfig, FalcoRule, is_drift_rule
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.rules.gitops._falco import _FALCO_RULES


@rule(
    id="falco-drift-rules-absent",
    layer=Layer.RUNTIME,
    severity=Severity.MEDIUM,
    cross_file=True,
    references=(_FALCO_RULES, "https://falco.org/docs/concepts/rules/default-custom/"),
)
def falco_drift_rules_absent(cfg: FalcoConfig, ctx: RuleContext) -> Iterator[Finding]:
    """Falco is configured to load only rules files that hold no drift detection.

    Falco's `rules_files` (in `falco.yaml` or the chart's `falco:` values) replaces the
    default list. When it names only custom files, and every one of them is in the scan and
    none defines an enabled drift rule (`Drop and execute new binary in container`,
    `Container Drift Detected ...`), Falco runs without drift detection. A list that keeps
    the default `falco_rules.yaml`, or names a file outside the scan, is left alone.

    ## Why it matters
    Drift detection is the runtime check that a container still runs the image that was
    admitted; a custom rules list easily drops it without anyone noticing.

    ## Remediation
    Keep the default rules file first, then add yours:

        rules_files:
          - /etc/falco/falco_rules.yaml
          - /etc/falco/rules.d
    """
    if any(e.rstrip("/").rsplit("/", 1)[-1] == DEFAULT_RULES_FILE for e in cfg.entries):
        return
    by_name: dict[str, list[FalcoRule]] = {}
    for r in ctx.scan.instances(FalcoRule):
        if not r.embedded:
            by_name.setdefault(r.file.rel.rsplit("/", 1)[-1], []).append(r)
    names = [e.rstrip("/").rsplit("/", 1)[-1] for e in cfg.entries]
    if not all(n in by_name for n in names):
        return  # a directory or a file kubeward cannot see
    rules = [r for n in names for r in by_name[n]]
    if any(is_drift_rule(r.name) and r.enabled is not False for r in rules):
        return
    yield Finding(
        cfg.key.span,
        f"Falco loads only {', '.join(cfg.entries)}, which define no enabled drift-detection rule",
    )
