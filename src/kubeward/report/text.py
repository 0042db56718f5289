"""Text for people: findings grouped by file, with the source line and a caret under the span,
then a summary by layer and severity. Colour only when asked (the CLI asks on a terminal).

Text from the scanned repository is passed through `_show`: controls, ANSI/OSC sequences and
bidi characters appear as visible escapes, and rich markup or emoji codes in it stay literal.
"""

from __future__ import annotations

import io
from itertools import groupby

from rich.console import Console
from rich.markup import escape

from kubeward.registry import Layer, Severity
from kubeward.report._escape import visible
from kubeward.results import Report

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def _show(text: str) -> str:
    """Attacker text as console markup that prints exactly its visible form."""
    return escape(visible(text))


def render(report: Report, *, color: bool = False) -> str:
    buf = io.StringIO()
    con = Console(
        file=buf,
        force_terminal=color,
        no_color=not color,
        width=100,
        highlight=False,
        emoji=False,
        soft_wrap=True,
        color_system="standard" if color else None,
    )
    for path, group in groupby(report.results, key=lambda r: r.span.path):
        con.print(f"[bold underline]{_show(path)}[/]")
        for r in group:
            s = r.span
            sev = r.severity
            con.print(
                f"  {s.start.line}:{s.start.col}  [{_STYLE[sev]}]{sev.value:<8}[/] "
                f"[bold]{r.rule.id}[/]  {_show(r.message)}"
            )
            src = report.source_line(path, s.start.line)
            if src:
                expanded = src.expandtabs(1)
                width = (
                    (s.end.col - s.start.col)
                    if s.end.line == s.start.line
                    else len(src) - s.start.col + 1
                )
                con.print(f"      [dim]{s.start.line:>4} |[/] {_show(expanded)}")
                # The caret sits under the visible form: an escape is wider than its character.
                before = visible(expanded[: s.start.col - 1])
                under = visible(expanded[s.start.col - 1 : s.start.col - 1 + max(width, 1)])
                pad, carets = " " * len(before), "^" * max(len(under), 1)
                con.print(f"      [dim]     |[/] {pad}[{_STYLE[sev]}]{carets}[/]")
            for rel in r.finding.related:
                con.print(
                    f"      [dim]related: {_show(rel.span.path)}:{rel.span.start.line}:"
                    f"{rel.span.start.col} {_show(rel.label)}[/]"
                )
        con.print()
    fired = sorted({r.rule.id: r.rule for r in report.results}.values(), key=lambda r: r.id)
    if fired:
        con.print("[bold]How to fix[/]")
        for rule in fired:
            con.print(f"  [bold]{rule.id}[/]: {escape(rule.title)}")
            for line in rule.section("Remediation").splitlines():
                con.print(f"    [green]{escape(line)}[/]" if line.strip() else "")
        con.print()
    for section in report.sections:
        con.print(f"[bold]{_show(section.title)}[/]")
        for row in section.rows:
            con.print("  " + _show("  ".join(f"{k}={v}" for k, v in row.items())))
        con.print()
    if report.errors:
        con.print(f"[bold red]Files not scanned ({len(report.errors)})[/]")
        for e in report.errors:
            where = f"{e.path}:{e.line}" if e.line else e.path
            con.print(f"  {_show(where)}: {_show(e.reason)}")
        con.print()
    if report.unused_suppressions:
        con.print(f"[bold yellow]Unused suppressions ({len(report.unused_suppressions)})[/]")
        for u in report.unused_suppressions:
            con.print(
                f"  {_show(u.span.path)}:{u.span.start.line} ({u.kind}) "
                f"{_show(', '.join(u.rule_ids))} suppresses nothing"
            )
        con.print()
    _summary(con, report)
    return buf.getvalue()


def _summary(con: Console, report: Report) -> None:
    sev = report.by_severity()
    layers = report.by_layer()
    con.print(
        f"[bold]Summary:[/] {report.summary_line()}, "
        f"{len(report.suppressed)} suppressed, {len(report.errors)} file error(s), "
        f"{report.duration_s:.2f}s"
    )
    con.print(f"  configuration: {escape(report.config or 'none (defaults)')}")
    if report.results:
        con.print(
            "  by severity: "
            + ", ".join(f"[{_STYLE[s]}]{s.value}[/] {sev[s]}" for s in Severity if sev.get(s))
        )
        con.print(
            "  by layer:    "
            + ", ".join(f"{int(ly)} {ly.title} {layers[ly]}" for ly in Layer if layers.get(ly))
        )
