"""Source files, positions and spans.

A span is a half-open range of character offsets into a file's decoded text, kept with the
1-based line and column of both ends. libyaml's marks give all three, and renderers (SARIF
regions, the text caret) need line and column, so both are computed once at parse time.
"""

from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from kubeward.parse.dockerfile import Instruction
    from kubeward.parse.yamlnode import YNode


class Pos(NamedTuple):
    """A position in a file: 1-based line and column, 0-based character offset."""

    line: int
    col: int
    offset: int = -1


class Span(NamedTuple):
    """A range of text in one file; `end` is exclusive.

    Tuples (not dataclasses) so that parsed trees cross process boundaries cheaply.
    """

    path: str
    start: Pos
    end: Pos

    @property
    def line(self) -> int:
        return self.start.line

    @property
    def col(self) -> int:
        return self.start.col


class FileKind(enum.Enum):
    """What a discovered file is, by name (content refines YAML files later)."""

    YAML = "yaml"  # any YAML or JSON document stream: Kubernetes, policies, values...
    DOCKERFILE = "dockerfile"
    GHA_WORKFLOW = "github-workflow"
    GHA_ACTION = "github-action"
    GITLAB_CI = "gitlab-ci"
    HELM_CHART = "helm-chart"  # Chart.yaml
    HELM_VALUES = "helm-values"  # values*.yaml beside a Chart.yaml
    HELM_TEMPLATE = "helm-template"  # templates/** of a chart: Go templates, not YAML
    KUSTOMIZATION = "kustomization"
    OTHER = "other"  # read for secrets and key material only


# How much of a value from the scanned files a message quotes, and how long a message may be.
# A hostile file can hold megabyte scalars, referenced by aliases from thousands of places;
# quoted whole, every finding would carry a copy into every output format.
MAX_QUOTED = 200
MAX_MESSAGE = 1000


def shorten(text: str, limit: int = MAX_QUOTED, *, keep_end: int = 0) -> str:
    """`text` if at most `limit` characters, else its start and how many characters were left
    out, with the last `keep_end` characters kept after the note.

    `shorten(value)` quotes a value; a message keeps its end (`keep_end`) because the end says
    what is wrong while the long value sits in the middle.
    """
    if len(text) <= limit:
        return text
    head = max(limit - keep_end, 0)
    tail = text[len(text) - keep_end :] if keep_end else ""
    more = len(text) - head - len(tail)
    return f"{text[:head]}…({more} more characters){'…' if tail else ''}{tail}"


@dataclass(frozen=True, slots=True)
class LineIndex:
    """Maps character offsets to 1-based (line, column)."""

    starts: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> LineIndex:
        starts = [0]
        find = text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        return cls(tuple(starts))

    def pos(self, offset: int) -> Pos:
        line = bisect.bisect_right(self.starts, offset) - 1
        return Pos(line + 1, offset - self.starts[line] + 1, offset)

    def line_start(self, line: int) -> int:
        """Offset of the first character of 1-based `line`."""
        return self.starts[min(max(line, 1), len(self.starts)) - 1]


@dataclass(slots=True)
class SourceFile:
    """One discovered file, read and parsed once.

    `rel` is the path relative to the scan root with forward slashes (what reports show);
    `documents` holds the YAML documents (one `YNode` per document) for YAML-like kinds.
    """

    rel: str
    abspath: str
    kind: FileKind
    text: str = ""
    documents: list[YNode] = field(default_factory=list)
    instructions: list[Instruction] = field(default_factory=list)
    # Model instances computed from this file, by model type (see registry.instances_in).
    models: dict[type, list[Any]] = field(default_factory=dict)
    # The real path of the scan root the file was found in ("" when not known): files read
    # beside this one (a chart's Chart.lock) must stay inside it.
    root: str = ""
    # Files read beside this one that could not be read (a Chart.lock linked out of the root,
    # a FIFO): error entries of the report, collected by the engine.
    read_errors: list[ScanError] = field(default_factory=list)
    _lines: LineIndex | None = None
    _split: list[str] | None = None

    @property
    def lines(self) -> LineIndex:
        if self._lines is None:
            self._lines = LineIndex.of(self.text)
        return self._lines

    def line_text(self, line: int) -> str:
        """The text of 1-based `line` without its newline ('' when out of range)."""
        if self._split is None:
            self._split = self.text.split("\n")
        if 1 <= line <= len(self._split):
            return self._split[line - 1].rstrip("\r")
        return ""

    def span(self, start: int, end: int) -> Span:
        """A span from character offsets."""
        return Span(self.rel, self.lines.pos(start), self.lines.pos(end))

    def line_span(self, line: int, col: int = 1, length: int | None = None) -> Span:
        """A span on one line: from `col` for `length` characters (to the line's end if None)."""
        text = self.line_text(line)
        if length is None:
            length = max(len(text) - (col - 1), 0)
        start = self.lines.line_start(line) + col - 1
        return Span(self.rel, Pos(line, col, start), Pos(line, col + length, start + length))

    def find_span(self, needle: str, *, first_line: int, last_line: int | None = None) -> Span:
        """The span of the first `needle` on lines `first_line..last_line`, else the first line.

        Used where a parser gives only line numbers (BuildKit's Dockerfile parser).
        """
        last = last_line if last_line is not None else first_line
        for line in range(first_line, last + 1):
            col = self.line_text(line).find(needle) if needle else -1
            if col >= 0:
                return self.line_span(line, col + 1, len(needle))
        return self.line_span(first_line)


@dataclass(frozen=True, slots=True)
class ScanError:
    """A file that could not be read or parsed, and why."""

    path: str
    reason: str
    line: int | None = None
