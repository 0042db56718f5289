"""Whether two digests name one multi-arch image, as far as the scan can know."""

from __future__ import annotations

from kubeward.registry import RuleContext

UNDECIDED = (
    "one may be an image index and the other one of its platform manifests, which is not "
    "drift; without the index manifest kubeward cannot tell offline (give it with "
    "--image-index, or check online with --verify-images)"
)


def related(ctx: RuleContext, a: str, b: str) -> bool | None:
    """True: the same image set; False: a known index rules it out; None: cannot tell."""
    view = ctx.scan.cluster
    if a == b:
        return True
    if view is None:
        return None
    return view.indexes.related(a, b)
