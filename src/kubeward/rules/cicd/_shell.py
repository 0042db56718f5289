"""Shell scripts of both CI systems: a GitHub step's `run:` or a GitLab `script:` line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kubeward.model.gitlab import jobs_in, looks_like_gitlab
from kubeward.model.workflow import Workflow
from kubeward.parse.yamlnode import YNode
from kubeward.registry import instances_in, provider
from kubeward.source import SourceFile, Span


@dataclass(frozen=True, slots=True)
class ShellScript:
    """One script scalar: a GitHub step's `run:` or a GitLab script line."""

    file: SourceFile
    node: YNode
    system: str  # github | gitlab
    where: str

    @property
    def text(self) -> str:
        return self.node.text or ""

    def span_of(self, start: int, end: int) -> Span:
        """The span of `text[start:end]`, found in the raw scalar (block scalars are indented)."""
        needle = self.text[start:end].split("\n", 1)[0]
        raw = self.file.text[self.node.start.offset : self.node.end.offset]
        i = raw.find(needle) if needle else -1
        if i < 0:
            return self.node.span
        base = self.node.start.offset + i
        return self.file.span(base, base + len(needle))

    def word_span(self, start: int, end: int) -> Span:
        """The span of the word at `text[start:end]`, at its own place even when the same
        text occurs earlier in the script (`-k` in `curl -k`); `span_of` otherwise."""
        at = self._raw_offset(start)
        if at is None:
            return self.span_of(start, end)
        line_end = self.text.find("\n", start)
        length = (line_end if 0 <= line_end < end else end) - start
        return self.file.span(at, at + max(length, 0))

    def _raw_offset(self, start: int) -> int | None:
        """The file offset of `text[start]`, found by locating each script line in order in
        the raw scalar (a block scalar's lines are its raw lines less the indentation); None
        where a line is not there verbatim (escapes in quoted scalars, folded lines)."""
        raw = self.file.text[self.node.start.offset : self.node.end.offset]
        cursor = 0
        line_start = 0
        for line in self.text.split("\n"):
            i = raw.find(line, cursor)
            if i < 0:
                return None
            if start <= line_start + len(line):
                return self.node.start.offset + i + (start - line_start)
            cursor = i + len(line)
            line_start += len(line) + 1
        return None


@provider(ShellScript)
def shell_scripts(f: SourceFile) -> Iterator[ShellScript]:
    for wf in instances_in(f, Workflow):
        for job in wf.jobs:
            for s in job.steps:
                if s.run is not None and s.run.is_scalar:
                    yield ShellScript(f, s.run, "github", f"{s.label} of job {job.id}")
    if looks_like_gitlab(f):
        for j in jobs_in(f, f.rel):
            for line in j.script_lines():
                yield ShellScript(f, line, "gitlab", f"job {j.name}")
