"""Falco's configuration or command line switches off drift-detection rules by name."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.falco import OPTION_DISABLE, FalcoDisable, disables_drift
from kubeward.registry import Finding, Layer, Severity, rule


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
