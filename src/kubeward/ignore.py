"""What a scan's walk leaves out, in gitignore semantics (the `pathspec` package).

Three sources, later ones deciding over earlier ones for a path they match:

1. The repository's `.gitignore` files inside the scan root: the root's and nested ones, each
   read relative to its own directory, a deeper one over a shallower one (as git does). A
   file git tracks is scanned even when a `.gitignore` names it: the scanned repository is
   untrusted, and a committed manifest must not hide behind its own `.gitignore`. Tracked
   files come from `git ls-files` (run hardened, as for the commit checks); when git cannot
   tell in a work tree, no `.gitignore` is applied.
2. `--exclude` and the configuration's `ignore-paths`/`exclude`, relative to the scan root,
   with `!` negation (which also takes a path back from a `.gitignore`).

As in git, a path inside an excluded directory cannot be taken back by `!` (the walk does not
enter the directory), unless git tracks files in it.

Reports and baselines kubeward wrote into the tree are not scanned: see `is_kubeward_output`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pathspec

MAX_GITIGNORE_BYTES = 1024 * 1024
"""A larger `.gitignore` is not read (hostile input: its patterns are compiled)."""


class Ignore:
    """The skip decisions of one scan root's walk (paths relative to the root, `/`-separated)."""

    def __init__(self, root: Path, patterns: Sequence[str], *, gitignore: bool = True) -> None:
        self.root = root
        lines = [p.strip() for p in patterns if p.strip()]
        self.cli = pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
        self.gitignore = gitignore
        self.specs: dict[str, pathspec.GitIgnoreSpec] = {}  # directory (rel) -> its .gitignore
        self._tracked: tuple[frozenset[str], frozenset[str]] | None = None
        self._tracked_known = True

    def enter(self, rel_dir: str, dirpath: str) -> None:
        """Read the `.gitignore` of a directory the walk enters (before its entries)."""
        if not self.gitignore:
            return
        path = os.path.join(dirpath, ".gitignore")
        try:
            if os.path.islink(path) or not os.path.isfile(path):
                return
            if os.path.getsize(path) > MAX_GITIGNORE_BYTES:
                return
            with open(path, "rb") as f:
                text = f.read(MAX_GITIGNORE_BYTES).decode("utf-8", "surrogateescape")
        except OSError:
            return
        spec = pathspec.GitIgnoreSpec.from_lines(text.splitlines())
        if spec.patterns:
            self.specs[rel_dir] = spec

    def skip(self, rel: str, *, is_dir: bool) -> bool:
        probe = rel + "/" if is_dir else rel
        ignored = False
        if self.specs:
            parts = rel.split("/")
            for i in range(len(parts)):  # the root's .gitignore first, the deepest last
                d = "/".join(parts[:i])
                spec = self.specs.get(d)
                if spec is None:
                    continue
                decided = spec.check_file(probe[len(d) + 1 :] if d else probe).include
                if decided is not None:
                    ignored = decided
            if ignored and self._is_tracked(rel, is_dir=is_dir):
                ignored = False
        if self.cli is not None:
            decided = self.cli.check_file(probe).include
            if decided is not None:
                ignored = decided
        return ignored

    def _is_tracked(self, rel: str, *, is_dir: bool) -> bool:
        if self._tracked is None:
            self._tracked = self._ls_files()
        if not self._tracked_known:
            return True  # git could not tell: no .gitignore applies
        files, dirs = self._tracked
        return rel in (dirs if is_dir else files)

    def _ls_files(self) -> tuple[frozenset[str], frozenset[str]]:
        from kubeward.gitsource import GitBudget, GitError, _git_bytes

        in_work_tree = any(os.path.lexists(d / ".git") for d in (self.root, *self.root.parents))
        try:
            code, out, _err, cut = _git_bytes(
                ["ls-files", "-z", "--cached"], cwd=self.root, budget=GitBudget()
            )
        except (GitError, OSError):
            code, out, cut = 1, b"", False
        if code != 0 or cut:
            self._tracked_known = not in_work_tree
            return frozenset(), frozenset()
        files = frozenset(os.fsdecode(p) for p in out.split(b"\0") if p)
        dirs = {f.rsplit("/", i)[0] for f in files for i in range(1, f.count("/") + 1)}
        return files, frozenset(dirs)


# The first bytes of what kubeward writes: the JSON report, the SARIF log, the baseline.
_SIGNATURES = (
    (
        re.compile(
            rb'\A\{\s*"schema_version"\s*:\s*\d+\s*,\s*"tool"\s*:\s*\{\s*"name"\s*:\s*"kubeward"'
        ),
        frozenset(
            {
                "schema_version",
                "tool",
                "roots",
                "config",
                "summary",
                "findings",
                "suppressed",
                "errors",
                "unused_suppressions",
                "sections",
            }
        ),
    ),
    (
        re.compile(
            rb'\A\{\s*"\$schema"\s*:\s*"[^"]*sarif[^"]*"\s*,\s*"version"\s*:\s*"2\.1\.0"\s*,'
            rb'\s*"runs"\s*:\s*\[\s*\{\s*"tool"\s*:\s*\{\s*"driver"\s*:\s*\{\s*"name"\s*:\s*"kubeward"'
        ),
        frozenset({"$schema", "version", "runs"}),
    ),
    (
        re.compile(rb'\A\{\s*"kubeward_baseline"\s*:\s*\d+\s*,'),
        frozenset({"kubeward_baseline", "findings"}),
    ),
)
_HEAD = 512
MAX_OUTPUT_CHECK_BYTES = 256 * 1024 * 1024


def is_kubeward_output(path: str, size: int) -> bool:
    """Whether a `.json` file is a report or baseline kubeward wrote (`-f json=FILE`,
    `-f sarif=FILE`, `--write-baseline FILE`): its first bytes are kubeward's own, and the
    whole file is one JSON object with only the top-level keys kubeward writes in that format.

    The second test is what keeps this from hiding anything: a Kubernetes object needs
    `apiVersion` and `kind`, a kubeconfig or a Docker `auths` file their own keys, all at the
    top level, and none of those can be in a file that passes."""
    if size > MAX_OUTPUT_CHECK_BYTES:
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
            keys = next((k for sig, k in _SIGNATURES if sig.match(head)), None)
            if keys is None:
                return False
            data = json.loads(head + f.read())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and set(data) <= keys
