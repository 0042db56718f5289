"""Kustomize patches applied: the objects an overlay's patches make, judged by every rule.

For each root kustomization of the scan (one no other includes), the local resources it
includes (files and kustomization directories, recursively, as `KustomizeTree` resolves them:
scanned files only, so nothing is read here) are patched as `kustomize build` does: strategic
merge patches (`patchesStrategicMerge`, and `patches` entries whose patch is an object) and
JSON 6902 patches (`patchesJson6902`, and `patches` entries whose patch is a list of
operations), each inner kustomization before the one that includes it. The objects some patch
changed are one more rendered file.

Only what a patch brings is reported from it: a finding whose value a patch wrote (an inline
`patch:` string, or a JSON 6902 patch file; traced through the objects each patch applied to
and the paths each operation wrote) is moved to that patch's line; every other finding of the
patched objects is left out, since the base file and a strategic-merge patch file are scanned,
and judged with the context the model gives them (an `images:` override), as the files they
are.

Not applied (so not judged on the effective objects): `replacements`, `namePrefix`/
`nameSuffix`, `namespace`, `commonLabels`, generators and `helmCharts`; `images:` keeps its
own model (`kubeward.model.kustomize`).
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import re2
import yaml

from kubeward.model.kustomize import Kustomization, KustomizeTree
from kubeward.parse.yamlnode import YamlLimitError, YNode, load_documents
from kubeward.registry import instances_in
from kubeward.render.mapping import Scope, ValuesIndex
from kubeward.render.values import typed
from kubeward.source import FileKind, ScanError, SourceFile, Span

MAX_OBJECTS = 5000
MAX_PATCHES = 500  # patch entries of one build, all kustomizations included
MAX_OPERATIONS = 2000  # JSON 6902 operations applied per object, over a whole build
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
MAX_DEPTH = 12
_LIST_KEYS = ("name", "mountPath", "containerPort", "devicePath", "ip", "topologyKey")


@dataclass
class Patched:
    """The patched objects of one root kustomization, and the patches that can be pointed at."""

    root: Kustomization
    objects: list[dict[str, Any]]
    layers: list[tuple[ValuesIndex, SourceFile | None, Span | None]] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    patches: int = 0
    scopes: list[Scope] = field(default_factory=list)  # one per layer


def _is_object(d: object) -> bool:
    return isinstance(d, dict) and isinstance(d.get("kind"), str)


def _name(d: dict[str, Any]) -> str | None:
    meta = d.get("metadata")
    n = meta.get("name") if isinstance(meta, dict) else None
    return n if isinstance(n, str) else None


# --- strategic merge ---------------------------------------------------------------------------


def _merge_key(items: list[Any]) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for k in _LIST_KEYS:
        if all(k in i for i in items):
            return k
    return None


def strategic_merge(base: Any, patch: Any) -> Any:
    """Kubernetes' strategic merge, for what kustomize patches use: maps merge, `null` and
    `$patch: delete` delete, lists of objects merge by their key (`name`, `mountPath`,
    `containerPort`...), `$patch: replace` replaces; other lists are replaced."""
    if isinstance(patch, dict) and isinstance(base, dict):
        if patch.get("$patch") == "replace":
            return {k: v for k, v in patch.items() if k != "$patch"}
        out = dict(base)
        for k, v in patch.items():
            if k.startswith("$"):
                continue
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = _merge_value(out[k], v)
            else:
                out[k] = _strip(v)
        return out
    return _strip(patch)


def _merge_value(base: Any, patch: Any) -> Any:
    if isinstance(base, list) and isinstance(patch, list):
        key = (
            _merge_key([*base, *[p for p in patch if p.get("$patch") != "delete"]])
            if (all(isinstance(p, dict) for p in patch))
            else None
        )
        if key is None:
            return _strip(patch)
        out = list(base)
        for p in patch:
            idx = next((i for i, b in enumerate(out) if b.get(key) == p.get(key)), None)
            if p.get("$patch") == "delete":
                if idx is not None:
                    out.pop(idx)
            elif idx is None:
                out.append(_strip(p))
            else:
                out[idx] = strategic_merge(out[idx], p)
        return out
    return strategic_merge(base, patch)


def _strip(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _strip(x) for k, x in v.items() if not str(k).startswith("$")}
    if isinstance(v, list):
        return [_strip(x) for x in v]
    return v


# --- JSON 6902 ----------------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"path {path!r} is not a JSON pointer")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json6902(doc: Any, ops: list[Any], written: list[tuple[str, ...]] | None = None) -> Any:
    """Apply `add`, `replace` and `remove` operations (RFC 6902); raises ValueError.
    The paths written (with `-` resolved) are appended to `written`."""
    if len(ops) > MAX_OPERATIONS:
        raise ValueError(f"over {MAX_OPERATIONS} operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise ValueError("an operation without a path")
        kind = op.get("op")
        parts = _pointer(op["path"])
        if not parts:
            if kind in ("add", "replace"):
                doc = copy.deepcopy(op.get("value"))
                continue
            raise ValueError("cannot remove the whole object")
        parent: Any = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        try:
            if isinstance(parent, list):
                i = len(parent) if last == "-" else int(last)
                if written is not None and kind in ("add", "replace"):
                    written.append((*parts[:-1], str(i)))
                if kind == "add":
                    parent.insert(i, copy.deepcopy(op.get("value")))
                elif kind == "replace":
                    parent[i] = copy.deepcopy(op.get("value"))
                elif kind == "remove":
                    parent.pop(i)
            elif isinstance(parent, dict):
                if written is not None and kind in ("add", "replace"):
                    written.append(tuple(parts))
                if kind in ("add", "replace"):
                    if kind == "replace" and last not in parent:
                        raise ValueError(f"replace of missing {op['path']}")
                    parent[last] = copy.deepcopy(op.get("value"))
                elif kind == "remove":
                    del parent[last]
        except (IndexError, KeyError, TypeError) as e:
            raise ValueError(f"{kind} {op['path']}: {e}") from None
    return doc


# --- targets -------------------------------------------------------------------------------------


def _selects(target: dict[str, Any], obj: dict[str, Any]) -> bool:
    api = str(obj.get("apiVersion") or "")
    group, _, version = api.rpartition("/") if "/" in api else ("", "", api)
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    have = {
        "kind": obj.get("kind"),
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "group": group,
        "version": version,
    }
    for k, want in target.items():
        if k not in have or not isinstance(want, str):
            continue
        got = have[k]
        if k == "name":  # kustomize takes a (Go) regular expression: RE2, linear time
            try:
                if re2.compile(want, options=_RE2_OPTIONS).fullmatch(str(got or "")) is None:
                    return False
            except re2.error:
                if want != got:
                    return False
        elif want != (got or ""):
            return False
    return True


# --- building ------------------------------------------------------------------------------------


_Item = tuple[dict[str, Any], "YNode | None", int]  # object, its base document, its id


class _Builder:
    def __init__(self, tree: KustomizeTree, by_rel: dict[str, SourceFile]) -> None:
        self.tree = tree
        self.by_rel = by_rel
        self.layers: list[tuple[ValuesIndex, SourceFile | None, Span | None]] = []
        # Per layer: the ids of the objects its patch applied to, and the paths it wrote.
        self.applied: list[tuple[set[int], list[tuple[str, ...]] | None]] = []
        self.errors: list[ScanError] = []
        self.patches = 0
        self._ids = 0

    def build(self, k: Kustomization, depth: int, seen: frozenset[str]) -> list[_Item]:
        if depth > MAX_DEPTH or k.dir in seen:
            return []
        seen = seen | {k.dir}
        items: list[_Item] = []
        for kind, path in self.tree.children(k):
            if kind == "dir":
                items.extend(self.build(self.tree.by_dir[path], depth + 1, seen))
            else:
                f = self.by_rel.get(path)
                for doc in f.documents if f is not None else []:
                    data = typed(doc) if doc.is_map else None
                    if isinstance(data, dict) and _is_object(data):
                        self._ids += 1
                        items.append((data, doc, self._ids))
            if len(items) > MAX_OBJECTS:
                raise ValueError(f"over {MAX_OBJECTS} objects")
        return self._patch(k, items)

    def _content(self, k: Kustomization, item: YNode, key: str) -> tuple[list[Any], YNode | None]:
        """The patch documents of an entry (`path` file or inline `patch`), and the nodes to
        point at (a file's, for a JSON 6902 patch; None when inline)."""
        if key == "path":
            raw = item.text or ""
            rel = posixpath.normpath(posixpath.join(k.dir, raw) if k.dir else raw)
            f = self.by_rel.get(rel)
            if f is None or not f.documents:
                return [], None
            return [typed(d) for d in f.documents], f.documents[0]
        docs = load_documents(item.text or "", k.file.rel, max_nodes=100_000)
        return [typed(d) for d in docs], None

    def _patch(self, k: Kustomization, items: list[_Item]) -> list[_Item]:
        for name in ("patchesStrategicMerge", "patches", "patchesJson6902"):
            seq = k.node.get(name)
            for entry in seq.seq() if seq is not None else []:
                if self.patches >= MAX_PATCHES:
                    raise ValueError(f"over {MAX_PATCHES} patches")
                try:
                    items = self._one(k, entry, name, items)
                except (ValueError, yaml.YAMLError, YamlLimitError, RecursionError) as e:
                    first = str(e).splitlines()[0] if str(e) else type(e).__name__
                    self.errors.append(
                        ScanError(
                            k.file.rel, f"{name} entry not applied: {first}", entry.start.line
                        )
                    )
        return items

    def _one(
        self, k: Kustomization, entry: YNode, field_name: str, items: list[_Item]
    ) -> list[_Item]:
        target: dict[str, Any] | None = None
        if entry.is_scalar:  # patchesStrategicMerge: a file, or the patch itself
            text = entry.text or ""
            key = "patch" if "\n" in text or "kind:" in text else "path"
            src = entry
        else:
            t = entry.get("target")
            target = typed(t) if t is not None and t.is_map else None
            found = entry.get("patch") or entry.get("path")
            if found is None:
                return items
            src = found
            key = "patch" if entry.get("patch") is not None else "path"
        docs, nodes = self._content(k, src, key)
        self.patches += 1
        ops = docs[0] if docs and isinstance(docs[0], list) else None
        applied: set[int] = set()
        if ops is not None or field_name == "patchesJson6902":
            if target is None:
                raise ValueError("a JSON 6902 patch needs a target")
            written: list[tuple[str, ...]] = []
            out: list[_Item] = []
            for obj, base, oid in items:
                if _selects(target, obj):
                    obj = json6902(obj, ops or [], written)
                    applied.add(oid)
                out.append((obj, base, oid))
            # Its values are pointed at where they are written: the file, or the entry.
            if nodes is not None:
                self._layer(
                    (ValuesIndex.of(nodes), self.by_rel.get(nodes.path), None), applied, written
                )
            else:
                self._inline_layer(src, applied, written)
            return out
        out = items
        for p in docs:
            if not isinstance(p, dict):
                continue
            sel = target or {"kind": p.get("kind"), "name": _name(p) or ""}
            sel = {k2: v for k2, v in sel.items() if v}
            nxt: list[_Item] = []
            for obj, base, oid in out:
                if _selects(sel, obj):
                    obj = strategic_merge(obj, p)
                    applied.add(oid)
                nxt.append((obj, base, oid))
            out = nxt
        if key == "patch":  # a patch file is scanned, and judged, as the file it is
            self._inline_layer(src, applied, None)
        return out

    def _layer(
        self,
        layer: tuple[ValuesIndex, SourceFile | None, Span | None],
        applied: set[int],
        written: list[tuple[str, ...]] | None,
    ) -> None:
        self.layers.append(layer)
        self.applied.append((applied, written))

    def _inline_layer(
        self, node: YNode, applied: set[int], written: list[tuple[str, ...]] | None
    ) -> None:
        """An inline patch. A literal block (`patch: |-`) is parsed where it sits in the file,
        so its values point at their own lines; any other string points at the entry."""
        f = self.by_rel.get(node.path)
        if f is not None and node.style == "|":
            start, end = node.start.offset, node.end.offset
            body = f.text.find("\n", start) + 1
            if 0 < body <= end:
                # The file with everything but the block blanked: positions stay the file's.
                text = _blank(f.text[:body]) + f.text[body:end] + _blank(f.text[end:])
                try:
                    docs = load_documents(text, f.rel, max_nodes=100_000)
                except (yaml.YAMLError, YamlLimitError, RecursionError):
                    docs = []
                if docs:
                    for d in docs:
                        self._layer((ValuesIndex.of(d), f, None), applied, written)
                    return
        for d in load_documents(node.text or "", node.path, max_nodes=100_000):
            self._layer((ValuesIndex.of(d), None, node.span), applied, written)


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


def patched_kustomizations(files: Sequence[SourceFile]) -> list[Patched]:
    """The patched objects of every root kustomization that patches anything."""
    ks = [
        k for f in files if f.kind is FileKind.KUSTOMIZATION for k in instances_in(f, Kustomization)
    ]
    if not any(
        k.node.get(n) is not None
        for k in ks
        for n in ("patchesStrategicMerge", "patches", "patchesJson6902")
    ):
        return []
    tree = KustomizeTree.build(ks, {f.rel for f in files})
    by_rel = {f.rel: f for f in files}
    out = []
    for root in tree.roots():
        b = _Builder(tree, by_rel)
        try:
            items = b.build(root, 0, frozenset())
        except ValueError as e:
            out.append(Patched(root, [], errors=[ScanError(root.file.rel, f"not built: {e}")]))
            continue
        if not b.patches:
            continue
        # Only the objects a patch changed: the others are the scanned files' own objects.
        touched = set().union(*(applied for applied, _w in b.applied)) if b.applied else set()
        items = [it for it in items if it[2] in touched]
        index = {oid: i for i, (_o, _b, oid) in enumerate(items)}
        scopes = [
            Scope(
                frozenset(index[o] for o in applied if o in index),
                tuple(written) if written is not None else None,
            )
            for applied, written in b.applied
        ]
        out.append(
            Patched(
                root,
                [o for o, _b, _i in items],
                b.layers,
                b.errors,
                b.patches,
                scopes=scopes,
            )
        )
    return out
