"""The one way kubeward reads a file of the scanned repository.

The repository is attacker-controlled: a file may be a symbolic link to `/etc/shadow` or
`/dev/zero`, a FIFO that never delivers a byte, or grow while it is read. Every read of
repository content (discovered files, Helm side files, the repository's `.kubeward.yaml`) goes
through `read_bytes`, which:

- resolves the path and refuses one whose real path is outside the scan root;
- opens it with `O_NOFOLLOW` (a link swapped in after the check is refused) and `O_NONBLOCK`
  (opening a FIFO cannot block), then checks with `fstat` on the open descriptor that it is a
  regular file, so a swap between the check and the open cannot make it read a FIFO or device;
- reads at most `max_size` bytes and refuses a larger file.
"""

from __future__ import annotations

import errno
import functools
import os
import stat

_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
)


class ReadRefused(ValueError):
    """A repository file that was not read; `str()` is the reason, for an error entry."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.missing = missing  # the file does not exist (often normal for optional files)


_real_root = functools.lru_cache(maxsize=64)(os.path.realpath)


def inside(path: str, root: str) -> bool:
    """Whether `path`'s real path is `root`'s real path or below it."""
    return _within(os.path.realpath(path), _real_root(root))


def _within(real: str, real_root: str) -> bool:
    try:
        return os.path.commonpath([real_root, real]) == real_root
    except ValueError:  # different drives (Windows) or mixed absolute and relative
        return False


def read_bytes(path: str, *, root: str | None, max_size: int, hint: str = "") -> bytes:
    """The content of the repository file `path`, at most `max_size` bytes.

    `root` is the scan root the file must stay inside (None when the caller has already
    checked containment, as discovery does). `hint` is added to the over-size message (how to
    raise the limit). Raises `ReadRefused` with a reason a person can act on.
    """
    real = os.path.realpath(path)
    if root is not None and not _within(real, _real_root(root)):
        if os.path.islink(path) or real != os.path.abspath(path):
            raise ReadRefused("symbolic link points outside the scan root; not followed")
        raise ReadRefused("outside the scan root; not read")
    try:
        fd = os.open(real, _FLAGS)
    except FileNotFoundError:
        missing = not os.path.lexists(path)
        raise ReadRefused(
            "no such file" if missing else "broken symbolic link", missing=missing
        ) from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ReadRefused("symbolic link swapped in while reading; not read") from None
        raise ReadRefused(f"cannot read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ReadRefused("not a regular file (FIFO, socket or device); not read")
        if st.st_size > max_size:
            raise ReadRefused(
                f"file is {st.st_size} bytes, over the size limit of {max_size} bytes{hint}"
            )
        chunks: list[bytes] = []
        got = 0
        while got <= max_size:
            try:
                chunk = os.read(fd, min(max_size + 1 - got, 1 << 20))
            except BlockingIOError:  # a regular file never blocks; be safe all the same
                raise ReadRefused("file would block; not read") from None
            except OSError as e:
                raise ReadRefused(f"cannot read: {e.strerror or e}") from None
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > max_size:
            raise ReadRefused(f"file grew over the size limit of {max_size} bytes while reading")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str, *, root: str | None, max_size: int, hint: str = "") -> str:
    """`read_bytes` decoded as UTF-8 (a BOM is dropped); refuses binary and invalid text."""
    data = read_bytes(path, root=root, max_size=max_size, hint=hint)
    if b"\x00" in data[:8192]:
        raise ReadRefused("binary file (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ReadRefused(f"invalid UTF-8 at byte {e.start}") from None
