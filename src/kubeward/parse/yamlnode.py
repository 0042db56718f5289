"""YAML documents as position-carrying nodes.

libyaml (PyYAML's C composer) builds the node graph; we convert it once into `YNode`s, our own
small picklable nodes that keep the start and end of every value. Positions are never injected
into user data. Aliases stay shared (never expanded), and the nodes a consumer would see added
by expanding them are counted and bounded per file, so an alias bomb is an error entry, not a
hang; a large file without aliases is not refused for its size.

Mappings are resolved once, at load time, into the pairs a YAML 1.1 loader (PyYAML, and so
Kubernetes' `sigs.k8s.io/yaml`) would produce: `<<` merge keys are replaced by the keys they
merge (own keys first, then each merged mapping in order, the first one to define a key winning),
and of a key written twice only the last pair is kept, as those loaders do. Duplicate keys are
reported to the caller, so the file can be said to be ambiguous.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator
from typing import Any, Literal

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
    """One YAML node: a mapping, a sequence or a scalar, with its span in the file.

    Positions are kept as plain integers and turned into `Pos`/`Span` only when asked: a large
    manifest has hundreds of thousands of nodes and few findings.
    """

    __slots__ = (
        "_ec",
        "_ei",
        "_el",
        "_rtag",
        "_sc",
        "_si",
        "_sl",
        "_tag",
        "kind",
        "path",
        "style",
        "value",
    )

    def __init__(
        self,
        kind: Kind,
        value: object,
        path: builtins.str,
        style: builtins.str | None,
        tag: builtins.str | None,
        sl: builtins.int,
        sc: builtins.int,
        si: builtins.int,
    ) -> None:
        self.kind = kind
        # map: list[tuple[YNode, YNode]]; seq: list[YNode]; scalar: str
        self.value = value
        self.path = path
        self.style = style
        self._tag = tag
        self._rtag: builtins.str | None = None
        self._sl, self._sc, self._si = sl, sc, si
        self._el, self._ec, self._ei = sl, sc, si

    def __repr__(self) -> builtins.str:
        return f"YNode({self.kind}, {self._sl}:{self._sc})"

    # tuple.__new__ directly: NamedTuple's own constructor is a Python-level function, and
    # spans are built for every object some rules look at.
    @property
    def start(self) -> Pos:
        return _new(Pos, (self._sl, self._sc, self._si))

    @property
    def end(self) -> Pos:
        return _new(Pos, (self._el, self._ec, self._ei))

    @property
    def tag(self) -> builtins.str:
        """The resolved tag (`tag:yaml.org,2002:str`, `...:int`, `...:map`...)."""
        if self._rtag is None:
            self._rtag = _resolve(self)
        return self._rtag

    # --- shape -------------------------------------------------------------------------
    @property
    def span(self) -> Span:
        return _new(
            Span,
            (
                self.path,
                _new(Pos, (self._sl, self._sc, self._si)),
                _new(Pos, (self._el, self._ec, self._ei)),
            ),
        )

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
        if self.kind != "scalar" or (self.style is None and self.tag == _NULL):
            return None
        return self.value  # type: ignore[return-value]

    @property
    def str(self) -> builtins.str | None:
        """The scalar's text when it is a string (quoted or plain), else None."""
        if self.kind != "scalar":
            return None
        if self.style is not None and self._tag is None:
            return self.value  # type: ignore[return-value]  # quoted or block: always a string
        return self.value if self.tag == _STR else None  # type: ignore[return-value]

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

    # --- mappings ---------------------------------------------------------------------
    def items(self) -> Iterator[tuple[YNode, YNode]]:
        """Key and value nodes of a mapping (`<<` merges and duplicate keys were resolved at
        load time, see the module docstring)."""
        if self.kind != "map":
            return
        yield from self.value  # type: ignore[misc]

    def keys(self) -> list[builtins.str]:
        return [str(k.value) for k, _ in self.items() if k.kind == "scalar"]

    def get(self, key: builtins.str) -> YNode | None:
        """The value of `key` in a mapping (None when absent or not a mapping)."""
        if self.kind != "map":
            return None
        for k, v in self.value:  # type: ignore[attr-defined]
            if k.value == key and k.kind == "scalar":
                return v  # type: ignore[no-any-return]
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


_new = tuple.__new__
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers


