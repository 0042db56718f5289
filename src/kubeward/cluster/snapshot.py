"""The files of a cluster snapshot: `kubectl get -A -o yaml` or `-o json` dumps.

A file named on the command line is a dump whatever its name (`kubectl get ... > cluster.out`
is common); in a folder, the `.yaml`, `.yml` and `.json` files are, walked as every scan root
is walked (no link out of the folder followed). Each is read as one YAML stream: a `List` with
`items`, several documents, or JSON (which PyYAML reads as YAML, with the same spans).
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

from kubeward.discover import Discovered, discover, display_path
from kubeward.source import FileKind, ScanError

_DUMP_EXT = (".yaml", ".yml", ".json")


def discover_snapshot(root: Path) -> tuple[list[Discovered], list[ScanError]]:
    """The dump files of one `--cluster` argument, and the problems met finding them."""
    shown = display_path(root.as_posix())
    try:
        st = os.stat(root)
    except OSError as e:
        return [], [ScanError(shown, f"cluster snapshot: {e.strerror or e}")]
    if stat.S_ISREG(st.st_mode):
        real = os.path.realpath(root)
        return [Discovered(shown, real, FileKind.YAML, st.st_size, os.path.dirname(real))], []
    if not stat.S_ISDIR(st.st_mode):
        return [], [ScanError(shown, "cluster snapshot: not a regular file or a directory")]
    items, errors = discover([root])
    dumps = [replace(d, kind=FileKind.YAML) for d in items if d.rel.lower().endswith(_DUMP_EXT)]
    if not dumps:
        errors.append(ScanError(shown, "cluster snapshot: no .yaml, .yml or .json file in it"))
    return dumps, errors
