"""Image indexes known offline: which platform manifests belong to which index.

A multi-arch tag names an OCI image index (or a Docker manifest list); a node pulls one of its
platform manifests. Runtimes differ in which digest `status.containerStatuses[].imageID`
reports: containerd reports the digest it resolved the name to (the index, for a multi-arch
image), Docker's `docker-pullable://` the repo digest it recorded. So a running digest that is
not the spec's (or the admitted) digest is drift only if it is not a platform manifest of that
index, and only the index manifest says which it is.

`--image-index FILE|DIR` gives such manifests as their raw JSON (what `crane manifest`,
`oras manifest fetch` or `docker buildx imagetools inspect --raw` print); the digest of a file
is the SHA-256 of its bytes, exactly as a registry computes it. `scan --verify-images` adds the
indexes it fetches from registries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kubeward import safe_read
from kubeward.discover import display_path
from kubeward.model.image import is_valid_digest
from kubeward.source import ScanError

INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
MAX_INDEX_BYTES = 4 * 1024 * 1024  # what the distribution registry accepts for a manifest


@dataclass
class IndexStore:
    """index digest -> the digests of its manifests (and the reverse)."""

    children: dict[str, frozenset[str]] = field(default_factory=dict)
    parents: dict[str, set[str]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    """index digest -> where it was learnt (a file, or the registry)."""

    def add(self, digest: str, manifest: object, source: str) -> bool:
        """Record `manifest` (parsed JSON) under `digest` if it is an index."""
        if not isinstance(manifest, dict):
            return False
        listed = manifest.get("manifests")
        media = manifest.get("mediaType")
        if not isinstance(listed, list) or (media is not None and media not in INDEX_MEDIA_TYPES):
            return False
        kids = frozenset(
            m["digest"]
            for m in listed
            if isinstance(m, dict)
            and isinstance(m.get("digest"), str)
            and is_valid_digest(m["digest"])
        )
        self.children[digest] = kids
        self.sources[digest] = source
        for k in kids:
            self.parents.setdefault(k, set()).add(digest)
        return True

    def knows(self, digest: str) -> bool:
        return digest in self.children

    def related(self, a: str, b: str) -> bool | None:
        """Whether `a` and `b` name the same image set: equal, one a manifest of the other
        index, or both manifests of one index. None when no known index decides it."""
        if a == b:
            return True
        if b in self.children.get(a, ()) or a in self.children.get(b, ()):
            return True
        if self.parents.get(a, set()) & self.parents.get(b, set()):
            return True
        if self.knows(a) or self.knows(b):
            return False  # the index is known and does not list the other digest
        return None


def read_indexes(paths: Sequence[Path], errors: list[ScanError], *, max_size: int) -> IndexStore:
    store = IndexStore()
    for p in paths:
        files = (
            sorted(str(f) for f in p.rglob("*") if f.is_file() and not f.is_symlink())
            if p.is_dir()
            else [str(p)]
        )
        for name in files:
            shown = display_path(Path(name).as_posix())
            try:
                raw = safe_read.read_bytes(name, root=None, max_size=min(max_size, MAX_INDEX_BYTES))
                data = json.loads(raw.decode("utf-8"))
            except ValueError as e:  # ReadRefused, bad UTF-8, bad JSON
                errors.append(ScanError(shown, f"image index not read: {e}"))
                continue
            except RecursionError:
                errors.append(ScanError(shown, "image index not read: nested too deeply"))
                continue
            digest = "sha256:" + hashlib.sha256(raw).hexdigest()
            if not store.add(digest, data, shown):
                errors.append(
                    ScanError(shown, "not an OCI image index or Docker manifest list; ignored")
                )
    return store
