"""What a run shows, decided by the command line before any renderer runs (renderers never
filter): `--min-severity`, `--max-results`, and the base that report paths are relative to.

The exit code is not decided here: `--fail-on` judges every finding, shown or not.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from kubeward.registry import Severity
from kubeward.results import Report, Result


def severity_order(r: Result) -> tuple[int, tuple[str, int, int, str, str]]:
    """Most severe first; among equals, the report's own order (path, line, column, rule id,
    message): the tie-break `--max-results` and the Markdown report use."""
    return (-r.severity.rank, r.sort_key())


def most_severe(results: Sequence[Result], limit: int) -> list[Result]:
    """The `limit` most severe results (ties: by path, line, column, rule id, message), kept in
    the order they came in."""
    if len(results) <= limit:
        return list(results)
    keep = {id(r) for r in sorted(results, key=severity_order)[:limit]}
    return [r for r in results if id(r) in keep]


def shown(report: Report, *, min_severity: Severity | None, max_results: int | None) -> Report:
    """The report as displayed: results below `min_severity` left out, then at most
    `max_results` of the most severe. Suppressed results follow the same severity filter."""
    results = report.results
    suppressed = report.suppressed
    if min_severity is not None:
        results = [r for r in results if r.severity.rank >= min_severity.rank]
        suppressed = [r for r in suppressed if r.severity.rank >= min_severity.rank]
    if max_results is not None:
        results = most_severe(results, max_results)
        suppressed = most_severe(suppressed, max(max_results - len(results), 0))
    if results is report.results and suppressed is report.suppressed:
        return report
    return dataclasses.replace(report, results=list(results), suppressed=list(suppressed))


def _top(path: Path) -> Path | None:
    return next((d for d in (path, *path.parents) if os.path.lexists(d / ".git")), None)


def uri_base(roots: Sequence[Path], cwd: Path | None = None) -> Path:
    """The directory SARIF `%SRCROOT%` (and the GitHub and GitLab formats' paths) stand for:
    the top of the git work tree holding the first scan root, else the current directory when
    every root is inside it, else the first root's directory."""
    here = (cwd or Path.cwd()).absolute()
    first = roots[0].absolute() if roots else here
    first_dir = first if first.is_dir() else first.parent
    top = _top(first_dir)
    if top is not None:
        return top
    if all(_inside(r.absolute(), here) for r in roots):
        return here
    return first_dir


def _inside(path: Path, base: Path) -> bool:
    return path == base or base in path.parents


def relative_to_base(path: str, base: Path, cwd: Path | None = None) -> str:
    """A report path (as the scan shows it: relative to the current directory, or absolute
    for an absolute root) made relative to `base`; unchanged when it is not inside `base`."""
    here = cwd or Path.cwd()
    full = Path(os.path.normpath(here / path))
    if _inside(full, base) and full != base:
        return full.relative_to(base).as_posix()
    return path
