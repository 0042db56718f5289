"""The report of one scan: what every renderer reads, and nothing renderers decide."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kubeward.registry import Finding, Layer, Rule, Severity
from kubeward.source import ScanError, Span


@dataclass(frozen=True, slots=True)
class Result:
    """A finding with its rule, effective severity, fingerprint and suppression state."""

    rule: Rule
    finding: Finding
    severity: Severity
    fingerprint: str
    suppressed_by: str | None = None  # "inline", "annotation", "baseline"
    # The judged findings this result stands for (same root cause, other uses of one image;
    # kubeward.group), each with its own fingerprint for the baseline.
    absorbed: tuple[Result, ...] = ()

    @property
    def span(self) -> Span:
        return self.finding.span

    @property
    def message(self) -> str:
        return self.finding.message

    def sort_key(self) -> tuple[str, int, int, str, str]:
        s = self.finding.span
        return (s.path, s.start.line, s.start.col, self.rule.id, self.finding.message)


@dataclass(frozen=True, slots=True)
class UnusedSuppression:
    span: Span
    rule_ids: tuple[str, ...]
    kind: str  # "inline" | "annotation" | "baseline"


@dataclass
class Section:
    """A structured part of the report beyond findings (a SLSA assessment, say).

    `rows` are flat mappings; renderers show them as a table (text, Markdown) and as data
    (JSON, SARIF run properties).
    """

    id: str
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    version: str
    roots: list[str]
    results: list[Result] = field(default_factory=list)
    suppressed: list[Result] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    unused_suppressions: list[UnusedSuppression] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    files_scanned: int = 0
    duration_s: float = 0.0
    sections: list[Section] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # rel path -> text (for carets)
    config: str | None = None  # the configuration file the scan used (None: the defaults)
    _split: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)

    def by_severity(self) -> Counter[Severity]:
        return Counter(r.severity for r in self.results)

    def by_layer(self) -> Counter[Layer]:
        return Counter(r.rule.layer for r in self.results)

    def source_line(self, path: str, line: int) -> str:
        lines = self._split.get(path)
        if lines is None:
            text = self.sources.get(path)
            if text is None:
                return ""
            # Split once per file: renderers ask for a line per result, and splitting the
            # whole text each time was quadratic in a large file with many results.
            lines = self._split[path] = text.split("\n")
        return lines[line - 1].rstrip("\r") if 1 <= line <= len(lines) else ""

    def files_with_findings(self) -> int:
        """Files holding a reported finding, or one a grouped result stands for."""
        paths: set[str] = set()
        stack = list(self.results)
        while stack:
            r = stack.pop()
            paths.add(r.span.path)
            stack.extend(r.absorbed)
        return len(paths)

    def summary_line(self) -> str:
        """`N findings in M files (K files scanned)`, as every human-facing format says it."""
        n, m, k = len(self.results), self.files_with_findings(), self.files_scanned
        return (
            f"{n} finding{'s' if n != 1 else ''} in {m} file{'s' if m != 1 else ''} "
            f"({k} file{'s' if k != 1 else ''} scanned)"
        )

    def worst(self) -> Severity | None:
        if not self.results:
            return None
        return max((r.severity for r in self.results), key=lambda s: s.rank)
