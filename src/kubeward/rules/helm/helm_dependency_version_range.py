"""Chart dependency asks for a version range, `*`, or no version, not one exact release."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.helm import ChartRequirement, is_exact_version
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.helm._links import _HELM_DEP_UPDATE, _HELM_DEPENDENCY


@rule(
    id="helm-dependency-version-range",
    layer=Layer.REGISTRY,
    severity=Severity.MEDIUM,
    references=(_HELM_DEPENDENCY, _HELM_DEP_UPDATE),
)
def helm_dependency_version_range(req: ChartRequirement) -> Iterator[Finding]:
    """Chart dependency asks for a version range, `*`, or no version, not one exact release.

    `version: 2.x.x`, `^1.2.0`, `>=1.0.0` or `*` in `Chart.yaml` (or `requirements.yaml`), and a
    Kustomize `helmCharts` entry without an exact `version`, let the next `helm dependency
    update` (or `kustomize build --enable-helm`) pull whatever newest chart the repository
    serves in that range. A dependency whose range is pinned by a `Chart.lock` that matches its
    digest is reported at low severity: `helm dependency build` installs the locked release,
    but any `helm dependency update` moves it.

    ## Why it matters
    A chart is code that runs with the deploying identity's rights: a new release in the range,
    or one pushed by whoever takes over the repository, reaches the cluster with no review and
    no change in your repository.

    ## Remediation
    Name one exact version and keep the lock current:

        dependencies:
          - name: common
            version: 2.31.4
            repository: oci://registry-1.docker.io/bitnamicharts

    Let Renovate or Dependabot propose version bumps as reviewed changes.
    """
    if req.is_local:
        return
    v = req.version.strip() if req.version else ""
    if is_exact_version(v):
        return
    span = req.value_span("version") if req.version is not None else req.span
    if not v:
        what = "has no version, so the newest release is used"
    elif v == "*":
        what = "accepts any version ('*')"
    else:
        what = f"accepts a version range ({v})"
    if req.locked_version:
        yield Finding(
            span,
            f"{req.where} {what}; Chart.lock pins {req.locked_version}, but any "
            "`helm dependency update` moves it",
            severity=Severity.LOW,
            properties={"locked": req.locked_version},
        )
        return
    yield Finding(span, f"{req.where} {what}")
