"""Markdown, fit for a pull-request comment.

Everything from the scanned repository (paths, messages, reasons, section values) goes through
`md_text` or `md_code`: a hostile value renders as its own characters, never as a heading, a
link, an image, raw HTML or an unclosed block that hides what follows.

Findings are listed most severe first (ties: path, line, column, rule id, message). The whole
comment stays under GitHub's limit on a comment body (`COMMENT_LIMIT` characters, counted as
UTF-16 code units, as a browser counts them): the findings that do not fit, then the file
errors, unused suppressions and section rows that do not fit, are left out and counted on an
"…and N more" line.
"""

from __future__ import annotations

from kubeward.registry import Layer, Rule, Severity
from kubeward.report._escape import md_code, md_text
from kubeward.report.display import severity_order
from kubeward.results import Report, Result

COMMENT_LIMIT = 65_536
"""GitHub's maximum length of an issue or pull-request comment body."""
_MARGIN = 256  # room for the closing lines of each part


def size(text: str) -> int:
    """Length as GitHub counts it (UTF-16 code units: an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _cell(text: str) -> str:
    # md_text escapes `|` and shows line breaks as escapes: a value stays inside its cell.
    return md_text(text)


def _row(r: Result) -> str:
    loc = md_code(f"{r.span.path}:{r.span.start.line}:{r.span.start.col}", in_table=True)
    return f"| {r.severity.value} | [{r.rule.id}]({r.rule.help_uri}) | {loc} | {_cell(r.message)} |"


def _remediation(rule: Rule) -> list[str]:
    return [f"#### {rule.id}: {rule.title}", "", rule.section("Remediation"), ""]


def _more(n: int, what: str) -> str:
    return f"…and {n} more {what} not shown (the comment would exceed GitHub's limit)."


def _fit(lines: list[str], budget: int, what: str) -> tuple[list[str], int]:
    """The first of `lines` that fit in `budget` (each with its newline), then an "…and N
    more" line for the rest; and the size used."""
    used = 0
    kept: list[str] = []
    for i, line in enumerate(lines):
        cost = size(line) + 1
        rest = len(lines) - i - 1
        reserve = size(_more(len(lines), what)) + 2 if rest else 0
        if used + cost + reserve > budget:
            more = _more(len(lines) - i, what)
            return [*kept, "", more], used + size(more) + 2
        kept.append(line)
        used += cost
    return kept, used


def render(report: Report, limit: int = COMMENT_LIMIT) -> str:
    out = ["## kubeward scan", ""]
    n = len(report.results)
    sev = report.by_severity()
    if n == 0:
        out.append(f"No findings ({report.files_scanned} files scanned).")
    else:
        counts = ", ".join(f"{sev[s]} {s.value}" for s in Severity if sev.get(s))
        out.append(f"**{report.summary_line()}**: {counts}.")
    if report.suppressed:
        out.append(f"{len(report.suppressed)} suppressed.")
    out.append("")
    config = md_code(report.config) if report.config else "none (defaults)"
    out += [f"Configuration: {config}", ""]
    # What follows the findings, at least its headings: reserved before the findings fill up.
    tails = _tails(report)
    reserve = sum(size(head) + 1 for head, _, _ in tails) + _MARGIN * (len(tails) + 1)
    budget = limit - size("\n".join(out)) - reserve
    if n:
        layers = report.by_layer()
        mark = len(out)
        out += ["| layer | findings |", "|---|---:|"]
        out += [f"| {int(ly)} {ly.title} | {layers.get(ly, 0)} |" for ly in Layer]
        out.append("")
        out += ["| severity | rule | location | message |", "|---|---|---|---|"]
        budget -= size("\n".join(out[mark:])) + 1
        rows, rules = _rows(sorted(report.results, key=severity_order), budget)
        out += rows
        out.append("")
        out.append("<details><summary>Remediation</summary>")
        out.append("")
        for rule in sorted(rules.values(), key=lambda r: r.id):
            out += _remediation(rule)
        out.append("</details>")
        out.append("")
    left = limit - size("\n".join(out)) - _MARGIN
    for head, lines, what in tails:
        body, used = _fit(lines, max(left - size(head) - _MARGIN, 0), what)
        out += [head, "", *body, ""]
        left -= used + size(head) + 3
    return "\n".join(out)


def _rows(results: list[Result], budget: int) -> tuple[list[str], dict[str, Rule]]:
    """The table rows that fit in `budget` with the remediation of their rules, most severe
    first; then an "…and N more" line."""
    rows: list[str] = []
    rules: dict[str, Rule] = {}
    used = size("<details><summary>Remediation</summary>\n\n</details>\n")
    for i, r in enumerate(results):
        cost = size(_row(r)) + 1
        if r.rule.id not in rules:
            cost += size("\n".join(_remediation(r.rule))) + 1
        rest = len(results) - i - 1
        reserve = size(_more(len(results), "findings")) + 2 if rest else 0
        if used + cost + reserve > budget:
            rows += ["", _more(len(results) - i, "findings")]
            break
        rows.append(_row(r))
        rules.setdefault(r.rule.id, r.rule)
        used += cost
    return rows, rules


def _tails(report: Report) -> list[tuple[str, list[str], str]]:
    """The parts after the findings: (heading, lines, what a line is)."""
    tails: list[tuple[str, list[str], str]] = []
    for section in report.sections:
        lines: list[str] = []
        if section.rows:
            cols = list(section.rows[0])
            lines.append("| " + " | ".join(_cell(c) for c in cols) + " |")
            lines.append("|" + "---|" * len(cols))
            for row in section.rows:
                lines.append("| " + " | ".join(_cell(str(row.get(c, ""))) for c in cols) + " |")
        tails.append((f"### {md_text(section.title)}", lines, "rows"))
    if report.errors:
        errors = [
            f"- {md_code(e.path)}{f':{e.line}' if e.line else ''}: {md_text(e.reason)}"
            for e in report.errors
        ]
        tails.append((f"### Files not scanned ({len(report.errors)})", errors, "files"))
    if report.unused_suppressions:
        unused = [
            f"- {md_code(f'{u.span.path}:{u.span.start.line}')} ({u.kind}): "
            f"{md_text(', '.join(u.rule_ids))}"
            for u in report.unused_suppressions
        ]
        tails.append(("### Unused suppressions", unused, "suppressions"))
    return tails
