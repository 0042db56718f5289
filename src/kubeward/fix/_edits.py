"""Text edits at spans, applied to a file's own text, and shown as a unified diff."""

from __future__ import annotations

import difflib
import os
import stat
from dataclasses import dataclass

from kubeward import safe_read

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace `old` at character offsets [start, end) of the scanned text of `path`."""

    path: str
    start: int
    end: int
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class FileText:
    """A file's text as the scan read it (UTF-8, a BOM dropped), and how to write it back."""

    path: str
    text: str
    bom: bool

    @classmethod
    def read(cls, path: str, *, root: str | None, max_size: int) -> FileText:
        """Read as the scan reads (`safe_read`: inside `root`, no link, a regular file);
        raises `safe_read.ReadRefused`."""
        data = safe_read.read_bytes(path, root=root, max_size=max_size)
        text = data.decode("utf-8", "surrogateescape")
        bom = text.startswith(_BOM)
        return cls(path, text[1:] if bom else text, bom)

    def write(self, text: str) -> None:
        """Write `text` back (with the BOM it had), never through a symbolic link or into
        anything but a regular file; raises OSError."""
        data = ((_BOM if self.bom else "") + text).encode("utf-8", "surrogateescape")
        flags = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(0, "not a regular file")
            os.ftruncate(fd, 0)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


def apply(text: str, edits: list[Edit]) -> str:
    """`text` with each edit spliced in (edits must not overlap; each must still match)."""
    out: list[str] = []
    at = 0
    for e in sorted(edits, key=lambda e: e.start):
        if e.start < at:
            raise ValueError(f"{e.path}: overlapping edits at offset {e.start}")
        if text[e.start : e.end] != e.old:
            raise ValueError(f"{e.path}: the text at offset {e.start} is not {e.old!r}")
        out += [text[at : e.start], e.new]
        at = e.end
    out.append(text[at:])
    return "".join(out)


def diff(path: str, before: str, after: str) -> str:
    """A unified diff (`a/PATH`, `b/PATH`) of one file, line endings kept as they are."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
