"""Image references that are placeholders, filled in before deploy, not tags to judge.

Two shapes seen in real repositories:

- **Skaffold build artifacts.** `skaffold.yaml` (`apiVersion: skaffold/...`, `kind: Config`)
  declares `build.artifacts[].image: my-app`; Skaffold builds the image and rewrites every
  manifest reference to that name with the image it built, tagged and pinned by digest. The
  manifests' `image: my-app` is a name for Skaffold, not what runs.
- **ALL-CAPS tokens** substituted by `sed`, `envsubst` or a CI step: `gcr.io/PROJECT_ID/app:v1`
  (the Google Cloud samples' shape), `ghcr.io/acme/app:IMAGE_TAG`, `REGISTRY/app:1.0`, and
  documentation placeholders in angle brackets (`<image_url>`, `<YOUR-CONTAINER>`).
  (`${VAR}` and `$VAR` are already templated values: `kubeward.parse.yamlnode.is_templated`.)

The image rules leave placeholders to `image-unresolved`, which notes them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubeward.model.image import parse_image
from kubeward.model.images import ImageUse
from kubeward.registry import scan_provider
from kubeward.source import FileKind, Span

if TYPE_CHECKING:
    from kubeward.scan_context import ScanContext

# A token of three or more capitals, digits and underscores with at least three capitals:
# `PROJECT_ID`, `IMAGE_TAG`, `REGISTRY`. Real tags in capitals are rare; real repository
# names cannot hold capitals at all.
_CAPS_TOKEN = re.compile(r"^(?=(?:[^A-Z]*[A-Z]){3})[A-Z][A-Z0-9_]*$")
_SPLIT = re.compile(r"[/:@]")
_ANGLE = re.compile(r"<[^<>\s]{1,64}>")


@dataclass(frozen=True, slots=True)
class SkaffoldArtifact:
    """An image name a `skaffold.yaml` builds, and the directory its project covers."""

    image: str  # the familiar name, without tag (as Skaffold matches it)
    root: str  # the directory of the skaffold.yaml ('' for the scan's top)
    span: Span


@scan_provider(SkaffoldArtifact)
def skaffold_artifacts(scan: ScanContext) -> Iterator[SkaffoldArtifact]:
    for f in scan.files:
        if f.kind is not FileKind.YAML or "skaffold/" not in f.text:
            continue
        for doc in f.documents:
            api = doc.get_str("apiVersion") if doc.is_map else None
            if not api or not api.startswith("skaffold/"):
                continue
            builds = [doc.get("build")]
            profiles = doc.get("profiles")
            if profiles is not None and profiles.is_seq:
                builds += [p.get("build") for p in profiles.seq() if p.is_map]
            for build in builds:
                arts = build.get("artifacts") if build is not None and build.is_map else None
                if arts is None or not arts.is_seq:
                    continue
                for a in arts.seq():
                    node = a.get("image") if a.is_map else None
                    if node is None or not node.is_scalar or not node.text:
                        continue
                    ref = parse_image(node.text)
                    if ref.is_resolved:
                        root = posixpath.dirname(f.rel)
                        yield SkaffoldArtifact(ref.familiar_name, root, node.span)


def placeholder(use: ImageUse, scan: ScanContext) -> str | None:
    """Why `use` is a placeholder (for a message), or None when it is a reference to judge."""
    text = use.ref.text.strip()
    angle = _ANGLE.search(text)
    if angle is not None:  # `<image_url>`, `<YOUR-CONTAINER>`: a documentation placeholder
        return f"a placeholder ({angle.group(0)}) to be filled in"
    caps = [t for t in _SPLIT.split(text) if _CAPS_TOKEN.match(t)]
    if caps:
        return f"a placeholder ({', '.join(caps)}) filled in before deploy (sed, envsubst, CI)"
    if not use.ref.is_resolved:
        return None
    name = use.ref.familiar_name
    for art in scan.instances(SkaffoldArtifact):
        if art.image == name and _under(use.span.path, art.root):
            return (
                f"the Skaffold build artifact {name} ({art.span.path}): Skaffold replaces it "
                "with the image it builds"
            )
    return None


def _under(path: str, root: str) -> bool:
    return not root or root == "." or path == root or path.startswith(root.rstrip("/") + "/")
