"""What the evidence rules share: how they name a pushed image and the evidence a pipeline has
for its other images."""

from __future__ import annotations

from kubeward.registry import Related
from kubeward.slsa import ImageBuild

COSIGN_SIGN = "https://docs.sigstore.dev/cosign/signing/signing_with_containers/"


def describe_push(b: ImageBuild) -> str:
    """The pushed image, its job and how it is pushed, as findings name them."""
    image = b.image or "?"
    if "$" in image and b.keys and b.keys[0].literal:
        image = f"{b.keys[0].repo} ({image})"
    return f"image {image} pushed by job {b.job} ({b.push_how})"


def evidence_elsewhere(b: ImageBuild, kind: str) -> tuple[str, tuple[Related, ...]]:
    """A message tail and related locations for evidence the pipeline has for other images."""
    others = b.others(kind)
    if not others:
        return "", ()
    names = sorted({e.image.split("@", 1)[0] for e in others})
    tail = f" ({others[0].how} in the pipeline covers only {', '.join(names)})"
    return tail, tuple(
        Related(e.span, f"{e.how} for {e.image.split('@', 1)[0]}") for e in others[:3]
    )
