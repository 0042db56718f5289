"""Renderers: each turns one `Report` into one output format. Renderers never filter or decide."""

from __future__ import annotations

import enum
from typing import assert_never

from kubeward.results import Report


class Format(enum.Enum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"


def render(report: Report, fmt: Format, *, color: bool = False) -> str:
    from kubeward.report import json_out, junit, markdown, sarif, text

    if fmt is Format.TEXT:
        return text.render(report, color=color)
    if fmt is Format.JSON:
        return json_out.render(report)
    if fmt is Format.SARIF:
        return sarif.render(report)
    if fmt is Format.JUNIT:
        return junit.render(report)
    if fmt is Format.MARKDOWN:
        return markdown.render(report)
    assert_never(fmt)
