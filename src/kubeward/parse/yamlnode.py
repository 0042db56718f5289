"""YAML documents as position-carrying nodes.

libyaml (PyYAML's C composer) builds the node graph; we convert it once into `YNode`s, our own
small picklable nodes that keep the start and end of every value. Positions are never injected
into user data. Aliases stay shared (never expanded), and the size a consumer would see when
expanding them is bounded, so an alias bomb is an error entry, not a hang.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator
from typing import Literal

import yaml

from kubeward.source import Pos, Span

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Kind = Literal["map", "seq", "scalar"]

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"

# `{{ .Values.x }}` (Helm, Go templates), `${{ github.x }}` (GitHub Actions), `${VAR}` / `$VAR`
# (shell, GitLab CI, Kustomize replacements, Dockerfile ARG).
TEMPLATE_RE = re.compile(r"\{\{.*?\}\}|\$\{\{.*?\}\}|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*", re.S)


def is_templated(text: str) -> bool:
    """Whether `text` holds a template expression whose value is unknown statically."""
    return ("{{" in text or "$" in text) and TEMPLATE_RE.search(text) is not None


class YamlLimitError(ValueError):
    """A document exceeds a safety bound (alias expansion or nesting)."""


class YNode:
    """One YAML node: a mapping, a sequence or a scalar, with its span in the file."""

    __slots__ = ("end", "kind", "path", "start", "style", "tag", "value")

    def __init__(
        self,
        *,
        kind: Kind,
        tag: builtins.str,
        value: object,
        path: builtins.str,
        start: Pos,
        end: Pos,
        style: builtins.str | None = None,
    ) -> None:
        self.kind = kind
        self.tag = tag
        # map: list[tuple[YNode, YNode]]; seq: list[YNode]; scalar: builtins.str
        self.value = value
        self.path = path
        self.start = start
        self.end = end
        self.style = style

    def __repr__(self) -> builtins.str:
        return f"YNode({self.kind}, {self.start.line}:{self.start.col})"

    # --- shape -------------------------------------------------------------------------
    @property
    def span(self) -> Span:
        return Span(self.path, self.start, self.end)

    @property
    def is_map(self) -> builtins.bool:
        return self.kind == "map"

    @property
    def is_seq(self) -> builtins.bool:
        return self.kind == "seq"

    @property
    def is_scalar(self) -> builtins.bool:
        return self.kind == "scalar"

    # --- scalars -----------------------------------------------------------------------
    @property
    def text(self) -> builtins.str | None:
        """The scalar's text (any tag), or None for collections and nulls."""
        if self.kind != "scalar" or self.tag == "tag:yaml.org,2002:null":
            return None
        return self.value  # type: ignore[return-value]

    @property
    def str(self) -> builtins.str | None:
        """The scalar's text when it is a string (quoted or plain), else None."""
        return self.value if self.kind == "scalar" and self.tag == _STR else None  # type: ignore[return-value]

    @property
    def bool(self) -> builtins.bool | None:
        """True/False for a YAML boolean (or the strings 'true'/'false'), else None."""
        if self.kind != "scalar":
            return None
        v = str(self.value).lower()
        if v in ("true", "yes", "on"):
            return True
        if v in ("false", "no", "off"):
            return False
        return None

    @property
    def int(self) -> builtins.int | None:
        if self.kind != "scalar":
            return None
        try:
            return int(str(self.value), 0)
        except ValueError:
            return None

    @property
    def is_templated(self) -> builtins.bool:
        return self.kind == "scalar" and is_templated(str(self.value))

    # --- mappings ----------------------------------------------------------------------
    def items(self) -> Iterator[tuple[YNode, YNode]]:
        """Key and value nodes of a mapping, with `<<` merges resolved (own keys first)."""
        if self.kind != "map":
            return
        pairs: list[tuple[YNode, YNode]] = self.value  # type: ignore[assignment]
        merges: list[YNode] = []
        for k, v in pairs:
            if k.tag == _MERGE or (k.kind == "scalar" and k.value == "<<" and k.style is None):
                merges.append(v)
            else:
                yield k, v
        for m in merges:
            for src in m.value if m.kind == "seq" else [m]:  # type: ignore[attr-defined]
                if isinstance(src, YNode) and src.kind == "map":
                    yield from src.items()

    def keys(self) -> list[builtins.str]:
        return [str(k.value) for k, _ in self.items() if k.kind == "scalar"]

    def get(self, key: builtins.str) -> YNode | None:
        """The value of `key` in a mapping (None when absent or not a mapping)."""
        if self.kind != "map":
            return None
        for k, v in self.items():
            if k.kind == "scalar" and k.value == key:
                return v
        return None

    def key_node(self, key: builtins.str) -> YNode | None:
        """The key node itself (its span is where a missing-value finding points)."""
        for k, _ in self.items():
            if k.kind == "scalar" and k.value == key:
                return k
        return None

    def dig(self, *keys: builtins.str) -> YNode | None:
        node: YNode | None = self
        for key in keys:
            if node is None:
                return None
            node = node.get(key)
        return node

    def get_str(self, key: builtins.str) -> builtins.str | None:
        v = self.get(key)
        return v.text if v is not None else None

    # --- sequences ---------------------------------------------------------------------
    def seq(self) -> list[YNode]:
        """Items of a sequence ([] for anything else)."""
        return self.value if self.kind == "seq" else []  # type: ignore[return-value]

    def walk(self) -> Iterator[YNode]:
        """Every node below and including this one (aliases visited once)."""
        seen: set[int] = set()
        stack: list[YNode] = [self]
        while stack:
            n = stack.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            yield n
            if n.kind == "map":
                for k, v in reversed(n.value):  # type: ignore[call-overload]
                    stack.append(v)
                    stack.append(k)
            elif n.kind == "seq":
                stack.extend(reversed(n.value))  # type: ignore[call-overload]

    def to_python(self) -> object:
        """Plain Python data (bounded by the expansion check at load time)."""
        if self.kind == "map":
            return {
                (k.value if k.kind == "scalar" else repr(k)): v.to_python() for k, v in self.items()
            }
        if self.kind == "seq":
            return [v.to_python() for v in self.value]  # type: ignore[attr-defined]
        return self.value


