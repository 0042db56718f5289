"""Runtime (layer 6): drift detection after admission."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.falco import (
    DEFAULT_RULES_FILE,
    OPTION_DISABLE,
    ClusterConfig,
    FalcoConfig,
    FalcoDisable,
    FalcoRule,
    disables_drift,
    is_drift_rule,
)
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule

_FALCO_RULES = "https://github.com/falcosecurity/rules/blob/main/rules/falco_rules.yaml"
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


@rule(
    id="falco-drift-rule-deselected",
    layer=Layer.RUNTIME,
    severity=Severity.MEDIUM,
    references=(
        "https://falco.org/docs/concepts/rules/controlling-rules/",
        "https://falco.org/docs/reference/daemon/cli-arguments/",
    ),
)
def falco_drift_rule_deselected(d: FalcoDisable) -> Iterator[Finding]:
    """Falco's configuration or command line switches off drift-detection rules by name.

    `falco.yaml`'s `rules:` selection (`- disable: {rule: ...}`, glob patterns allowed; also
    under the chart's `falco:` values) turns rules off without touching the rules files; a
    pattern like `"*"` or `"Container Drift*"` silences drift detection. So do Falco's
    command-line options in a Falco container's `command`/`args` or the chart's `extra.args`
    values: `-D <substring>` (every rule whose name contains it: `-D Drift`, `-D container`),
    `-o rules[].disable.rule=<glob>`, and `--disable-source syscall` (every syscall rule).

    ## Why it matters
    Drift detection catches executables that were not in the admitted image; switched off,
    a compromised container runs downloaded tools unnoticed.

    ## Remediation
    Disable only the rules you do not want, by exact name, and keep drift detection:

        rules:
          - disable:
              rule: "Read sensitive file untrusted"
    """
    hit = disables_drift(d)
    if not hit:
        return
    option = {"substring": "-D ", "source": "--disable-source ", "option": "-o "}.get(d.how, "")
    pattern = f"{OPTION_DISABLE}{d.pattern}" if d.how == "option" else d.pattern
    what = f"{option}{pattern!r}"
    yield Finding(d.span, f"{d.where}: {what} disables {', '.join(hit)}")


@rule(
    id="runtime-detection-missing",
    layer=Layer.RUNTIME,
    severity=Severity.LOW,
    cross_file=True,
    references=("https://falco.org/docs/", "https://tetragon.io/docs/"),
)
def runtime_detection_missing(cfg: ClusterConfig) -> Iterator[Finding]:
    """A cluster-configuration repository deploys no runtime detection.

    The scan holds admission policies (Kyverno, policy-controller, Gatekeeper) or GitOps
    sources (Flux, Argo CD), so it configures a cluster; but nothing in it deploys or
    configures runtime detection: no Falco rules or Falco workload or chart, no Tetragon
    `TracingPolicy`, no KubeArmor policy, no Tracee. Reported once, at the first policy or
    source.

    ## Why it matters
    Admission control decides what starts; only runtime detection notices what a running
    container does afterwards (new executables, a shell in a pod, an image that drifted).

    ## Remediation
    Deploy Falco with its drift rules, for instance as a Flux `HelmRelease`:

        spec:
          chart:
            spec:
              chart: falco
              sourceRef: {kind: HelmRepository, name: falcosecurity}
    """
    if not cfg.markers or cfg.runtime is not None:
        return
    label, span = min(cfg.markers, key=lambda m: (m[1].path, m[1].start.line))
    yield Finding(
        span,
        f"the scan configures a cluster ({len(cfg.markers)} admission policies and GitOps "
        f"sources, first {label}) but deploys no runtime detection (Falco, Tetragon, KubeArmor)",
    )


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
