"""The rule registry, the model providers, and what rules yield.

A rule is metadata plus one pure function over the narrowest model type it needs:

    @rule(id="image-not-pinned-by-digest", layer=Layer.REGISTRY, severity=Severity.HIGH)
    def image_not_pinned_by_digest(c: Container) -> Iterator[Finding]: ...

The model type is the annotation of the function's first parameter. A *provider* turns a parsed
file (or, for cross-document views, the whole scan) into instances of a model type; providers
are computed once per file or scan and shared by every rule over that type. A rule that declares
a second parameter receives a `RuleContext`: its parameters from the config and the read-only
scan (for rules that resolve references across documents, with `cross_file=True`).
"""

from __future__ import annotations

import enum
import functools
import inspect
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from kubeward.source import MAX_MESSAGE, SourceFile, Span, shorten

if TYPE_CHECKING:
    from kubeward.scan_context import ScanContext

T = TypeVar("T")

DOCS_BASE_URL = "https://github.com/kubeward/kubeward/blob/main/docs/rules"


class Layer(enum.IntEnum):
    """The six layers of the supply chain (DESIGN.md)."""

    SOURCE = 1
    BUILD = 2
    SIGNING = 3
    REGISTRY = 4
    ADMISSION = 5
    RUNTIME = 6

    @property
    def title(self) -> str:
        return _LAYER_TITLES[self]


_LAYER_TITLES = {
    Layer.SOURCE: "source & GitOps",
    Layer.BUILD: "build pipeline",
    Layer.SIGNING: "image signing",
    Layer.REGISTRY: "registry & artifacts",
    Layer.ADMISSION: "admission control",
    Layer.RUNTIME: "runtime",
}


class Severity(enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse."""
        return _RANK[self]

    @property
    def security_severity(self) -> str:
        """GitHub code scanning's `security-severity` (CVSS-like 0.0-10.0)."""
        return _SECURITY_SEVERITY[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None


_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}
_SECURITY_SEVERITY = {
    Severity.INFO: "0.0",
    Severity.LOW: "3.0",
    Severity.MEDIUM: "5.5",
    Severity.HIGH: "8.0",
    Severity.CRITICAL: "9.5",
}


@dataclass(frozen=True, slots=True)
class Related:
    """A secondary location of a finding, with a label saying what is there."""

    span: Span
    label: str

    def __post_init__(self) -> None:
        if len(self.label) > MAX_MESSAGE:
            object.__setattr__(self, "label", _bounded(self.label))


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule yields: where, and what is wrong there.

    `severity` overrides the rule's severity for this one finding (a low-confidence note on a
    templated value, say); `properties` carries structured extras into JSON and SARIF.
    """

    span: Span
    message: str
    related: tuple[Related, ...] = ()
    severity: Severity | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The one point every finding passes: values quoted from a hostile file cannot make a
        # message (or a property) longer than MAX_MESSAGE characters, whichever rule built it.
        if len(self.message) > MAX_MESSAGE:
            object.__setattr__(self, "message", _bounded(self.message))
        if self.properties:
            object.__setattr__(self, "properties", _bounded(self.properties))


def _bounded(value: Any) -> Any:
    """`value` with every string in it shortened to MAX_MESSAGE characters, keeping its end."""
    if isinstance(value, str):
        return shorten(value, MAX_MESSAGE, keep_end=MAX_MESSAGE // 4)
    if isinstance(value, Mapping):
        return {k: _bounded(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_bounded(v) for v in value)
    return value


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a rule may read besides its model object."""

    params: Mapping[str, Any]
    scan: ScanContext

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    layer: Layer
    severity: Severity
    func: Callable[..., Iterable[Finding]]
    target: type
    doc: str
    slsa: tuple[str, ...] = ()
    cis: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    wants_context: bool = False
    cross_file: bool = False

    @property
    def help_uri(self) -> str:
        return f"{DOCS_BASE_URL}/{self.id}.md"

    def section(self, name: str) -> str:
        """A `## name` section of the rule's doc ('' when absent)."""
        return _doc_section(self.doc, name.lower())

    @property
    def summary(self) -> str:
        """The doc's first paragraph."""
        return self.doc.split("\n\n", 1)[0].strip()

    def run(self, obj: object, ctx: RuleContext) -> Iterable[Finding]:
        if self.wants_context:
            return self.func(obj, ctx)
        return self.func(obj)


