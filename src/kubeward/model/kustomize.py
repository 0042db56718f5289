"""Kustomize: `kustomization.yaml` files, what they include, and their `images:` transformers.

The `Kustomization` model is per file; `KustomizeTree` (built over the whole scan) resolves the
local `resources`, `bases` and `components` of every kustomization (files and directories,
recursively) so that the image rules can judge the image a deployment really gets.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from kubeward.model.gitref import is_full_commit
from kubeward.model.image import ImageRef, parse_image
from kubeward.parse.yamlnode import YNode, is_templated
from kubeward.registry import instances_in, provider, scan_provider
from kubeward.source import FileKind, SourceFile, Span

if TYPE_CHECKING:
    from kubeward.scan_context import ScanContext

_SHA_IN_PATH_RE = re.compile(r"(?:^|/)[0-9a-f]{40}(?:/|$)")
_KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True, slots=True)
class KustomizeEntry:
    """One item of `resources`, `bases` or `components`."""

    field: str
    value: str
    node: YNode

    @property
    def is_remote(self) -> bool:
        return is_remote_target(self.value)


@dataclass(frozen=True, slots=True)
class ImageOverride:
    """One `images:` entry: `name` → `newName`, `newTag`, `digest`."""

    node: YNode
    name: str
    new_name: str | None
    new_tag: str | None
    digest: str | None

    def key_span(self, key: str) -> Span | None:
        v = self.node.get(key)
        return v.span if v is not None else None

    @property
    def span(self) -> Span:
        """The most specific value of the entry: digest, else newTag, else newName, else name."""
        for key in ("digest", "newTag", "newName", "name"):
            s = self.key_span(key)
            if s is not None:
                return s
        return self.node.span

    def matches(self, ref: ImageRef) -> bool:
        """Kustomize matches on the image name as written, without tag or digest."""
        if not ref.is_resolved:
            return False
        written = _strip_tag(ref.text.strip())
        return written == self.name or ref.name == parse_image(self.name).name

    def apply(self, ref: ImageRef) -> ImageRef:
        """The image after this transformer, as Kustomize's image transformer writes it."""
        name = self.new_name or _strip_tag(ref.text.strip())
        tag = ref.tag
        digest = ref.digest
        if self.new_tag is not None:
            tag, digest = self.new_tag, None
        if self.digest is not None:
            tag, digest = None, self.digest  # kustomize drops the tag when setting a digest
        text = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        return parse_image(text)

    @property
    def standalone_ref(self) -> ImageRef | None:
        """The image this entry names on its own, when it fixes the tag or digest itself."""
        if self.new_tag is None and self.digest is None:
            return None
        name = self.new_name or self.name
        text = name + (f":{self.new_tag}" if self.new_tag and not self.digest else "")
        if self.digest:
            text += f"@{self.digest}"
        return parse_image(text)