def _pos(mark: yaml.Mark) -> Pos:
    return Pos(mark.line + 1, mark.column + 1, mark.index)


def _convert(root: yaml.Node, path: str, max_nodes: int) -> YNode:
    """Convert a composed graph; shared (aliased) nodes stay shared.

    `expanded` counts the nodes a full expansion would visit; above `max_nodes` the document is
    refused (billion-laughs style alias bombs).
    """
    memo: dict[int, YNode] = {}
    sizes: dict[int, int] = {}

    def conv(n: yaml.Node, depth: int) -> YNode:
        got = memo.get(id(n))
        if got is not None:
            return got
        if depth > 500:
            raise YamlLimitError("nesting deeper than 500 levels")
        start, end = _pos(n.start_mark), _pos(n.end_mark)
        size = 1
        if isinstance(n, yaml.MappingNode):
            pairs = []
            for k, v in n.value:
                ck, cv = conv(k, depth + 1), conv(v, depth + 1)
                size += sizes[id(k)] + sizes[id(v)]
                pairs.append((ck, cv))
            out = YNode(kind="map", tag=n.tag, value=pairs, path=path, start=start, end=end)
        elif isinstance(n, yaml.SequenceNode):
            items = []
            for v in n.value:
                items.append(conv(v, depth + 1))
                size += sizes[id(v)]
            out = YNode(kind="seq", tag=n.tag, value=items, path=path, start=start, end=end)
        else:
            out = YNode(
                kind="scalar",
                tag=n.tag,
                value=n.value,
                path=path,
                start=start,
                end=end,
                style=getattr(n, "style", None),
            )
        if size > max_nodes:
            raise YamlLimitError(
                f"alias expansion exceeds {max_nodes} nodes (possible YAML alias bomb)"
            )
        sizes[id(n)] = size
        memo[id(n)] = out
        return out

    return conv(root, 0)


def load_documents(text: str, path: str, *, max_nodes: int = 2_000_000) -> list[YNode]:
    """Compose every document of a YAML (or JSON) stream into `YNode`s.

    Raises `yaml.YAMLError` for malformed input and `YamlLimitError` for hostile input.
    """
    docs: list[YNode] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                docs.append(_convert(node, path, max_nodes))
    finally:
        loader.dispose()
    return docs
