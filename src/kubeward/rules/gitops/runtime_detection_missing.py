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
    `TracingPolicy`, no KubeArmor policy, no Tracee. Reported once per scan root (each PATH
    given to `kubeward scan` is its own project: runtime detection in one does not cover
    another), at an admission policy when there is one (the shallowest), else at the
    shallowest GitOps source.

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
    # The place a reader opens: an admission policy first (the policy file is where runtime
    # detection would be configured beside it), then a GitOps source, shallowest path first.
    label, span = min(
        cfg.markers,
        key=lambda m: (
            not m[0].startswith(("admission policy", "Gatekeeper")),
            m[1].path.count("/"),
            m[1].path,
            m[1].start.line,
        ),
    )
    where = f"scan root {cfg.root}" if cfg.root else "scan"
    yield Finding(
        span,
        f"the {where} configures a cluster ({len(cfg.markers)} admission policies and GitOps "
        f"sources, here {label}) but deploys no runtime detection (Falco, Tetragon, KubeArmor)",
    )
