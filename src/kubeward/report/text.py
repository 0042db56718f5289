"""Text for people: findings grouped by file, with the source line and a caret under the span,
then a summary by layer and severity. Colour only when asked (the CLI asks on a terminal).

Text from the scanned repository never passes through rich's markup parser: it is printed as
`Text` pieces after `visible`, so controls, ANSI/OSC sequences and bidi characters appear as
escapes and rich markup (`[bold]`, a trailing backslash) or emoji codes in it stay literal.
"""

from __future__ import annotations

import io
from itertools import groupby

from rich.console import Console
from rich.markup import escape
from rich.text import Text

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


# How much of a source line the excerpt shows: a minified manifest is one line of megabytes,
# and each finding on it would print the whole line.
EXCERPT_BEFORE = 40
EXCERPT_WIDTH = 160


def _excerpt(line: str, start: int, end: int) -> tuple[str, int, str]:
    """The visible excerpt of `line` around columns `start..end` (1-based, end exclusive), the
    caret's indent and the carets. The caret sits under the visible form: an escape is wider
    than its character, and a long line is cut around the span, marked by `…`."""
    lo = max(start - 1 - EXCERPT_BEFORE, 0) if len(line) > EXCERPT_WIDTH else 0
    hi = min(lo + EXCERPT_WIDTH, len(line)) if len(line) > EXCERPT_WIDTH else len(line)
    head, tail = ("…" if lo else ""), ("…" if hi < len(line) else "")
    before = head + visible(line[lo : start - 1]) + " " * max(start - 1 - len(line), 0)
    under = visible(line[start - 1 : min(max(end, start + 1) - 1, hi)])
    return head + visible(line[lo:hi]) + tail, len(before), "^" * max(len(under), 1)


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
        con.print(Text(visible(path), style="bold underline"))
        for r in group:
            s = r.span
            style = _STYLE[r.severity]
            con.print(
                Text.assemble(
                    f"  {s.start.line}:{s.start.col}  ",
                    (f"{r.severity.value:<8}", style),
                    " ",
                    (r.rule.id, "bold"),
                    "  ",
                    visible(r.message),
                )
            )
            src = report.source_line(path, s.start.line)
            if src:
                end = s.end.col if s.end.line == s.start.line else len(src) + 1
                shown, pad, carets = _excerpt(src.expandtabs(1), s.start.col, end)
                con.print(Text.assemble("      ", (f"{s.start.line:>4} |", "dim"), " ", shown))
                con.print(
                    Text.assemble("      ", ("     |", "dim"), " ", " " * pad, (carets, style))
                )
            for rel in r.finding.related:
                where = f"{rel.span.path}:{rel.span.start.line}:{rel.span.start.col}"
                con.print(Text(f"      related: {visible(where)} {visible(rel.label)}", "dim"))
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
        con.print(Text(visible(section.title), style="bold"))
        for row in section.rows:
            con.print(Text("  " + visible("  ".join(f"{k}={v}" for k, v in row.items()))))
        con.print()
    if report.errors:
        con.print(f"[bold red]Files not scanned ({len(report.errors)})[/]")
        for e in report.errors:
            where = f"{e.path}:{e.line}" if e.line else e.path
            con.print(Text(f"  {visible(where)}: {visible(e.reason)}"))
        con.print()
    if report.unused_suppressions:
        con.print(f"[bold yellow]Unused suppressions ({len(report.unused_suppressions)})[/]")
        for u in report.unused_suppressions:
            con.print(
                Text(
                    f"  {visible(u.span.path)}:{u.span.start.line} ({u.kind}) "
                    f"{visible(', '.join(u.rule_ids))} suppresses nothing"
                )
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
