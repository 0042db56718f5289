"""A chart, with its subcharts, as the in-memory `.tgz` Helm's engine loads.

Helm's own directory loader follows symbolic links anywhere on the machine, so a chart is
never loaded from disk: every file goes through `safe_read` (inside the scan root, regular
files only, bounded) into an archive held in memory, and `.Files.Get` in a template can only
see what was put there. Subcharts come from `charts/<folder>`, from `charts/*.tgz` (extracted
here, bounded and path-checked: no `..`, no absolute names, no links or devices, size caps), and
from a declared dependency that is not vendored but is in the scan (`file://` inside the scan
root, or a chart of the same name in the scanned tree, as a monorepo such as bitnami/charts
lays them out).
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from kubeward import safe_read

MAX_FILES = 5000
MAX_TOTAL_BYTES = 64 << 20
MAX_FILE_BYTES = 8 << 20
MAX_DEPTH = 6  # subcharts of subcharts
_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


class ArchiveRefused(ValueError):
    """The chart cannot be packed within the limits; `str()` says why."""


@dataclass
class ChartArchive:
    """The archive, and where each chart of it came from.

    `dirs` maps the prefix of Helm's template names (`nginx/charts/common/`) to the scan-relative
    directory of that chart, or None for a chart extracted from a `.tgz` (no scanned file).
    `notes` are things a user should know (a vendored archive refused, a dependency taken from
    the scan).
    """

    data: bytes
    name: str
    dirs: dict[str, str | None] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (scan rel path, reason)
    values_files: dict[str, str] = field(default_factory=dict)  # prefix -> values.yaml rel
    missing: list[dict[str, object]] = field(default_factory=list)  # dependencies not found

    def source_of(self, template: str) -> tuple[str | None, str]:
        """(scan rel path or None, template path inside its chart) of a rendered template."""
        best = ""
        for prefix in self.dirs:
            if template.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        if not best:
            return None, template
        rest = template[len(best) :]
        d = self.dirs[best]
        if d is None:
            return None, rest
        return (f"{d}/{rest}" if d else rest), rest


class _Packer:
    def __init__(self, root: str, charts_by_name: Mapping[str, list[tuple[str, str]]]) -> None:
        self.root = root
        self.charts_by_name = charts_by_name
        self.files: dict[str, bytes] = {}
        self.total = 0
        self.dirs: dict[str, str | None] = {}
        self.notes: list[tuple[str, str]] = []
        self.values_files: dict[str, str] = {}
        self.visiting: set[str] = set()
        self.missing: list[dict[str, object]] = []

    def _add(self, path: str, data: bytes) -> None:
        if len(self.files) >= MAX_FILES:
            raise ArchiveRefused(f"chart has over {MAX_FILES} files; not rendered")
        self.total += len(data)
        if self.total > MAX_TOTAL_BYTES:
            raise ArchiveRefused(f"chart is over {MAX_TOTAL_BYTES >> 20} MiB; not rendered")
        self.files[path] = data

    def chart(
        self, abs_dir: str, rel_dir: str, arc_prefix: str, key_prefix: str, depth: int
    ) -> str:
        """Pack the chart at `abs_dir` under `arc_prefix`; returns its name."""
        real = os.path.realpath(abs_dir)
        if depth > MAX_DEPTH or real in self.visiting:
            raise ArchiveRefused("subcharts nest too deep or include each other; not rendered")
        self.visiting.add(real)
        try:
            meta = self._read_meta(abs_dir)
            name = str(meta.get("name") or posixpath.basename(rel_dir) or "chart")
            key = f"{key_prefix}{name}/"
            self.dirs[key] = rel_dir
            self.values_files[key] = f"{rel_dir}/values.yaml" if rel_dir else "values.yaml"
            self._walk(abs_dir, rel_dir, arc_prefix, key, depth, top=True)
            self._missing_deps(abs_dir, rel_dir, arc_prefix, key, meta, depth)
            return name
        finally:
            self.visiting.discard(real)

    def _read_meta(self, abs_dir: str) -> dict[str, object]:
        try:
            raw = safe_read.read_bytes(
                os.path.join(abs_dir, "Chart.yaml"), root=self.root, max_size=1 << 20
            )
            meta = yaml.safe_load(raw)
        except (safe_read.ReadRefused, yaml.YAMLError, RecursionError) as e:
            raise ArchiveRefused(f"cannot read Chart.yaml: {e}") from None
        if not isinstance(meta, dict):
            raise ArchiveRefused("Chart.yaml holds no mapping")
        if isinstance(meta.get("dependencies"), list):
            return meta
        try:  # apiVersion v1: the dependencies are in requirements.yaml
            raw = safe_read.read_bytes(
                os.path.join(abs_dir, "requirements.yaml"), root=self.root, max_size=1 << 20
            )
            req = yaml.safe_load(raw)
            if isinstance(req, dict) and isinstance(req.get("dependencies"), list):
                meta = {**meta, "dependencies": req["dependencies"]}
        except (safe_read.ReadRefused, yaml.YAMLError, RecursionError):
            pass
        return meta

    def _walk(
        self, abs_dir: str, rel_dir: str, arc: str, key: str, depth: int, *, top: bool
    ) -> None:
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError as e:
            raise ArchiveRefused(f"cannot list {rel_dir or '.'}: {e.strerror or e}") from None
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_symlink() and entry.is_dir():
                self.notes.append((rel, "symbolic link to a directory in a chart; not followed"))
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name in _SKIP_DIRS:
                    continue
                if top and entry.name == "charts":
                    self._subcharts(entry.path, rel, f"{arc}charts/", key, depth)
                else:
                    self._walk(entry.path, rel, f"{arc}{entry.name}/", key, depth, top=False)
                continue
            try:
                data = safe_read.read_bytes(entry.path, root=self.root, max_size=MAX_FILE_BYTES)
            except safe_read.ReadRefused as e:
                # The reason as every other read gives it: one error entry for the file.
                self.notes.append((rel, str(e)))
                continue
            self._add(f"{arc}{entry.name}", data)

    def _subcharts(self, abs_dir: str, rel_dir: str, arc: str, key: str, depth: int) -> None:
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if os.path.lexists(os.path.join(entry.path, "Chart.yaml")):
                    self.chart(entry.path, rel, f"{arc}{entry.name}/", f"{key}charts/", depth + 1)
                continue
            if entry.name.endswith(".tgz") and entry.is_file(follow_symlinks=False):
                try:
                    self._tgz(entry.path, rel, arc, key)
                except ArchiveRefused as e:
                    self.notes.append((rel, f"vendored chart archive refused: {e}"))

    def _tgz(self, path: str, rel: str, arc: str, key: str) -> None:
        try:
            raw = safe_read.read_bytes(path, root=self.root, max_size=MAX_FILE_BYTES)
        except safe_read.ReadRefused as e:
            raise ArchiveRefused(str(e)) from None
        members: dict[str, bytes] = {}
        size = 0
        try:
            with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
                for m in tar:
                    name = m.name
                    parts = name.split("/")
                    if name.startswith("/") or "\\" in name or ".." in parts or ":" in parts[0]:
                        raise ArchiveRefused(f"unsafe member name {name[:100]!r}")
                    if m.isdir():
                        continue
                    if not m.isfile():
                        raise ArchiveRefused(f"member {name[:100]!r} is a link or a device")
                    size += m.size
                    if size > MAX_TOTAL_BYTES - self.total or len(members) >= MAX_FILES:
                        raise ArchiveRefused(f"over {MAX_TOTAL_BYTES >> 20} MiB or too many files")
                    fh = tar.extractfile(m)
                    if fh is None:
                        continue
                    data = fh.read(m.size + 1)
                    if len(data) != m.size:
                        raise ArchiveRefused(f"member {name[:100]!r} is not its declared size")
                    members[posixpath.normpath(name)] = data
        except (tarfile.TarError, OSError, EOFError) as e:
            raise ArchiveRefused(f"not a readable chart archive: {e}") from None
        tops = {n.split("/", 1)[0] for n in members}
        if len(tops) != 1:
            raise ArchiveRefused("does not hold exactly one chart directory")
        top = tops.pop()
        try:
            meta = yaml.safe_load(members.get(f"{top}/Chart.yaml", b""))
        except yaml.YAMLError:
            meta = None
        if not isinstance(meta, dict):
            raise ArchiveRefused("holds no Chart.yaml")
        name = str(meta.get("name") or top)
        if any(p.startswith(f"{arc}{top}/") for p in self.files):
            raise ArchiveRefused(f"a second copy of chart {top}")
        for n, data in members.items():
            self._add(f"{arc}{n}", data)
        self.dirs[f"{key}charts/{name}/"] = None

    def _missing_deps(
        self, abs_dir: str, rel_dir: str, arc: str, key: str, meta: dict[str, object], depth: int
    ) -> None:
        deps = meta.get("dependencies")
        if not isinstance(deps, list):
            return
        present = {
            p[len(f"{key}charts/") :].split("/", 1)[0]
            for p in self.dirs
            if p.startswith(f"{key}charts/")
        }
        for d in deps:
            if not isinstance(d, dict) or not isinstance(d.get("name"), str):
                continue
            name = d["name"]
            if name in present:
                continue
            repo = str(d.get("repository") or "")
            found: tuple[str, str] | None = None
            if repo.startswith("file://"):
                target = os.path.normpath(os.path.join(abs_dir, repo[len("file://") :]))
                if safe_read.inside(target, self.root) and os.path.isfile(
                    os.path.join(target, "Chart.yaml")
                ):
                    trel = os.path.relpath(target, self.root).replace(os.sep, "/")
                    found = (target, "" if trel == "." else trel)
            if found is None:
                candidates = [
                    c
                    for c in self.charts_by_name.get(name, [])
                    if safe_read.inside(c[0], self.root)
                    and os.path.realpath(c[0]) not in self.visiting  # not itself, nor a parent
                ]
                if candidates:
                    found = min(candidates, key=lambda c: _distance(c[1], rel_dir))
                    self.notes.append(
                        (
                            f"{rel_dir}/Chart.yaml" if rel_dir else "Chart.yaml",
                            f"dependency {name} is not vendored; rendered with the chart "
                            f"{found[1] or '.'} of the scan",
                        )
                    )
            if found is None:
                if depth == 0:  # a subchart's own missing dependencies are not reported
                    self.missing.append(d)
                continue
            self.chart(found[0], found[1], f"{arc}charts/{name}/", f"{key}charts/", depth + 1)
            present.add(name)


def _distance(a: str, b: str) -> int:
    pa, pb = [p for p in a.split("/") if p], [p for p in b.split("/") if p]
    common = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        common += 1
    return len(pa) + len(pb) - 2 * common


def pack_chart(
    abs_dir: str,
    rel_dir: str,
    *,
    root: str,
    charts_by_name: Mapping[str, list[tuple[str, str]]],
) -> ChartArchive:
    """The chart at `abs_dir` (scan-relative `rel_dir`) as a `.tgz` in memory.

    `charts_by_name` lists the scan's charts by name, (abs dir, rel dir) each, for
    dependencies that are declared but not vendored. Raises `ArchiveRefused`.
    """
    p = _Packer(root, charts_by_name)
    name = p.chart(abs_dir, rel_dir, "chart/", "", 0)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for path, data in p.files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return ChartArchive(
        data=buf.getvalue(),
        name=name,
        dirs=p.dirs,
        notes=p.notes,
        values_files=p.values_files,
        missing=p.missing,
    )
