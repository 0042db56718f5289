"""The `running-digest-differs-from-spec` rule: a pinned container runs another digest."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.runtime import RunningContainer
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
from kubeward.rules.runtime._multiarch import UNDECIDED, related


@rule(
    id="running-digest-differs-from-spec",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    references=(
        "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus",
        "https://github.com/kubernetes/kubernetes/issues/115199",
    ),
)
def running_digest_differs_from_spec(c: RunningContainer, ctx: RuleContext) -> Iterator[Finding]:
    """Running container's image digest differs from the digest its spec pins.

    The Pod's spec names `image@sha256:A`; its status (`containerStatuses[].imageID`, and the
    init and ephemeral container statuses) says the runtime started `sha256:B`. The finding
    points at the `imageID`, with the spec's image as related location. When an image index
    known to the scan (`--image-index`, or fetched by `--verify-images`) lists B as a platform
    manifest of A, it is not drift and nothing is reported; when neither index is known the
    finding says so and is of medium severity.

    ## Why it matters
    A digest pin is the one reference that cannot move: admission verified, and the spec
    promises, exactly that content. A different running digest means the node ran something
    else: an image pre-loaded or replaced in the node's image store under that name, a runtime
    that resolved the name through a mirror serving other content, or a status rewritten by
    whoever controls the node. Signatures and admission judged an image that is not running.

    ## Remediation
    Find the node (`spec.nodeName`) and inspect its image store (`crictl images --digests`,
    `crictl inspecti`). Delete the Pod so it is pulled again from the registry by digest, and
    find out how the other content got there. For multi-arch images, give the index manifest
    (`crane manifest IMAGE@sha256:A > index.json`, then `--image-index index.json`) so the
    platform digest can be checked against it.
    """
    spec, iid = c.spec_image, c.image_id
    if spec is None or spec.digest is None or iid is None or iid.digest is None:
        return
    if iid.digest == spec.digest:
        return
    link = related(ctx, spec.digest, iid.digest)
    if link is True:
        return
    where = (Related(c.spec.image_span, "the pinned image in the spec"),) if c.spec else ()
    msg = f"{c.display} runs {iid.digest}, not the pinned {spec.digest}"
    if link is None:
        yield Finding(c.span, f"{msg}; {UNDECIDED}", related=where, severity=Severity.MEDIUM)
        return
    yield Finding(c.span, f"{msg} (the index {spec.digest} does not list it)", related=where)
