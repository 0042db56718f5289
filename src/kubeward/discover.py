"""Find and classify the files of a scan in one walk.

The walk never follows a symlink out of the scan root, never descends into a symlinked
directory (so loops cannot trap it), skips `.git`, and honours `--exclude` and the
repository's `.gitignore` files in gitignore semantics (`kubeward.ignore`). What it cannot
walk (an unreadable directory, a path longer than the system allows) is an error entry, never
silently dropped.

File names are bytes, not text: a name that is not UTF-8 reaches Python with its bad bytes as
lone surrogates (PEP 383). The path reports show is `display_path`'s: each such byte written
as `\\xNN`; the file is still opened by its real name.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kubeward.ignore import Ignore, is_kubeward_output
from kubeward.source import FileKind, ScanError

# Version-control internals and installed dependencies are never the repository's own files.
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules"})

_DOCKERFILE_RE = re.compile(
    r"^(?:(?:Docker|Container)file(?:[.-].+)?|.+\.(?:[Dd]ockerfile|[Cc]ontainerfile))$"
)
_YAML_EXT = (".yaml", ".yml", ".json")
_KUSTOMIZATION = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
_VALUES_RE = re.compile(r"^values(?:[-.][^/]*)?\.ya?ml$")
# Files read only for committed key material and credentials.
_SECRET_NAME_RE = re.compile(
    r"^(?:cosign\.key|.*\.pem|.*\.key|id_(?:rsa|dsa|ecdsa|ed25519)|\.dockerconfigjson|"
    r"\.npmrc|\.pypirc|kubeconfig|.*\.kubeconfig|\.netrc|.*\.p12|.*\.pfx)$"
)


def display_path(path: str) -> str:
    """`path` as reports show it: bytes of the name that are not UTF-8 as `\\xNN` escapes
    (so the text can be encoded, and a reader sees that the name is odd)."""
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return path


@dataclass(frozen=True, slots=True)
class Discovered:
    rel: str
    abspath: str
    kind: FileKind
    size: int
    # The real path of the scan root that found the file: reads of files beside it (a chart's
    # Chart.lock) must stay inside it. For a file named on the command line, its directory.
    root: str = ""


def classify(rel: str, chart_dirs: frozenset[str] = frozenset(), root: str = "") -> FileKind | None:
    """The kind of a file by its path (None: not a file kubeward reads).

    `root` is the scan root's real path: scanning `repo/.github` still finds its workflows.
    """
    name = rel.rsplit("/", 1)[-1]
    parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
    low = name.lower()
    full_parent = f"{root}/{parent}".rstrip("/") if root else parent
    if _DOCKERFILE_RE.match(name) and not low.endswith((*_YAML_EXT, ".md", ".txt")):
        return FileKind.DOCKERFILE
    if low.endswith((".yml", ".yaml")):
        if full_parent.endswith(".github/workflows"):
            return FileKind.GHA_WORKFLOW
        if low in ("action.yml", "action.yaml"):
            return FileKind.GHA_ACTION
        if low == ".gitlab-ci.yml" or low.endswith(".gitlab-ci.yml"):
            return FileKind.GITLAB_CI
        if name == "Chart.yaml":
            return FileKind.HELM_CHART
        if name in _KUSTOMIZATION:
            return FileKind.KUSTOMIZATION
        chart = _enclosing_chart(parent, chart_dirs)
        if chart is not None:
            inner = rel[len(chart) + 1 :] if chart else rel
            if inner.startswith("templates/"):
                return FileKind.HELM_TEMPLATE
            if "/" not in inner and _VALUES_RE.match(name):
                return FileKind.HELM_VALUES
        return FileKind.YAML
    if name == "Kustomization":
        return FileKind.KUSTOMIZATION
    if low.endswith(".json"):
        return FileKind.YAML
    if low.endswith(".tpl") and _enclosing_chart(parent, chart_dirs) is not None:
        return FileKind.HELM_TEMPLATE
    if _SECRET_NAME_RE.match(name):
        return FileKind.OTHER
    return None


def _enclosing_chart(parent: str, chart_dirs: frozenset[str]) -> str | None:
    """The nearest chart directory containing `parent` (the root chart is '')."""
    d = parent
    while True:
        if d in chart_dirs:
            return d
        if not d:
            return None
        d = d.rsplit("/", 1)[0] if "/" in d else ""


def discover(
    roots: Iterable[Path], *, exclude: Sequence[str] = ()
) -> tuple[list[Discovered], list[ScanError]]:
    """Walk each root once; return the classified files (sorted) and the problems met."""
    found: dict[str, Discovered] = {}
    errors: list[ScanError] = []
    for root in roots:
        _walk_root(root, exclude, found, errors)
    return sorted(found.values(), key=lambda d: d.rel), errors


def _display_root(root: Path) -> str:
    return root.as_posix().rstrip("/")


def _walk_root(
    root: Path, exclude: Sequence[str], found: dict[str, Discovered], errors: list[ScanError]
) -> None:
    try:
        _walk_checked(root, exclude, found, errors)
    except OSError as e:  # the root itself (too long a name, a loop of links...)
        where = display_path(root.as_posix())
        errors.append(ScanError(where, f"cannot scan: {e.strerror or e}"))


def _walk_checked(
    root: Path, exclude: Sequence[str], found: dict[str, Discovered], errors: list[ScanError]
) -> None:
    if not os.path.lexists(root):
        errors.append(ScanError(display_path(str(root)), "no such file or directory"))
        return
    if root.is_file():
        # A file named on the command line: classify it by name, then by extension.
        rel = display_path(root.as_posix())
        kind = classify(root.name) or (FileKind.YAML if root.suffix.lower() in _YAML_EXT else None)
        if kind is None and root.suffix == "":
            kind = FileKind.OTHER
        if kind is not None:
            found[rel] = Discovered(
                rel, str(root.resolve()), kind, root.stat().st_size, str(root.resolve().parent)
            )
        else:
            errors.append(ScanError(rel, "not a file kind kubeward reads"))
        return
    real_root = os.path.realpath(root)
    prefix = "" if str(root) in (".", "") else _display_root(root) + "/"
    entries: list[tuple[str, str, int]] = []  # (rel, abspath, size)
    chart_dirs: set[str] = set()

    def walk_error(e: OSError) -> None:
        # A directory os.walk could not list: unreadable, or its path too long for the system.
        name = os.fsdecode(e.filename) if e.filename is not None else str(root)
        rel = os.path.relpath(name, root).replace(os.sep, "/")
        rel = "" if rel == "." else rel
        where = display_path((prefix + rel) if rel else _display_root(root))
        errors.append(ScanError(where, f"cannot read directory: {e.strerror or e}; not scanned"))

    ignore = Ignore(root, exclude)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=walk_error):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir
        ignore.enter(rel_dir, dirpath)
        kept = []
        for d in sorted(dirnames):
            rel = f"{rel_dir}/{d}" if rel_dir else d
            if d in SKIP_DIRS or ignore.skip(rel, is_dir=True):
                continue
            if os.path.isfile(os.path.join(dirpath, d, "pyvenv.cfg")):
                continue  # a Python virtualenv: installed packages, not the repository's files
            if os.path.islink(os.path.join(dirpath, d)):
                # Never descend into a symlinked directory: its target, if inside the root,
                # is walked under its real path; outside, it is not ours; loops cannot form.
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if ignore.skip(rel, is_dir=False):
                continue
            full = os.path.join(dirpath, name)
            if name == "Chart.yaml":
                chart_dirs.add(rel_dir)
            if os.path.islink(full):
                target = os.path.realpath(full)
                if not os.path.exists(target):
                    errors.append(ScanError(prefix + rel, "broken symbolic link"))
                    continue
                if os.path.commonpath([real_root, target]) != real_root:
                    errors.append(
                        ScanError(
                            prefix + rel, "symbolic link points outside the scan root; not followed"
                        )
                    )
                    continue
                if not os.path.isfile(target):
                    continue
                full = target
            try:
                st = os.stat(full)
            except OSError as e:
                errors.append(ScanError(prefix + rel, f"cannot stat: {e.strerror}"))
                continue
            if not stat.S_ISREG(st.st_mode):
                if classify(rel, frozenset()) is not None:
                    errors.append(
                        ScanError(
                            prefix + rel, "not a regular file (FIFO, socket or device); not read"
                        )
                    )
                continue
            entries.append((rel, full, st.st_size))
    charts = frozenset(chart_dirs)
    for rel, full, size in entries:
        kind = classify(rel, charts, real_root)
        if kind is FileKind.YAML and rel.endswith(".json") and is_kubeward_output(full, size):
            continue  # a report or baseline kubeward wrote (kubeward.ignore)
        if kind is not None:
            shown = display_path(prefix + rel)
            other = found.get(shown)
            if other is not None and other.abspath != full:
                # `a\xff.yaml` may be the name of a file as well as the display of the byte
                # 0xff: never let one name hide the other silently.
                errors.append(
                    ScanError(
                        shown,
                        "another file's name is shown the same (bytes that are not UTF-8 in a "
                        "name); this one was not scanned",
                    )
                )
                continue
            found[shown] = Discovered(shown, full, kind, size, real_root)
    for i, err in enumerate(errors):
        if not err.path.isascii():
            errors[i] = ScanError(display_path(err.path), err.reason, err.line)
