"""What the evidence rules share: how they name a pushed image and the evidence a pipeline has
for its other images."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kubeward.registry import Finding, Related
from kubeward.slsa import Evidence, ImageBuild

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


def missing_strong_evidence(
    b: ImageBuild,
    kind: str,
    *,
    weak: Callable[[Evidence], str],
    weak_label: str,
    missing: str,
) -> Iterator[Finding]:
    """A finding when the push has no strong evidence of `kind`: the first weak one is named
    (`weak` gives the message after the push, `weak_label` labels its location), or else the
    push gets `missing` plus the evidence the pipeline has for its other images."""
    found = b.of(kind)
    if any(e.strong for e in found):
        return
    if found:
        yield Finding(
            b.push_span,
            f"{describe_push(b)}: {weak(found[0])}",
            related=(Related(found[0].span, weak_label),),
        )
        return
    tail, related = evidence_elsewhere(b, kind)
    yield Finding(b.push_span, f"{describe_push(b)} {missing}{tail}", related=related)
