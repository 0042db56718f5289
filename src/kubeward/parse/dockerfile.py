"""Dockerfiles through BuildKit's own parser (the `dockerfile` package).

BuildKit gives each instruction its first and last line; columns are found in the source text
by the callers that need them (`SourceFile.find_span`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dockerfile as _bk


class DockerfileError(ValueError):
    pass


class DockerfileLimitError(DockerfileError):
    """The file is over one of the budgets below: not parsed, not malformed."""


# Budgets a Dockerfile must fit before BuildKit's parser sees it (docs/limits.md). That parser
# is quadratic in the lines of one continued instruction (60,000 lines: 4 to 20 s) and in the
# length of one word (a 60,000-character word: 0.75 s; 150 of them: 84 s). Each budget is far
# above what real Dockerfiles use: of the 240 in ../shared/corpora the largest has 10 KB
# and 298 lines, the longest continued instruction 110 lines, the longest word 156 characters.
MAX_CHARS = 1024 * 1024
MAX_LINES = 20_000
MAX_CONTINUED_LINES = 2_000
MAX_WORD = 4096
_CONTINUATION_RE = re.compile(r"[\\`][ \t]*\r?\n")


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
    _check_budget(text)
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


def _check_budget(text: str) -> None:
    """Refuse, before BuildKit sees it, a Dockerfile over one of the budgets above. Both escape
    characters (`\\` and the `` ` `` of `# escape=`) count as continuations, and blank and
    comment lines do not end one, so this over-counts rather than lets a costly input through.
    Every step is linear (C-level string operations, one pass over the lines)."""
    if len(text) > MAX_CHARS:
        raise DockerfileLimitError(
            f"{len(text)} characters, over the limit of {MAX_CHARS} kubeward parses in a Dockerfile"
        )
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines > MAX_LINES:
        raise DockerfileLimitError(
            f"{lines} lines, over the limit of {MAX_LINES} kubeward parses in a Dockerfile"
        )
    if "\\" not in text and "`" not in text:
        joined = text
    else:
        run = longest = 0
        for line in text.split("\n"):
            body = line.rstrip()
            if body.endswith(("\\", "`")):
                run += 1
                longest = max(longest, run)
            elif body and not body.lstrip().startswith("#"):
                run = 0
        if longest > MAX_CONTINUED_LINES:
            raise DockerfileLimitError(
                f"an instruction continued over {longest} lines, over the limit of "
                f"{MAX_CONTINUED_LINES} kubeward parses"
            )
        joined = _CONTINUATION_RE.sub("", text)
    if len(joined) > MAX_WORD:
        word = max(map(len, joined.split()), default=0)
        if word > MAX_WORD:
            raise DockerfileLimitError(
                f"a word of {word} characters, over the limit of {MAX_WORD} kubeward parses"
            )
