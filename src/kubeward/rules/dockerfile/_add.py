"""Shared helpers of the `ADD` rules: the remote sources an `ADD` fetches."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubeward.model.dockerfile import Dockerfile
from kubeward.parse.dockerfile import Instruction
from kubeward.rules.dockerfile._common import onbuild_of

_GIT_RE = re.compile(r"^(?:git@|git://|ssh://|[a-z+]+://[^#?]+\.git(?:[#?]|$))", re.I)


def add_sources(df: Dockerfile) -> Iterator[tuple[Instruction, str]]:
    """Sources of `ADD` and of `ONBUILD ADD`."""
    for _, ins in df.instructions():
        if (ins.cmd == "ADD" or onbuild_of(ins) == "ADD") and len(ins.value) >= 2:
            for src in ins.value[:-1]:
                yield ins, src


def has_checksum(ins: Instruction) -> bool:
    """`--checksum=` given (BuildKit's parser keeps no flags for `ONBUILD ADD`: read the text)."""
    if ins.flag("checksum"):
        return True
    return ins.cmd == "ONBUILD" and re.search(r"(?<!\S)--checksum=\S", ins.original) is not None


def is_git(src: str) -> bool:
    """A git repository URL (`git@`, `git://`, `ssh://`, or a URL ending in `.git`)."""
    return bool(_GIT_RE.match(src))
