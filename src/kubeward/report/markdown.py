"""Markdown, fit for a pull-request comment.

Everything from the scanned repository (paths, messages, reasons, section values) goes through
`md_text` or `md_code`: a hostile value renders as its own characters, never as a heading, a
link, an image, raw HTML or an unclosed block that hides what follows.
"""

from __future__ import annotations

from kubeward.registry import Layer, Severity
from kubeward.report._escape import md_code, md_text
from kubeward.results import Report


def _cell(text: str) -> str:
    # md_text escapes `|` and shows line breaks as escapes: a value stays inside its cell.
    return md_text(text)


def render(report: Report) -> str:
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
    if n:
        layers = report.by_layer()
        out += ["| layer | findings |", "|---|---:|"]
        out += [f"| {int(ly)} {ly.title} | {layers.get(ly, 0)} |" for ly in Layer]
        out.append("")
        out += ["| severity | rule | location | message |", "|---|---|---|---|"]
        for r in report.results:
            loc = md_code(f"{r.span.path}:{r.span.start.line}:{r.span.start.col}", in_table=True)
            out.append(
                f"| {r.severity.value} | [{r.rule.id}]({r.rule.help_uri}) | {loc} | "
                f"{_cell(r.message)} |"
            )
        out.append("")
        out.append("<details><summary>Remediation</summary>")
        out.append("")
        for rule in sorted(
            {r.rule.id: r.rule for r in report.results}.values(), key=lambda r: r.id
        ):
            out.append(f"#### {rule.id}: {rule.title}")
            out.append("")
            out.append(rule.section("Remediation"))
            out.append("")
        out.append("</details>")
        out.append("")
    for section in report.sections:
        out += [f"### {md_text(section.title)}", ""]
        if section.rows:
            cols = list(section.rows[0])
            out.append("| " + " | ".join(_cell(c) for c in cols) + " |")
            out.append("|" + "---|" * len(cols))
            for row in section.rows:
                out.append("| " + " | ".join(_cell(str(row.get(c, ""))) for c in cols) + " |")
            out.append("")
    if report.errors:
        out += [f"### Files not scanned ({len(report.errors)})", ""]
        out += [
            f"- {md_code(e.path)}{f':{e.line}' if e.line else ''}: {md_text(e.reason)}"
            for e in report.errors
        ]
        out.append("")
    if report.unused_suppressions:
        out += ["### Unused suppressions", ""]
        out += [
            f"- {md_code(f'{u.span.path}:{u.span.start.line}')} ({u.kind}): "
            f"{md_text(', '.join(u.rule_ids))}"
            for u in report.unused_suppressions
        ]
        out.append("")
    return "\n".join(out)
