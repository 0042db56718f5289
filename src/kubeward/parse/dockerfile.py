"""Dockerfiles through BuildKit's own parser (the `dockerfile` package).

BuildKit gives each instruction its first and last line; columns are found in the source text
by the callers that need them (`SourceFile.find_span`).
"""

from __future__ import annotations

from dataclasses import dataclass

import dockerfile as _bk


class DockerfileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Heredoc:
    name: str
    content: str


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction: `cmd` upper-cased (`FROM`, `RUN`...), lines 1-based and inclusive."""

    cmd: str
    original: str
    start_line: int
    end_line: int
    flags: tuple[str, ...]
    value: tuple[str, ...]
    json: bool = False
    sub_cmd: str | None = None
    heredocs: tuple[Heredoc, ...] = ()

    def flag(self, name: str) -> str | None:
        """The value of `--name=value` (or '' for a bare `--name`), else None."""
        prefix = f"--{name}"
        for fl in self.flags:
            if fl == prefix:
                return ""
            if fl.startswith(prefix + "="):
                return fl[len(prefix) + 1 :]
        return None


def parse_dockerfile(text: str) -> list[Instruction]:
    """Parse a Dockerfile; raises `DockerfileError` with BuildKit's reason on bad input."""
    if "\x00" in text:
        raise DockerfileError("NUL byte in Dockerfile")
    try:
        commands = _bk.parse_string(text)
    except _bk.GoParseError as e:
        raise DockerfileError(str(e)) from None
    return [
        Instruction(
            cmd=c.cmd.upper(),
            original=c.original,
            start_line=c.start_line,
            end_line=c.end_line,
            flags=tuple(c.flags),
            value=tuple(c.value),
            json=bool(c.json),
            sub_cmd=c.sub_cmd,
            heredocs=tuple(Heredoc(h.name, h.content) for h in getattr(c, "heredocs", ())),
        )
        for c in commands
        if c.cmd  # BuildKit yields a command-less node for a lone continuation ('\\')
    ]
