"""Text for people: a count per rule, findings grouped by file with the source line and a
caret under the span, then a summary by layer and severity. Colour only when asked (the CLI
decides: `--color`, `NO_COLOR`, `FORCE_COLOR`, a terminal).

Plain string building, no rich: rendering 35,000 findings through rich's console cost most of
a large scan (rich stays for the progress bar). Colour is SGR sequences written here around
our own pieces; text from the scanned repository always goes through `visible` first, so its
controls, ANSI/OSC sequences and bidi characters appear as escapes, and nothing in it is
interpreted (rich markup such as `[bold]` or emoji codes stay literal).
"""

from __future__ import annotations

import time
from collections import Counter
from itertools import groupby

from kubeward.registry import Layer, Rule, Severity
from kubeward.report._escape import visible
from kubeward.results import Report

_SGR = {
    "bold": "1",
    "dim": "2",
    "underline": "4",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "cyan": "36",
    "white": "37",
    "on red": "41",
}

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


class _Out:
    """Lines of output, each piece painted when colour is on."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []
        self._codes: dict[str, str] = {}

    def paint(self, text: str, style: str) -> str:
        if not self.color or not text:
            return text
        codes = self._codes.get(style)
        if codes is None:
            words = style.replace("on red", "on_red").split()
            codes = self._codes[style] = ";".join(_SGR[w.replace("_", " ")] for w in words)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def line(self, *pieces: str) -> None:
        self.lines.append("".join(pieces))


def rule_counts(report: Report) -> list[tuple[Rule, Severity, int]]:
    """Each rule that fired, its worst severity and its number of results: most severe
    first, then the most results, then by rule id."""
    count: Counter[str] = Counter()
    worst: dict[str, Severity] = {}
    rules: dict[str, Rule] = {}
    for r in report.results:
        count[r.rule.id] += 1
        rules[r.rule.id] = r.rule
        if r.rule.id not in worst or r.severity.rank > worst[r.rule.id].rank:
            worst[r.rule.id] = r.severity
    rows = [(rules[i], worst[i], n) for i, n in count.items()]
    rows.sort(key=lambda x: (-x[1].rank, -x[2], x[0].id))
    return rows


def render(
    report: Report, *, color: bool = False, summary: bool = False, started: float | None = None
) -> str:
    """The text report. `summary`: only the per-rule counts and the summary. `started`: the
    `time.perf_counter()` of the run's start, so the summary's time covers rendering."""
    out = _Out(color)
    _counts(out, report)
    if not summary:
        _findings(out, report)
    _summary(out, report, started)
    return "\n".join(out.lines) + "\n"


def _counts(out: _Out, report: Report) -> None:
    rows = rule_counts(report)
    if not rows:
        return
    width = max(len(str(n)) for _, _, n in rows)
    out.line(out.paint("Findings by rule", "bold"))
    for rule, sev, n in rows:
        out.line(f"  {n:>{width}}  ", out.paint(f"{sev.value:<8}", _STYLE[sev]), f"  {rule.id}")
    out.line()


def _findings(out: _Out, report: Report) -> None:
    for path, group in groupby(report.results, key=lambda r: r.span.path):
        out.line(out.paint(visible(path), "bold underline"))
        for r in group:
            s = r.span
            style = _STYLE[r.severity]
            out.line(
                f"  {s.start.line}:{s.start.col}  ",
                out.paint(f"{r.severity.value:<8}", style),
                " ",
                out.paint(r.rule.id, "bold"),
                "  ",
                visible(r.message),
            )
            src = report.source_line(path, s.start.line)
            if src:
                end = s.end.col if s.end.line == s.start.line else len(src) + 1
                shown, pad, carets = _excerpt(src.expandtabs(1), s.start.col, end)
                out.line("      ", out.paint(f"{s.start.line:>4} |", "dim"), " ", shown)
                out.line(
                    "      ", out.paint("     |", "dim"), " ", " " * pad, out.paint(carets, style)
                )
            for rel in r.finding.related:
                where = f"{rel.span.path}:{rel.span.start.line}:{rel.span.start.col}"
                out.line(out.paint(f"      related: {visible(where)} {visible(rel.label)}", "dim"))
        out.line()
    fired = sorted({r.rule.id: r.rule for r in report.results}.values(), key=lambda r: r.id)
    if fired:
        out.line(out.paint("How to fix", "bold"))
        for rule in fired:
            out.line("  ", out.paint(rule.id, "bold"), ": ", visible(rule.title))
            for line in rule.section("Remediation").splitlines():
                out.line(out.paint(f"    {visible(line)}", "green") if line.strip() else "")
        out.line()
    for section in report.sections:
        out.line(out.paint(visible(section.title), "bold"))
        for row in section.rows:
            out.line("  " + visible("  ".join(f"{k}={v}" for k, v in row.items())))
        out.line()
    if report.errors:
        out.line(out.paint(f"Files not scanned ({len(report.errors)})", "bold red"))
        for e in report.errors:
            where = f"{e.path}:{e.line}" if e.line else e.path
            out.line(f"  {visible(where)}: {visible(e.reason)}")
        out.line()
    if report.unused_suppressions:
        n = len(report.unused_suppressions)
        out.line(out.paint(f"Unused suppressions ({n})", "bold yellow"))
        for u in report.unused_suppressions:
            out.line(
                f"  {visible(u.span.path)}:{u.span.start.line} ({u.kind}) "
                f"{visible(', '.join(u.rule_ids))} suppresses nothing"
            )
        out.line()


def _summary(out: _Out, report: Report, started: float | None) -> None:
    sev = report.by_severity()
    layers = report.by_layer()
    took = report.duration_s if started is None else time.perf_counter() - started
    out.line(
        out.paint("Summary:", "bold"),
        f" {report.summary_line()}, "
        f"{len(report.suppressed)} suppressed, {len(report.errors)} file error(s), {took:.2f}s",
    )
    out.line(f"  configuration: {visible(report.config or 'none (defaults)')}")
    if report.results:
        out.line(
            "  by severity: "
            + ", ".join(f"{out.paint(s.value, _STYLE[s])} {sev[s]}" for s in Severity if sev.get(s))
        )
        out.line(
            "  by layer:    "
            + ", ".join(f"{int(ly)} {ly.title} {layers[ly]}" for ly in Layer if layers.get(ly))
        )
