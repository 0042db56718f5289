"""The report's "cluster posture" section: per namespace, what runs and how much of it is
pinned, signed, admitted and drifting (only for scans with a cluster snapshot)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from kubeward.model.runtime import RunningContainer, RunningTag, VerifiedRunning
from kubeward.registry import report_section
from kubeward.results import Section
from kubeward.scan_context import ScanContext


def _verified(ctx: ScanContext) -> dict[int, str] | None:
    """id(RunningContainer) -> verdict, when signatures were checked (`--verify-images`
    online, `--verify-results` offline); None when they were not."""
    view = ctx.cluster
    if view is None or not (view.verified_online or view.verify_results is not None):
        return None
    return {id(v.container): v.result.verdict.value for v in ctx.instances(VerifiedRunning)}


def _admitted(ctx: ScanContext, c: RunningContainer) -> bool | None:
    view = ctx.cluster
    run = c.running_ref
    if view is None or view.ledger is None:
        return None
    if run is None or run.digest is None:
        return False
    if any(r.admitted for r in view.ledger.for_digest(run.name, run.digest)):
        return True
    return any(  # an admitted index whose platform manifest runs
        _same(ctx, d, run.digest) for d in view.ledger.admitted(run.name, c.pod.namespace)
    )


def _same(ctx: ScanContext, a: str, b: str) -> bool:
    """One image set (equal, or index and platform manifest of a known index)."""
    return a == b or (ctx.cluster is not None and ctx.cluster.indexes.related(a, b) is True)


def _moved(ctx: ScanContext) -> set[int]:
    """The containers of tags that run as digests no known index ties together."""
    out: set[int] = set()
    for group in ctx.instances(RunningTag):
        by = group.digests()
        first = next(iter(by), None)
        if first is not None and any(not _same(ctx, first, d) for d in by):
            out |= {id(c) for cs in by.values() for c in cs}
    return out


_COLUMNS = ("running", "pinned", "signed", "admitted", "drifting", "side-loaded")


@report_section
def posture_section(ctx: ScanContext) -> Iterator[Section]:
    """One row per namespace of the snapshot's running containers. `signed` and `admitted`
    are '-' when not checked (no --verify-images, no --admission-ledger); `drifting` counts
    containers whose running digest differs from the pin, or whose tag runs as several
    digests, where no known index ties the digests together."""
    if ctx.cluster is None:
        return
    running = [c for c in ctx.instances(RunningContainer) if c.image_id is not None]
    if not running:
        return
    verified = _verified(ctx)
    moved = _moved(ctx)
    counts: dict[str, Counter[str]] = {}
    for c in running:
        n = counts.setdefault(c.pod.namespace, Counter())
        spec, iid = c.spec_image, c.image_id
        assert iid is not None
        pinned = spec is not None and spec.digest is not None
        drift = (
            spec is not None
            and spec.digest is not None
            and iid.digest is not None
            and not _same(ctx, spec.digest, iid.digest)
        )
        n.update(
            {
                "running": 1,
                "pinned": int(pinned),
                "signed": int(verified is not None and verified.get(id(c)) == "pass"),
                "admitted": int(bool(_admitted(ctx, c))),
                "drifting": int(drift or id(c) in moved),
                "side-loaded": int(iid.side_loaded),
            }
        )
    unchecked = {"signed": verified is None, "admitted": ctx.cluster.ledger is None}
    rows: list[dict[str, object]] = []
    for ns in sorted(counts):
        row: dict[str, object] = {"namespace": ns}
        for col in _COLUMNS:
            row[col] = "-" if unchecked.get(col) else counts[ns][col]
        rows.append(row)
    yield Section(
        id="cluster-posture",
        title="Cluster posture: running containers per namespace",
        rows=rows,
    )