def _resolve(n: YNode) -> str:
    """YAML 1.1 tag resolution (PyYAML's SafeResolver rules), done lazily per scalar."""
    if n._tag is not None and n._tag != "!":
        return n._tag
    if n.kind == "map":
        return _MAP
    if n.kind == "seq":
        return _SEQ
    if n.style is not None or n._tag == "!":
        return _STR
    value: str = n.value  # type: ignore[assignment]
    for tag, regexp in _IMPLICIT.get(value[:1] if value else "", []):
        if regexp.match(value):
            return str(tag)
    return _STR


MAX_DEPTH = 500
"""Nesting bound, counted through aliases too (the trees consumers walk stay this shallow)."""

MAX_ALIAS_EXPANSION = 1_000_000
"""Nodes that expanding every alias of a file would add (billion-laughs bombs)."""

Duplicate = tuple[int, str]
"""A duplicate mapping key: the 1-based line of the pair that is kept, and a reason."""


def load_documents(
    text: str,
    path: str,
    *,
    max_nodes: int = MAX_ALIAS_EXPANSION,
    duplicates: list[Duplicate] | None = None,
) -> list[YNode]:
    """Build every document of a YAML (or JSON) stream as `YNode`s from libyaml's events.

    Building from events (rather than PyYAML's composed nodes) skips the Python-level tag
    resolver and one object per node; it is about twice as fast as `yaml.compose_all`.
    Aliases share the anchored node and are never expanded. `max_nodes` bounds the nodes that
    expanding every alias of the stream would add (alias bombs; the nodes written in the file
    are bounded by its size, not here), and nesting is bounded, aliases included. Mappings are
    resolved as the module docstring says; each duplicate key is appended to `duplicates`.

    Raises `yaml.YAMLError` for malformed input and `YamlLimitError` for hostile input.
    """
    parser = _Loader(text)
    docs: list[YNode] = []
    # Anchor -> (node, the size of its full expansion in nodes).
    anchors: dict[str, tuple[YNode, int]] = {}
    open_anchors: set[str] = set()
    heights: dict[int, int] = {}  # memo of `_height`, only for nodes some alias points at
    expanded = 0  # nodes added by alias expansions so far, in the whole stream
    # Frames of open collections: [node, expanded size so far, pending key, anchor].
    stack: list[list[Any]] = []
    scalar_ev, alias_ev = yaml.ScalarEvent, yaml.AliasEvent
    map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    coll_end = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    doc_start = yaml.DocumentStartEvent

    def attach(node: YNode, size: int) -> None:
        if not stack:
            docs.append(node)
            return
        frame = stack[-1]
        frame[1] += size
        parent: YNode = frame[0]
        if parent.kind == "seq":
            parent.value.append(node)  # type: ignore[attr-defined]
        elif frame[2] is None:
            frame[2] = node
        else:
            parent.value.append((frame[2], node))  # type: ignore[attr-defined]
            frame[2] = None

    try:
        while True:
            ev: Any = parser.get_event()
            if ev is None:
                break
            cls = type(ev)
            if cls is scalar_ev:
                m = ev.start_mark
                e = ev.end_mark
                node = YNode(
                    "scalar",
                    ev.value,
                    path,
                    ev.style or None,
                    ev.tag,
                    m.line + 1,
                    m.column + 1,
                    m.index,
                )
                node._el, node._ec, node._ei = e.line + 1, e.column + 1, e.index
                if ev.anchor is not None or ev.tag is not None:
                    _skip_properties(node, text)
                if ev.anchor is not None:
                    anchors[ev.anchor] = (node, 1)
                attach(node, 1)
            elif cls is map_start or cls is seq_start:
                if len(stack) >= MAX_DEPTH:
                    raise YamlLimitError(f"nesting deeper than {MAX_DEPTH} levels")
                m = ev.start_mark
                node = YNode(
                    "map" if cls is map_start else "seq",
                    [],
                    path,
                    None,
                    ev.tag,
                    m.line + 1,
                    m.column + 1,
                    m.index,
                )
                if ev.anchor is not None or ev.tag is not None:
                    _skip_properties(node, text)
                if ev.anchor is not None:
                    open_anchors.add(ev.anchor)
                stack.append([node, 1, None, ev.anchor])
            elif cls in coll_end:
                node, size, _, anchor = stack.pop()
                e = ev.end_mark
                node._el, node._ec, node._ei = e.line + 1, e.column + 1, e.index
                if node.kind == "map":
                    pairs = node.value
                    # Inline test of the commonest case (one key, no merge): no call at all.
                    if len(pairs) > 1 or (pairs and pairs[0][0].value == "<<"):
                        _resolve_mapping(node, duplicates)
                if anchor is not None:
                    open_anchors.discard(anchor)
                    anchors[anchor] = (node, size)
                attach(node, size)
            elif cls is alias_ev:
                if ev.anchor in open_anchors:
                    raise YamlLimitError(f"recursive alias *{ev.anchor} (refused)")
                got = anchors.get(ev.anchor)
                if got is None:
                    raise yaml.YAMLError(f"found undefined alias *{ev.anchor}")
                target, size = got
                expanded += size
                if expanded > max_nodes:
                    raise YamlLimitError(_bomb(max_nodes))
                if target.kind != "scalar" and len(stack) + _height(target, heights) > MAX_DEPTH:
                    raise YamlLimitError(f"nesting deeper than {MAX_DEPTH} levels through aliases")
                attach(target, size)
            elif cls is doc_start:
                anchors.clear()
    finally:
        parser.dispose()
    return docs