def _strip_tag(text: str) -> str:
    name = text.split("@", 1)[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    return name[:colon] if colon > slash else name


@dataclass(frozen=True, slots=True)
class Kustomization:
    file: SourceFile
    node: YNode
    entries: tuple[KustomizeEntry, ...]
    images: tuple[ImageOverride, ...]
    namespace: str | None = None  # the `namespace:` it sets on what it includes

    @property
    def dir(self) -> str:
        return posixpath.dirname(self.file.rel)


def is_remote_target(value: str) -> bool:
    v = value.strip()
    low = v.lower()
    return (
        low.startswith(("http://", "https://", "git::", "ssh://", "git@", "github.com/"))
        or low.startswith(("gitlab.com/", "bitbucket.org/"))
        or "git::" in low
    )


def remote_ref(value: str) -> str | None:
    """The `?ref=` (or `?version=`) of a remote target, else None."""
    v = value.strip()
    if v.startswith("git::"):
        v = v[len("git::") :]
    if "?" not in v:
        return None
    query = v.split("?", 1)[1]
    qs = parse_qs(query)
    for key in ("ref", "version"):
        if qs.get(key):
            return qs[key][0]
    return None


def is_pinned_remote(value: str) -> bool:
    """Pinned to a commit: `?ref=<40 hex>`, or a raw file URL with a commit in its path."""
    ref = remote_ref(value)
    if ref is not None:
        return is_full_commit(ref)
    v = value.strip()
    if v.startswith(("http://", "https://")):
        path = urlsplit(v).path
        return bool(_SHA_IN_PATH_RE.search(path))
    return False


def _entries(doc: YNode) -> Iterator[KustomizeEntry]:
    for fld in ("resources", "bases", "components"):
        seq = doc.get(fld)
        for item in seq.seq() if seq is not None else []:
            if item.is_scalar and item.text:
                yield KustomizeEntry(field=fld, value=item.text.strip(), node=item)


def _text(node: YNode | None) -> str | None:
    if node is None or not node.is_scalar or node.text is None:
        return None
    t = node.text.strip()
    return t or None


def _images(doc: YNode) -> Iterator[ImageOverride]:
    seq = doc.get("images")
    for item in seq.seq() if seq is not None else []:
        if not item.is_map:
            continue
        name = _text(item.get("name"))
        if not name or is_templated(name):
            continue
        yield ImageOverride(
            node=item,
            name=name,
            new_name=_text(item.get("newName")),
            new_tag=_text(item.get("newTag")),
            digest=_text(item.get("digest")),
        )


@provider(Kustomization)
def kustomizations(f: SourceFile) -> Iterator[Kustomization]:
    if f.kind is not FileKind.KUSTOMIZATION:
        return
    for doc in f.documents[:1]:
        if doc.is_map:
            ns = _text(doc.get("namespace"))
            yield Kustomization(
                file=f,
                node=doc,
                entries=tuple(_entries(doc)),
                images=tuple(_images(doc)),
                namespace=ns if ns is not None and not is_templated(ns) else None,
            )


# --- the tree over a scan ---------------------------------------------------------------------


@dataclass
class KustomizeTree:
    """Which files each kustomization includes, and which kustomizations are roots.

    Paths are scan-relative. A kustomization is a *root* when no other scanned kustomization
    includes its directory (an overlay, or a base nobody overlays).
    """

    by_dir: dict[str, Kustomization]
    files: set[str]

    @classmethod
    def build(cls, kustomizations: list[Kustomization], files: set[str]) -> KustomizeTree:
        return cls({k.dir: k for k in kustomizations}, files)

    def _resolve(self, k: Kustomization, entry: KustomizeEntry) -> tuple[str, str] | None:
        """('dir', path) for a local kustomization directory, ('file', path) for a local file."""
        if entry.is_remote or is_templated(entry.value):
            return None
        path = (
            posixpath.normpath(posixpath.join(k.dir, entry.value))
            if k.dir
            else (posixpath.normpath(entry.value))
        )
        if path.startswith("../") or path == "..":
            return None
        if path == ".":
            path = ""
        if path in self.by_dir and path != k.dir:
            return ("dir", path)
        if path in self.files:
            return ("file", path)
        return None

    def children(self, k: Kustomization) -> Iterator[tuple[str, str]]:
        for e in k.entries:
            got = self._resolve(k, e)
            if got is not None:
                yield got

    def roots(self) -> list[Kustomization]:
        included: set[str] = set()
        for k in self.by_dir.values():
            for kind, path in self.children(k):
                if kind == "dir":
                    included.add(path)
        return [k for d, k in sorted(self.by_dir.items()) if d not in included]

    def resource_chains(
        self, root: Kustomization
    ) -> Iterator[tuple[str, tuple[Kustomization, ...]]]:
        """Each resource file `root` includes, with the kustomizations from it up to `root`.

        The chain is innermost first: the order in which Kustomize applies their `images:`.
        Every path through the tree is a chain, so kustomizations that each include the next
        two make exponentially many (26 of them: a minute); past `MAX_CHAIN_STEPS` directories
        visited from one root, the rest are not followed. (Kustomize itself refuses such a
        tree: the shared resources are added twice.)
        """
        seen: set[tuple[str, tuple[str, ...]]] = set()
        steps = 0

        def walk(
            k: Kustomization, outer: tuple[Kustomization, ...], depth: int
        ) -> Iterator[tuple[str, tuple[Kustomization, ...]]]:
            nonlocal steps
            steps += 1
            if steps > MAX_CHAIN_STEPS:
                return
            if depth > 32 or any(o.dir == k.dir for o in outer):
                return  # a cycle: Kustomize refuses it too
            chain = (k, *outer)
            for kind, path in self.children(k):
                if kind == "dir":
                    yield from walk(self.by_dir[path], chain, depth + 1)
                else:
                    key = (path, tuple(c.dir for c in chain))
                    if key not in seen:
                        seen.add(key)
                        yield path, chain

        yield from walk(root, (), 0)


# --- the namespace a kustomization gives what it includes ---------------------------------------


MAX_CHAIN_STEPS = 5_000
"""Directories `KustomizeTree.resource_chains` visits from one root kustomization."""


@dataclass(frozen=True, slots=True)
class KustomizeNamespaces:
    """For each scanned file that a root kustomization includes, the namespace each root gives
    its objects (None where no kustomization on the way sets one: the file's own namespace
    stands). Kustomize applies the innermost kustomization first, so the outermost `namespace:`
    wins."""

    by_file: dict[str, tuple[str | None, ...]]

    def of(self, rel: str, written: str | None) -> tuple[str | None, ...]:
        """The namespaces an object written with namespace `written` in `rel` is deployed to."""
        got = self.by_file.get(rel)
        if not got:
            return (written,)
        return tuple(dict.fromkeys(written if ns is None else ns for ns in got))


@scan_provider(KustomizeNamespaces)
def kustomize_namespaces(scan: ScanContext) -> Iterator[KustomizeNamespaces]:
    kusts = [k for f in scan.files for k in instances_in(f, Kustomization)]
    if not any(k.namespace for k in kusts):
        yield KustomizeNamespaces({})
        return
    tree = KustomizeTree.build(kusts, {f.rel for f in scan.files})
    by_file: dict[str, list[str | None]] = defaultdict(list)
    for root in tree.roots():
        for path, chain in tree.resource_chains(root):
            by_file[path].append(next((k.namespace for k in reversed(chain) if k.namespace), None))
    yield KustomizeNamespaces({p: tuple(dict.fromkeys(v)) for p, v in by_file.items()})


def deployed_namespaces(scan: ScanContext, rel: str, written: str | None) -> tuple[str | None, ...]:
    """The namespaces a namespaced object of file `rel` is deployed to, Kustomize considered."""
    got = scan.instances(KustomizeNamespaces)
    return got[0].of(rel, written) if got else (written,)
