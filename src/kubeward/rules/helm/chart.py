"""A chart's lock and its vendored packages."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.helm import HelmChart, computed_lock_digest, lock_matches
from kubeward.registry import Finding, Layer, Related, Severity, rule

_HELM_DEP_UPDATE = "https://helm.sh/docs/helm/helm_dependency_update/"
_RESOLVER = "https://github.com/helm/helm/blob/main/internal/resolver/resolver.go"


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
    id="helm-vendored-chart-without-provenance",
    layer=Layer.REGISTRY,
    severity=Severity.MEDIUM,
    references=("https://helm.sh/docs/topics/provenance/",),
)
def helm_vendored_chart_without_provenance(chart: HelmChart) -> Iterator[Finding]:
    """Vendored subchart package (`charts/*.tgz`) has no `.prov` provenance file beside it.

    A packaged dependency committed under `charts/` is installed as is. Helm's provenance file
    (`name-version.tgz.prov`, written by `helm package --sign`) holds a signed digest of the
    archive; without it nobody can check (`helm verify`, `helm install --verify`) that the
    archive is the one its publisher released.

    ## Why it matters
    A vendored archive is opaque in review: a modified subchart (an extra template, a changed
    image) hides inside a binary blob in a pull request.

    ## Remediation
    Fetch the package with its provenance and verify it, then commit both:

        helm pull oci://registry.example.com/charts/common --version 2.31.4 --prov
        helm verify charts/common-2.31.4.tgz
    """
    for v in chart.vendored:
        if v.has_prov:
            continue
        span = chart.anchor
        for d in chart.dependencies:
            if v.name.startswith(f"{d.name}-"):
                span = d.span
                break
        yield Finding(span, f"{v.rel} has no provenance file {v.rel.rsplit('/', 1)[-1]}.prov")
