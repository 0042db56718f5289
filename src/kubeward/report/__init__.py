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
    HTML = "html"


def render(report: Report, fmt: Format, *, color: bool = False) -> str:
    # Each renderer is imported when asked for: `rich` (text) costs start-up time that a
    # JSON or SARIF run in CI need not pay.
    if fmt is Format.TEXT:
        from kubeward.report import text

        return text.render(report, color=color)
    if fmt is Format.JSON:
        from kubeward.report import json_out

        return json_out.render(report)
    if fmt is Format.SARIF:
        from kubeward.report import sarif

        return sarif.render(report)
    if fmt is Format.JUNIT:
        from kubeward.report import junit

        return junit.render(report)
    if fmt is Format.MARKDOWN:
        from kubeward.report import markdown

        return markdown.render(report)
    if fmt is Format.HTML:
        from kubeward.report import html

        return html.render(report)
    assert_never(fmt)
