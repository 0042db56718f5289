"""The `running-tag-moved` rule: one tag runs as different digests in one namespace."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.runtime import RunningContainer, RunningTag, node_architectures
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
from kubeward.rules.runtime._multiarch import related
from kubeward.source import shorten


def _classes(ctx: RuleContext, digests: list[str]) -> list[list[str]]:
    """Digests grouped where a known index says they are one image: an index with its
    platform manifests (keyed by the index), in the order of `digests`. Linear, however many
    digests a hostile snapshot holds."""
    view = ctx.scan.cluster
    out: dict[str, list[str]] = {}
    for d in digests:
        key = d
        if view is not None and not view.indexes.knows(d) and view.indexes.parents.get(d):
            key = min(view.indexes.parents[d])
        out.setdefault(key, []).append(d)
    return list(out.values())


@rule(
    id="running-tag-moved",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    references=("https://github.com/kubernetes/kubernetes/issues/115199",),
)
def running_tag_moved(group: RunningTag, ctx: RuleContext) -> Iterator[Finding]:
    """Same image tag runs as different digests across replicas or nodes: the tag moved.

    Containers of one namespace that name the same image by tag (`app:1.4`, as written) run
    more than one digest (`imageID`). The finding points at the `imageID` of the first
    container of each digest other than the most common one, with a container running the
    most common digest as related location. Pods on nodes of different architectures (read
    from the snapshot's Nodes) can run different platform manifests of one index; unless an
    index known to the scan settles it, such findings say so and are of medium severity.

    ## Why it matters
    A tag is a name anyone with push access can point at other content. Replicas started
    before and after the push run different code under one name; what was reviewed, scanned
    or admitted for the tag is at best one of them. A pushed tag is also how a compromised
    registry account reaches running Pods on their next restart or reschedule.

    ## Remediation
    Pin the image by digest (`app:1.4@sha256:…`) in the workload, or let the admission
    controller rewrite tags to digests (Kyverno `mutateDigest`, the kubeward gate's mutating
    webhook), then roll the workload out so every replica runs the one digest. Find out who
    pushed the tag and whether the new content was meant.
    """
    by_digest = group.digests()
    if len(by_digest) < 2:
        return
    ordered = sorted(by_digest, key=lambda d: (-len(by_digest[d]), by_digest[d][0].span.start))
    classes = _classes(ctx, ordered)
    if len(classes) < 2:
        return
    archs = node_architectures(ctx.scan)

    def arch(c: RunningContainer) -> str | None:
        return archs.get(c.pod.node_name or "")

    main = by_digest[classes[0][0]]
    main_arch = {arch(c) for c in main}
    for cls in classes[1:]:
        first = by_digest[cls[0]][0]
        known = {related(ctx, classes[0][0], d) for d in cls} == {False}
        others = {arch(c) for d in cls for c in by_digest[d]}
        same_arch = None not in main_arch | others and len(main_arch | others) == 1
        msg = (
            f"{shorten(group.image)} runs as {cls[0]} in {first.display} but as "
            f"{classes[0][0]} in {len(main)} other container(s) of namespace "
            f"{shorten(group.namespace)}"
        )
        where = (Related(main[0].span, f"{main[0].display} runs {classes[0][0]}"),)
        if known or same_arch:
            yield Finding(first.span, f"{msg}: the tag moved", related=where)
            continue
        yield Finding(
            first.span,
            f"{msg}: the tag moved, unless these are platform manifests of one index pulled on "
            "nodes of different architectures (kubeward cannot tell offline without the index "
            "manifest: give it with --image-index, or check online with --verify-images)",
            related=where,
            severity=Severity.MEDIUM,
        )
