"""The report's "cluster posture" section: per namespace, what runs and how much of it is
pinned, signed, admitted and drifting (only for scans with a cluster snapshot)."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.runtime import RunningContainer, RunningTag, VerifiedRunning
from kubeward.registry import report_section
from kubeward.results import Section
from kubeward.scan_context import ScanContext


def _verified(ctx: ScanContext) -> dict[int, str] | None:
    """id(RunningContainer) -> verdict, when `--verify-images` verified running digests."""
    try:
        got = ctx.instances(VerifiedRunning)
    except KeyError:  # no stage: signatures were not checked
        return None
    return {id(v.container): v.result.verdict.value for v in got}


def _admitted(ctx: ScanContext, c: RunningContainer) -> bool | None:
    view = ctx.cluster
    run = c.running_ref
    if view is None or view.ledger is None:
        return None
    if run is None or run.digest is None:
        return False
    return any(r.admitted for r in view.ledger.for_digest(run.name, run.digest))


def _moved(ctx: ScanContext) -> set[int]:
    out: set[int] = set()
    for group in ctx.instances(RunningTag):
        by = group.digests()
        if len(by) > 1:
            out |= {id(c) for cs in by.values() for c in cs}
    return out


@report_section
def posture_section(ctx: ScanContext) -> Iterator[Section]:
    """One row per namespace of the snapshot's running containers."""
    if ctx.cluster is None:
        return
    running = [c for c in ctx.instances(RunningContainer) if c.image_id is not None]
    if not running:
        return
    verified = _verified(ctx)
    moved = _moved(ctx)
    rows: dict[str, dict[str, object]] = {}
    for c in running:
        row = rows.setdefault(
            c.pod.namespace,
            {
                "namespace": c.pod.namespace,
                "running": 0,
                "pinned": 0,
                "signed": "-" if verified is None else 0,
                "admitted": "-" if ctx.cluster.ledger is None else 0,
                "drifting": 0,
                "side-loaded": 0,
            },
        )
        row["running"] = int(str(row["running"])) + 1
        spec, iid = c.spec_image, c.image_id
        assert iid is not None
        if spec is not None and spec.digest is not None:
            row["pinned"] = int(str(row["pinned"])) + 1
        if verified is not None and verified.get(id(c)) == "pass":
            row["signed"] = int(str(row["signed"])) + 1
        if _admitted(ctx, c):
            row["admitted"] = int(str(row["admitted"])) + 1
        pinned_drift = (
            spec is not None
            and spec.digest is not None
            and iid.digest
            not in (
                None,
                spec.digest,
            )
        )
        if pinned_drift or id(c) in moved:
            row["drifting"] = int(str(row["drifting"])) + 1
        if iid.side_loaded:
            row["side-loaded"] = int(str(row["side-loaded"])) + 1
    yield Section(
        id="cluster-posture",
        title="Cluster posture: running containers per namespace",
        rows=[rows[ns] for ns in sorted(rows)],
    )
