"""The `scan` options of the cluster view, and turning them into a `ClusterInput`.

`--cluster FILE|DIR` (repeatable) names dumps; `--kubeconfig`/`--context` read a live
cluster instead (or as well); `--admission-ledger` and `--image-index` give what the runtime
rules judge the running digests against. PATHs and `--cluster` combine: one scan, one report,
every rule over the repository's files and the cluster's objects alike.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kubeward.cluster import ClusterInput
from kubeward.discover import Discovered, display_path
from kubeward.source import ScanError


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "cluster",
        "Scan a cluster's objects beside (or instead of) the PATHs: `kubectl get -A -o yaml` "
        "or `-o json` dumps, or a live read through a kubeconfig. Every rule runs on them; "
        "the runtime rules compare what runs with the specs, the admission ledger and, with "
        "--verify-images, the signatures (docs/cluster.md).",
    )
    g.add_argument(
        "--cluster",
        action="append",
        default=[],
        type=Path,
        metavar="FILE|DIR",
        help="a cluster dump, or a folder of dumps (.yaml, .yml, .json); repeatable",
    )
    g.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="FILE",
        help="read the cluster live through this kubeconfig (needs kubeward[cluster])",
    )
    g.add_argument("--context", metavar="NAME", help="the kubeconfig context to read")
    g.add_argument(
        "--save-snapshot",
        type=Path,
        metavar="DIR",
        help="keep the live read's dump files in DIR (findings point at them)",
    )
    g.add_argument(
        "--admission-ledger",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="kubeward gate's admission ledger (JSON lines) to check running digests against",
    )
    g.add_argument(
        "--verify-results",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="`kubeward verify --format json` output: judge running digests offline with it",
    )
    g.add_argument(
        "--image-index",
        action="append",
        default=[],
        type=Path,
        metavar="FILE|DIR",
        help="OCI image index / manifest list JSON files, to tell platform digests from drift",
    )


def wants_cluster(args: argparse.Namespace) -> bool:
    return bool(args.cluster or args.kubeconfig or args.context)


def check_args(args: argparse.Namespace) -> None:
    """Raise ValueError for option combinations that cannot work (before anything runs)."""
    cluster = wants_cluster(args)
    if not args.paths and not cluster:
        raise ValueError("give a PATH to scan, --cluster FILE|DIR, or --kubeconfig")
    for flag in ("admission_ledger", "image_index", "verify_results"):
        if getattr(args, flag) and not cluster:
            name = "--" + flag.replace("_", "-")
            raise ValueError(f"{name} only applies with --cluster or --kubeconfig")
    if args.save_snapshot is not None and not (args.kubeconfig or args.context):
        raise ValueError("--save-snapshot only applies to a live read (--kubeconfig)")
    for p in (*args.cluster, *args.admission_ledger, *args.image_index, *args.verify_results):
        if not p.exists():
            raise ValueError(f"{display_path(p.as_posix())}: no such file or directory")
    save = args.save_snapshot
    if save is not None and save.exists() and (not save.is_dir() or any(save.iterdir())):
        raise ValueError(f"{save}: --save-snapshot needs a new or empty directory")


@contextlib.contextmanager
def cluster_input(args: argparse.Namespace) -> Iterator[ClusterInput | None]:
    """The cluster side of the scan; a live read's temporary files live as long as this.

    Raises `kubeward.cluster.live.LiveReadError` (a usage error) when the kubeconfig cannot
    be used."""
    if not wants_cluster(args):
        yield None
        return
    extra: list[Discovered] = []
    errors: list[ScanError] = []
    tmp: str | None = None
    try:
        if args.kubeconfig is not None or args.context is not None:
            from kubeward.cluster.live import client_getter, read_live

            get, context = client_getter(args.kubeconfig, args.context)
            if args.save_snapshot is not None:
                out = args.save_snapshot
                out.mkdir(parents=True, exist_ok=True)
                prefix = display_path(out.as_posix().rstrip("/"))
            else:
                tmp = tempfile.mkdtemp(prefix="kubeward-live-")
                out, prefix = Path(tmp), None
            extra, errors = read_live(get, context, out, shown_prefix=prefix)
        yield ClusterInput(
            snapshots=tuple(args.cluster),
            ledgers=tuple(args.admission_ledger),
            indexes=tuple(args.image_index),
            verify_results=tuple(args.verify_results),
            extra=tuple(extra),
            extra_errors=tuple(errors),
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
