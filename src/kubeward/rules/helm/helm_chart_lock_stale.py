"""`Chart.lock` digest does not match the chart's dependencies (out of sync)."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.helm import HelmChart, computed_lock_digest, lock_matches
from kubeward.registry import Finding, Layer, Related, Severity, rule
from kubeward.rules.helm._links import _HELM_DEP_UPDATE

_RESOLVER = "https://github.com/helm/helm/blob/main/internal/resolver/resolver.go"


def _difference(chart: HelmChart) -> str:
    assert chart.lock is not None
    locked = {str(d.get("name")): d for d in chart.lock.dependencies}
    notes = []
    for d in chart.dependencies:
        got = locked.get(d.name)
        if got is None:
            notes.append(f"{d.name} is not in the lock")
        elif str(got.get("repository") or "") != d.repository:
            notes.append(f"{d.name} is locked from {got.get('repository')}, not {d.repository}")
        elif (
            d.version
            and all(c.isdigit() or c == "." for c in d.version)
            and str(got.get("version")) != d.version
        ):
            notes.append(f"{d.name} is locked at {got.get('version')}, not {d.version}")
    declared = {d.name for d in chart.dependencies}
    notes += [f"{n} is locked but no longer declared" for n in locked if n not in declared]
    return f" ({'; '.join(notes)})" if notes else ""


@rule(
    id="helm-chart-lock-stale",
    layer=Layer.REGISTRY,
    severity=Severity.MEDIUM,
    references=(_HELM_DEP_UPDATE, _RESOLVER),
)
def helm_chart_lock_stale(chart: HelmChart) -> Iterator[Finding]:
    """`Chart.lock` digest does not match the chart's dependencies (out of sync).

    kubeward computes the lock digest the way Helm does (`resolver.HashReq`: SHA-256 over the
    JSON of the declared dependencies and the locked ones; for `apiVersion: v1` charts also
    Helm 2's `HashV2Req`) and compares it with the `digest:` recorded in the lock. A mismatch
    means `Chart.yaml` was edited after the lock was written, or the lock was edited by hand;
    `helm dependency build` refuses such a lock. Charts whose repositories are aliases
    (`@name`) cannot be checked offline and are skipped. An unreadable lock is reported too.

    ## Why it matters
    The lock no longer describes what the chart asks for, so nobody reviewed the versions that
    a rebuild will fetch, and a hand-edited lock can smuggle in a different repository.

    ## Remediation
    Regenerate the lock and commit it with the change that caused it:

        helm dependency update mychart && git add mychart/Chart.lock
    """
    if chart.lock_error is not None:
        yield Finding(chart.anchor, f"{chart.lock_name} cannot be used: {chart.lock_error}")
        return
    if chart.lock is None or not chart.dependencies:
        return
    if chart.lock.digest is None:
        yield Finding(chart.anchor, f"{chart.lock.rel} records no digest")
        return
    if lock_matches(chart) is not False:
        return
    detail = _difference(chart)
    yield Finding(
        chart.anchor,
        f"{chart.lock.rel} is out of sync with the dependencies: it records "
        f"{chart.lock.digest}, Helm computes {computed_lock_digest(chart)}{detail}",
        related=(Related(chart.lock.digest_span, "recorded digest"),),
    )
