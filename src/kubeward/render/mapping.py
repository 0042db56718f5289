"""From a value in Helm's rendered output back to the line that produced it.

Helm keeps no positions, so the producing line is found by matching, in this order:
1. the template line that writes the value literally (`kind: ClusterRole`, `verbs: ["*"]`),
   looked up after the line of its key;
2. the values line that holds it (the highest-precedence layer first: a GitOps object's
   values, the CLI's, then the chart's `values.yaml`), exact match first, else the value
   that ends last inside it (the tag of `repo:tag`);
3. the template line of its key (`image: {{ include "x.image" . }}`);
4. the line of the object's `kind:` in the template, else the template's first line.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from kubeward.model.helm import image_map_span, is_image_map
from kubeward.model.image import parse_image
from kubeward.parse.yamlnode import YNode
from kubeward.source import SourceFile, Span

_ACTION_RE = re.compile(r"\{\{.*?\}\}")
_WINDOW = 40  # lines after a key's line where its value may be written (a block list)
_MIN_PART = 3  # a values scalar shorter than this is not matched inside a longer value


def node_path(docs: Sequence[YNode], span: Span) -> list[tuple[str | None, YNode]]:
    """The chain of (key, node) from a document to the node with exactly `span` (or the
    smallest node holding it); a sequence item's key is None."""
    off_s, off_e = span.start.offset, span.end.offset
    for doc in docs:
        if not (doc.start.offset <= off_s and off_e <= doc.end.offset):
            continue
        chain: list[tuple[str | None, YNode]] = [(None, doc)]
        node = doc
        while True:
            nxt: tuple[str | None, YNode] | None = None
            children: list[tuple[str | None, YNode]] = []
            if node.is_map:
                for k, v in node.items():
                    key = str(k.value) if k.is_scalar else None
                    children.append((key, k))
                    children.append((key, v))
            elif node.is_seq:
                children = [(None, v) for v in node.seq()]
            for key, child in children:
                if child.start.offset <= off_s and off_e <= child.end.offset and child is not node:
                    nxt = (key, child)
                    break
            if nxt is None:
                return chain
            chain.append(nxt)
            node = nxt[1]
            if (
                node.start.offset == off_s
                and node.end.offset == off_e
                and not (node.is_map or node.is_seq)
            ):
                return chain
    return []


def chain_path(chain: Sequence[tuple[str | None, YNode]]) -> list[str]:
    """The JSON-pointer parts of a chain from `node_path` (sequence items by index)."""
    out: list[str] = []
    for (_k, parent), (key, node) in itertools.pairwise(chain):
        if parent.is_seq:
            out.append(str(next((i for i, v in enumerate(parent.seq()) if v is node), -1)))
        elif key is not None:
            out.append(key)
    return out


@dataclass(frozen=True)
class Scope:
    """What one Kustomize patch changed: the rendered documents (by index) it applied to and,
    for JSON 6902, the paths its operations wrote (None: anywhere in those documents)."""

    docs: frozenset[int]
    paths: tuple[tuple[str, ...], ...] | None = None

    def covers(self, doc: int, path: Sequence[str]) -> bool:
        if doc not in self.docs:
            return False
        if self.paths is None:
            return True
        return any(tuple(path[: len(p)]) == p for p in self.paths)


