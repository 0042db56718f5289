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
