"""Renderers: each turns one `Report` into one output format. Renderers never filter or decide."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import assert_never

from kubeward.results import Report


class Format(enum.Enum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"
    HTML = "html"
    GITHUB = "github"  # workflow-command annotations
    GITLAB_SAST = "gitlab-sast"  # GitLab's security report format


def render(
    report: Report,
    fmt: Format,
    *,
    color: bool = False,
    base: Path | None = None,
    summary: bool = False,
    started: float | None = None,
    category: str | None = None,
) -> str:
    """`base`: the directory paths are made relative to in the formats a forge reads (SARIF's
    `%SRCROOT%`); None keeps the paths as the scan shows them. `summary` and `started` are the
    text report's: counts and summary only; the run's start (`time.perf_counter()`).
    `category`: SARIF's `automationDetails.id` (GitHub's category) instead of kubeward's."""
    # Each renderer is imported when asked for: `rich` (text) costs start-up time that a
    # JSON or SARIF run in CI need not pay.
    if fmt is Format.TEXT:
        from kubeward.report import text

        return text.render(report, color=color, summary=summary, started=started)
    if fmt is Format.JSON:
        from kubeward.report import json_out

        return json_out.render(report)
    if fmt is Format.SARIF:
        from kubeward.report import sarif

        return sarif.render(report, base, category)
    if fmt is Format.JUNIT:
        from kubeward.report import junit

        return junit.render(report)
    if fmt is Format.MARKDOWN:
        from kubeward.report import markdown

        return markdown.render(report)
    if fmt is Format.HTML:
        from kubeward.report import html

        return html.render(report)
    if fmt is Format.GITHUB:
        from kubeward.report import github

        return github.render(report, base)
    if fmt is Format.GITLAB_SAST:
        from kubeward.report import gitlab_sast

        return gitlab_sast.render(report, base)
    assert_never(fmt)