def _is_merge_key(k: YNode) -> bool:
    if k.kind != "scalar" or k.value != "<<":
        return False
    return (k.style is None and k._tag is None) or k._tag == _MERGE


def _resolve_mapping(node: YNode, duplicates: list[Duplicate] | None) -> None:
    """Replace a mapping's pairs by those a YAML 1.1 loader keeps (see the module docstring).

    Merged mappings were resolved when they ended (an alias only names a finished node), so
    this is one pass over the own pairs and the merged ones; the merged pairs are counted in
    the alias expansion budget already (an alias adds at least its mapping's pairs).
    """
    pairs: list[tuple[YNode, YNode]] = node.value  # type: ignore[assignment]
    try:
        keys = {k.value for k, _ in pairs}
    except TypeError:  # a collection used as a key
        keys = None
    if keys is not None and len(keys) == len(pairs) and "<<" not in keys:
        return  # the common case: nothing to resolve
    out: list[tuple[YNode, YNode] | None] = []
    where: dict[object, int] = {}
    merges: list[YNode] = []
    for k, v in pairs:
        if k.kind != "scalar":
            out.append((k, v))
            continue
        if _is_merge_key(k):
            merges.append(v)
            continue
        key = k.value
        i = where.get(key)
        if i is not None:
            first = out[i]
            out[i] = None
            if duplicates is not None and first is not None:
                duplicates.append(
                    (
                        k._sl,
                        f"duplicate key {_short(str(key))!r} in a mapping (also on line "
                        f"{first[0]._sl}): the last value is used, as Kubernetes, GitLab and "
                        "PyYAML do; other tools may read the first",
                    )
                )
        where[key] = len(out)
        out.append((k, v))
    resolved = [p for p in out if p is not None]
    for m in merges:
        for src in m.value if m.kind == "seq" else [m]:  # type: ignore[attr-defined]
            if not isinstance(src, YNode) or src.kind != "map":
                continue
            for k, v in src.value:  # type: ignore[attr-defined]
                key = k.value if k.kind == "scalar" else id(k)
                if key not in where:
                    where[key] = -1
                    resolved.append((k, v))
    node.value = resolved


def _height(node: YNode, memo: dict[int, int]) -> int:
    """Levels of collections from `node` down (a scalar is 0), without recursion; memoised
    per node, so each node of a file is measured at most once."""
    if node.kind == "scalar":
        return 0
    got = memo.get(id(node))
    if got is not None:
        return got
    stack: list[tuple[YNode, bool]] = [(node, False)]
    while stack:
        n, children_done = stack.pop()
        if id(n) in memo:
            continue
        kids: list[YNode] = (
            [x for pair in n.value for x in pair]  # type: ignore[attr-defined]
            if n.kind == "map"
            else list(n.value)  # type: ignore[call-overload]
        )
        kids = [c for c in kids if c.kind != "scalar"]
        if children_done:
            memo[id(n)] = 1 + max((memo[id(c)] for c in kids), default=0)
            continue
        stack.append((n, True))
        stack.extend((c, False) for c in kids if id(c) not in memo)
    return memo[id(node)]


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _skip_properties(node: YNode, text: str) -> None:
    """Move a node's start past its `&anchor` and `!tag` (libyaml starts the node there), so
    a finding points at the value itself. Only on the same line."""
    i = node._si
    n = len(text)
    while i < n and text[i] in "&!":
        while i < n and text[i] not in " \t\n\r":
            i += 1
        while i < n and text[i] in " \t":
            i += 1
    if i < n and text[i] not in "\n\r" and i > node._si:
        node._sc += i - node._si
        node._si = i


def _bomb(max_nodes: int) -> str:
    return f"alias expansion exceeds {max_nodes} nodes (possible YAML alias bomb)"
