"""Chart with remote dependencies has no `Chart.lock` (or `requirements.lock`)."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.helm import HelmChart
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.helm._links import _HELM_DEP_UPDATE


@rule(
    id="helm-chart-lock-missing",
    layer=Layer.REGISTRY,
    severity=Severity.MEDIUM,
    references=(_HELM_DEP_UPDATE,),
)
def helm_chart_lock_missing(chart: HelmChart) -> Iterator[Finding]:
    """Chart with remote dependencies has no `Chart.lock` (or `requirements.lock`).

    Without a lock, `helm dependency build` falls back to `helm dependency update` and
    resolves every dependency afresh from its repository: two builds of the same commit can
    ship different subcharts. Charts whose dependencies are all local (`file://` or vendored
    under `charts/`) need no lock.

    ## Why it matters
    The lock is the record of what was reviewed and tested; with none, the subcharts that
    reach the cluster are whatever the repositories serve on the day of the build.

    ## Remediation
    Run `helm dependency update` once, review and commit the lock it writes:

        git add mychart/Chart.lock
    """
    remote = [d for d in chart.dependencies if not d.is_local]
    if not remote or chart.lock is not None or chart.lock_error is not None:
        return
    names = ", ".join(d.name for d in remote)
    yield Finding(
        chart.anchor,
        f"chart {chart.name or chart.file.rel} has remote dependencies ({names}) but no "
        f"{chart.lock_name}",
    )
