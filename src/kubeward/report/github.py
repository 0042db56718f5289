"""GitHub Actions workflow commands: one annotation per finding, as zizmor's `--format github`.

    ::error file=PATH,line=L,endLine=L,col=C,endColumn=C,title=TITLE::MESSAGE

Critical and high findings are `error`, medium `warning`, low and info `notice`. Escaping is
the runner's (actions/toolkit `packages/core/src/command.ts`, `escapeData` and
`escapeProperty`): in the message `%`, CR and LF become `%25`, `%0D`, `%0A`; in a property
also `:` and `,` become `%3A` and `%2C`. Text from the scanned repository first goes through
`visible`, so its controls and bidi characters are shown as escapes, and no line break in it
can start a workflow command of its own (`::add-mask::`, `::stop-commands::`...).

Paths are relative to the repository top (`base`), which is where GitHub looks for `file`.
"""

from __future__ import annotations

from pathlib import Path

from kubeward.registry import Severity
from kubeward.report._escape import visible
from kubeward.report.display import relative_to_base
from kubeward.results import Report

_COMMAND = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, base: Path | None = None) -> str:
    lines = []
    for r in report.results:
        s = r.span
        path = relative_to_base(s.path, base) if base is not None else s.path
        props = {
            "file": visible(path),
            "line": str(s.start.line),
            "endLine": str(s.end.line),
            "col": str(s.start.col),
            "endColumn": str(max(s.end.col, 1)),
            "title": f"kubeward {r.rule.id} ({r.severity.value}): {r.rule.title}",
        }
        shown = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
        lines.append(f"::{_COMMAND[r.severity]} {shown}::{escape_data(visible(r.message))}")
    for e in report.errors:
        where = relative_to_base(e.path, base) if base is not None else e.path
        props = {"file": visible(where), **({"line": str(e.line)} if e.line else {})}
        props["title"] = "kubeward: file not scanned"
        shown = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
        lines.append(f"::warning {shown}::{escape_data(visible(e.reason))}")
    return "".join(line + "\n" for line in lines)
