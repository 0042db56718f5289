"""The cluster view: a snapshot of a cluster's objects scanned beside (or instead of) a repo.

`kubeward scan --cluster FILE|DIR` reads `kubectl get -A -o yaml|json` dumps; `--kubeconfig`
reads the same kinds from a live API server (`kubeward.cluster.live`). Either way the objects
become files of the one scan: every rule runs on them, with spans into the dump, and the
runtime rules (`kubeward.rules.runtime`) read what only a cluster shows: the digest each
container really runs, against the spec, the admission ledger and the signatures.

`ClusterInput` is what the command line gives; the engine calls `prepare` once, which adds
the dump files to the scan and returns the `ClusterView` the runtime providers read from the
`ScanContext`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kubeward.cluster.indexes import IndexStore, read_indexes
from kubeward.cluster.ledger import AdmissionLedger, read_ledger
from kubeward.cluster.results import VerifyResults, read_results
from kubeward.cluster.snapshot import discover_snapshot
from kubeward.discover import Discovered, display_path
from kubeward.source import ScanError


@dataclass
class ClusterView:
    """What the runtime providers and rules read: which scanned files are cluster dumps, the
    admission ledger (None when not given), and the image indexes known offline."""

    files: frozenset[str]
    ledger: AdmissionLedger | None = None
    indexes: IndexStore = field(default_factory=IndexStore)
    verify_results: VerifyResults | None = None
    verified_online: bool = False
    """Set by the `--verify-images` stage once it has verified the running digests."""

    def holds(self, rel: str) -> bool:
        return rel in self.files


@dataclass(frozen=True)
class ClusterInput:
    """The cluster side of a scan: dump files or folders, and what to judge them against.

    `extra` are dump files already written elsewhere (a live read's), with the path reports
    show for each."""

    snapshots: Sequence[Path] = ()
    ledgers: Sequence[Path] = ()
    indexes: Sequence[Path] = ()
    verify_results: Sequence[Path] = ()
    extra: Sequence[Discovered] = ()
    extra_errors: Sequence[ScanError] = ()

    def prepare(
        self, items: list[Discovered], errors: list[ScanError], *, max_size: int
    ) -> tuple[list[Discovered], ClusterView]:
        """The scan's items with the dump files added (a dump file wins over a repository
        file of the same path), and the view of them."""
        found = list(self.extra)
        errors.extend(self.extra_errors)
        for root in self.snapshots:
            got, errs = discover_snapshot(root)
            found.extend(got)
            errors.extend(errs)
        # A file named twice (overlapping --cluster folders, or a dump inside a PATH) is read
        # once, as a dump.
        unique: list[Discovered] = []
        rels: set[str] = set()
        real: set[str] = set()
        for d in found:
            path = os.path.realpath(d.abspath)
            if d.rel not in rels and path not in real:
                unique.append(d)
                rels.add(d.rel)
                real.add(path)
        repo = (d for d in items if d.rel not in rels and os.path.realpath(d.abspath) not in real)
        merged = sorted([*repo, *unique], key=lambda d: d.rel)
        ledger = read_ledger(self.ledgers, errors, max_size=max_size) if self.ledgers else None
        store = read_indexes(self.indexes, errors, max_size=max_size)
        results = read_results(self.verify_results, errors) if self.verify_results else None
        return merged, ClusterView(frozenset(rels), ledger, store, results)

    @property
    def display_roots(self) -> list[str]:
        return [display_path(p.as_posix()) for p in self.snapshots]
