"""The read-only view of a whole scan that providers and cross-document rules read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from kubeward.registry import FILE_PROVIDERS, SCAN_PROVIDERS, instances_in
from kubeward.source import ScanError, SourceFile

if TYPE_CHECKING:
    from kubeward.cluster import ClusterView

T = TypeVar("T")


@dataclass
class ScanContext:
    """Every parsed file of the scan, and model instances computed once on demand."""

    files: Sequence[SourceFile]
    roots: Sequence[Path] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    _cache: dict[type, list[Any]] = field(default_factory=dict)
    # Problems met by scan-level providers and rules that are not findings (a corrupt `.git`,
    # the git time budget spent): error entries of the report, collected by the engine.
    errors: list[ScanError] = field(default_factory=list)
    # The cluster side of the scan (`scan --cluster`, `--kubeconfig`): which files are dumps
    # of a cluster's objects, the admission ledger, image indexes. None for a repository scan.
    cluster: ClusterView | None = None

    def instances(self, target: type[T]) -> list[T]:
        """All instances of a model type in the scan."""
        got = self._cache.get(target)
        if got is None:
            if target in SCAN_PROVIDERS:
                got = list(SCAN_PROVIDERS[target](self))
            elif target in FILE_PROVIDERS:
                got = [obj for f in self.files for obj in self.in_file(f, target)]
            else:
                raise KeyError(f"no provider for model type {target.__name__}")
            self._cache[target] = got
        return cast(list[T], got)

    def provide(self, target: type, instances: Iterable[object]) -> None:
        """Set the instances of a model type no provider builds (an engine `Stage`'s)."""
        self._cache[target] = list(instances)

    def in_file(self, f: SourceFile, target: type[T]) -> list[T]:
        """Instances of a file-scoped model type in one file (computed once)."""
        return instances_in(f, target)

    def file(self, rel: str) -> SourceFile | None:
        for f in self.files:
            if f.rel == rel:
                return f
        return None