@functools.lru_cache(maxsize=4096)
def _doc_section(doc: str, name: str) -> str:
    out: list[str] = []
    inside = False
    for line in doc.splitlines():
        if line.startswith("## "):
            inside = line[3:].strip().lower() == name
            continue
        if inside:
            out.append(line)
    return "\n".join(out).strip()


RULES: dict[str, Rule] = {}

_ID_OK = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def rule(
    *,
    id: str,
    layer: Layer,
    severity: Severity,
    title: str | None = None,
    slsa: Iterable[str] = (),
    cis: Iterable[str] = (),
    references: Iterable[str] = (),
    params: Mapping[str, Any] | None = None,
    cross_file: bool = False,
) -> Callable[[Callable[..., Iterable[Finding]]], Callable[..., Iterable[Finding]]]:
    """Register a rule. `title` defaults to the docstring's first line."""

    def deco(func: Callable[..., Iterable[Finding]]) -> Callable[..., Iterable[Finding]]:
        if not id or set(id) - _ID_OK or id.startswith("-") or "--" in id:
            raise ValueError(f"rule id {id!r} is not kebab-case")
        if id in RULES:
            raise ValueError(f"duplicate rule id {id!r}")
        doc = inspect.cleandoc(func.__doc__ or "")
        sig = inspect.signature(func)
        hints = typing.get_type_hints(func)
        first = next(iter(sig.parameters))
        target = hints[first]
        RULES[id] = Rule(
            id=id,
            # The title is the doc's first paragraph (a sentence, sometimes wrapped).
            title=title or " ".join(doc.split("\n\n", 1)[0].split()).rstrip("."),
            layer=layer,
            severity=severity,
            func=func,
            target=target,
            doc=doc,
            slsa=tuple(slsa),
            cis=tuple(cis),
            references=tuple(references),
            params=dict(params or {}),
            wants_context=len(sig.parameters) > 1,
            cross_file=cross_file,
        )
        return func

    return deco


# --- providers -------------------------------------------------------------------------------

FileProvider = Callable[[SourceFile], Iterable[Any]]
ScanProvider = Callable[["ScanContext"], Iterable[Any]]

FILE_PROVIDERS: dict[type, FileProvider] = {}
SCAN_PROVIDERS: dict[type, ScanProvider] = {}


def provider(
    target: type[T],
) -> Callable[[Callable[[SourceFile], Iterable[T]]], Callable[[SourceFile], Iterable[T]]]:
    """Register the function that yields a model type's instances from one parsed file."""

    def deco(func: Callable[[SourceFile], Iterable[T]]) -> Callable[[SourceFile], Iterable[T]]:
        FILE_PROVIDERS[target] = func
        return func

    return deco


def scan_provider(
    target: type[T],
) -> Callable[[Callable[[ScanContext], Iterable[T]]], Callable[[ScanContext], Iterable[T]]]:
    """Register the function that yields a model type's instances from the whole scan."""

    def deco(func: Callable[[ScanContext], Iterable[T]]) -> Callable[[ScanContext], Iterable[T]]:
        SCAN_PROVIDERS[target] = func
        return func

    return deco


# Functions that add a structured section to the report (a SLSA assessment per pipeline...).
SECTION_BUILDERS: list[Callable[[ScanContext], Iterable[Any]]] = []


def report_section(
    func: Callable[[ScanContext], Iterable[Any]],
) -> Callable[[ScanContext], Iterable[Any]]:
    """Register a function yielding `kubeward.results.Section`s from the whole scan."""
    SECTION_BUILDERS.append(func)
    return func


def instances_in(f: SourceFile, target: type[T]) -> list[T]:
    """A file-scoped model type's instances in one file, computed once and kept on the file."""
    got = f.models.get(target)
    if got is None:
        got = list(FILE_PROVIDERS[target](f))
        f.models[target] = got
    return got


def has_provider(r: Rule) -> bool:
    """Whether some provider builds the rule's model type (the registry checks of
    `scan --verify-images` run over a type only an engine `Stage` builds)."""
    return r.target in FILE_PROVIDERS or r.target in SCAN_PROVIDERS


def is_file_scoped(r: Rule) -> bool:
    """Whether a rule can run on each file alone (and so in a worker process)."""
    return r.target in FILE_PROVIDERS and not r.cross_file


def load_rules() -> Mapping[str, Rule]:
    """Import every rule pack (explicitly, by name) and return the registry."""
    import kubeward.rules  # noqa: F401  (its imports register the rules)

    return RULES


def iter_rules() -> Iterator[Rule]:
    yield from sorted(load_rules().values(), key=lambda r: (r.layer, r.id))
