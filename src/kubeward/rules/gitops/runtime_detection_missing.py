"""A cluster-configuration repository deploys no runtime detection."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.falco import ClusterConfig
from kubeward.registry import Finding, Layer, Severity, rule


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
