"""Pipeline variables of both CI systems: GitHub `env:` and GitLab `variables:` entries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kubeward.model.gitlab import jobs_in, looks_like_gitlab
from kubeward.model.workflow import Workflow
from kubeward.parse.yamlnode import YNode
from kubeward.registry import instances_in, provider
from kubeward.source import SourceFile


@dataclass(frozen=True, slots=True)
class CiVariable:
    """One `env:` (GitHub workflow, job, step) or `variables:` (GitLab top level, job) entry."""

    file: SourceFile
    key: YNode
    value: YNode
    where: str

    @property
    def name(self) -> str:
        return str(self.key.value)


def _entries(f: SourceFile, block: YNode | None, where: str) -> Iterator[CiVariable]:
    if block is None or not block.is_map:
        return
    for k, v in block.items():
        if v.is_map:  # GitLab `VAR: {value: x, description: ...}`
            v = v.get("value") or v
        if k.is_scalar and v.is_scalar:
            yield CiVariable(f, k, v, where)


@provider(CiVariable)
def ci_variables(f: SourceFile) -> Iterator[CiVariable]:
    for wf in instances_in(f, Workflow):
        yield from _entries(f, wf.env, "the workflow env:")
        for job in wf.jobs:
            yield from _entries(f, job.env, f"env: of job {job.id}")
            for s in job.steps:
                yield from _entries(f, s.env, f"env: of {s.label} of job {job.id}")
    if looks_like_gitlab(f):
        for doc in f.documents:
            if doc.is_map:
                yield from _entries(f, doc.get("variables"), "the pipeline variables:")
        for j in jobs_in(f, f.rel):
            if j.name != "<top level>":
                yield from _entries(f, j.node.get("variables"), f"variables: of job {j.name}")