@dataclass
class ValuesIndex:
    """Scalars of a values layer by text, with the key that holds each."""

    by_text: dict[str, list[tuple[str | None, YNode]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    parents: dict[int, YNode] = field(default_factory=dict)  # id(scalar) -> its mapping
    up: dict[int, YNode] = field(default_factory=dict)  # id(node) -> the collection holding it

    @classmethod
    def of(cls, root: YNode, limit: int = 100_000) -> ValuesIndex:
        idx = cls()
        stack: list[tuple[str | None, YNode]] = [(None, root)]
        n = 0
        while stack and n < limit:
            key, node = stack.pop()
            n += 1
            if node.is_map:
                for k, v in node.items():
                    stack.append((str(k.value) if k.is_scalar else None, v))
                    idx.up[id(v)] = node
                    if v.is_scalar:
                        idx.parents[id(v)] = node
            elif node.is_seq:
                stack.extend((key, v) for v in node.seq())
                for v in node.seq():
                    idx.up[id(v)] = node
            elif node.text:
                idx.by_text[node.text.strip()].append((key, node))
        return idx

    def names_above(self, node: YNode) -> set[str]:
        """The `name` values of the mappings that hold `node` (which container, which rule)."""
        out: set[str] = set()
        n: YNode | None = self.up.get(id(node))
        while n is not None and len(out) < 32:
            if n.is_map:
                v = n.get("name")
                if v is not None and v.text:
                    out.add(v.text)
            n = self.up.get(id(n))
        return out

    def same_key(self, text: str, key: str | None) -> list[YNode]:
        return [n for k, n in self.by_text.get(text, []) if k == key]

    def exact(self, text: str, key: str | None, *, same_key: bool = False) -> YNode | None:
        hits = self.by_text.get(text)
        if not hits:
            return None
        for k, node in hits:
            if k == key:
                return node
        return None if same_key else hits[0][1]

    def _best(self, hits: list[tuple[str | None, YNode]], text: str) -> YNode:
        """Of equal scalars, the one whose siblings the rendered value also holds: the tag of
        `bitnami/redis`, not the same tag of `bitnami/redis-sentinel` beside it."""

        def score(node: YNode) -> int:
            parent = self.parents.get(id(node))
            if parent is None:
                return 0
            return sum(
                1
                for _k, v in parent.items()
                if v is not node and v.text and len(v.text) >= _MIN_PART and v.text in text
            )

        return max((n for _k, n in hits), key=score)

    def inside(self, text: str) -> tuple[int, int, YNode] | None:
        """The scalar found in `text` that ends last (then the longest): (end, length, node)."""
        best: tuple[int, int, YNode] | None = None
        for t, hits in self.by_text.items():
            if len(t) < _MIN_PART or len(t) >= len(text):
                continue
            at = text.rfind(t)
            if at < 0:
                continue
            cand = (at + len(t), len(t), self._best(hits, text))
            if best is None or cand[:2] > best[:2]:
                best = cand
        return best


@dataclass(frozen=True)
class Located:
    span: Span
    how: str  # "template" (written there), "values", "template-key", "template-object"


def _literal_col(line: str, needle: str) -> int:
    """Column (0-based) of `needle` on `line` outside template actions, else -1."""
    masked = _ACTION_RE.sub(lambda m: " " * len(m.group(0)), line)
    i = masked.find(needle)
    if i < 0:
        return -1
    # A whole word: `*` in `"*"` yes, `app` in `apps` no.
    before = masked[i - 1] if i > 0 else " "
    after = masked[i + len(needle)] if i + len(needle) < len(masked) else " "
    if (before.isalnum() or before in "_-.") or (after.isalnum() or after in "_-."):
        return -1
    return i


def _key_lines(tf: SourceFile, key: str) -> list[int]:
    pat = re.compile(r"(?:^|[\s{,\-])[\"']?" + re.escape(key) + r"[\"']?\s*:")
    return [
        i
        for i, line in enumerate(tf.text.split("\n"), start=1)
        if pat.search(_ACTION_RE.sub("", line))
    ]


def locate(
    *,
    rendered_docs: Sequence[YNode],
    span: Span,
    template: SourceFile | None,
    values: Sequence[tuple[ValuesIndex, SourceFile | None, Span | None]],
    strict: bool = False,
    scopes: Sequence[Scope] = (),
) -> Located | None:
    """`strict`: only a value written under the same key in `values` counts (Kustomize
    patches, whose other values the scanned files already judge)."""
    """Where in the template (or values) the rendered `span` was produced; None: unknown."""
    chain = node_path(rendered_docs, span)
    if not chain:
        return None
    node = chain[-1][1]
    key = next((k for k, _ in reversed(chain) if k is not None), None)
    text = node.text.strip() if node.is_scalar and node.text else None
    # The key's line nearest after its parents' lines (`roleRef:` then its `name:`).
    anchored: list[int] = []
    if template is not None:
        at = 0
        for k in dict.fromkeys(k for k, _ in chain if k is not None):
            after = [ln for ln in _key_lines(template, k) if ln >= at]
            if after:
                at = after[0]
        if key:
            lines = _key_lines(template, key)
            anchored = [ln for ln in lines if ln >= at] + [ln for ln in lines if ln < at]
    if template is not None and text and key:
        for kl in anchored:
            for ln in range(kl, min(kl + _WINDOW, len(template.lines.starts)) + 1):
                col = _literal_col(template.line_text(ln), text)
                if col >= 0:
                    return Located(template.line_span(ln, col + 1, len(text)), "template")
                if ln > kl and _key_lines_at(template, ln):
                    break
    if strict:
        # Of the patches' values under the same key, the one in the same named objects
        # (container `debug`), the last patch applied on a tie.
        names = {
            n.get_str("name") or "" for _k, n in chain if n.is_map and n.get("name") is not None
        }
        best: tuple[int, int, Span] | None = None
        doc = next((i for i, d in enumerate(rendered_docs) if d is chain[0][1]), -1)
        path = chain_path(chain)
        for order, (idx, vf, anchor) in enumerate(values if text else ()):
            if order < len(scopes) and not scopes[order].covers(doc, path):
                continue  # a value this patch did not write
            for same in idx.same_key(text or "", key):
                cand = (len(idx.names_above(same) & names), order, same.span if vf else anchor)
                if cand[2] is not None and (best is None or cand[:2] >= best[:2]):
                    best = (cand[0], cand[1], cand[2])
        return Located(best[2], "patch") if best is not None else None
    if text:
        for idx, vf, anchor in values:
            hit = idx.exact(text, key)
            if hit is not None:
                return Located(_values_span(idx, hit, key, text, vf, anchor), "values")
        for idx, vf, anchor in values:
            part = idx.inside(text)
            if part is not None:
                return Located(_values_span(idx, part[2], key, text, vf, anchor), "values")
    if template is None:
        return None
    if key and anchored:
        ln = anchored[0]
        t = template.line_text(ln)
        start = len(t) - len(t.lstrip())
        return Located(template.line_span(ln, start + 1, len(t) - start), "template-key")
    kind = chain[1][1].get_str("kind") if len(chain) > 1 and chain[0][1].is_map else None
    kind = kind or (chain[0][1].get_str("kind") if chain[0][1].is_map else None)
    if kind:
        for ln in _key_lines(template, "kind"):
            if kind in template.line_text(ln):
                t = template.line_text(ln)
                return Located(template.line_span(ln, 1, len(t)), "template-object")
    return Located(template.line_span(1), "template-object")


def _key_lines_at(tf: SourceFile, ln: int) -> bool:
    """Whether line `ln` starts another key at the same or a lower indentation level... cheaply:
    a line holding `word:` that is not a list item."""
    t = tf.line_text(ln).strip()
    return bool(t) and not t.startswith(("-", "{{", "#")) and bool(re.match(r"[\w\"'.-]+\s*:", t))


def _values_span(
    idx: ValuesIndex,
    hit: YNode,
    key: str | None,
    text: str,
    vf: SourceFile | None,
    anchor: Span | None,
) -> Span:
    """The values node's span; for an image assembled from a values image map, the value
    that decides (as `kubeward.model.helm.image_map_span` picks it)."""
    if vf is None:
        return anchor or hit.span
    parent = idx.parents.get(id(hit))
    if key == "image" and parent is not None and is_image_map(parent):
        return image_map_span(parent, parse_image(text))
    return hit.span
