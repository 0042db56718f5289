"""The `running-image-side-loaded` rule: a container runs an image no registry served."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.runtime import RunningContainer
from kubeward.registry import Finding, Layer, Related, Severity, rule


@rule(
    id="running-image-side-loaded",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    references=(
        "https://github.com/containerd/containerd/issues/8408",
        "https://github.com/kubernetes/kubernetes/pull/33014",
    ),
)
def running_image_side_loaded(c: RunningContainer) -> Iterator[Finding]:
    """Running container's image has no repo digest: it was loaded onto the node, not pulled.

    The status reports an image *config* ID (`imageID: sha256:…` from containerd, or
    `docker://sha256:…` from Docker) instead of a repo digest (`registry/repo@sha256:…`,
    `docker-pullable://…`). Runtimes report a config ID when the image they started has no
    repo digest: imported from a tarball (`ctr images import`, `kind load`, `k3s` airgap
    images), built on the node, or retagged there. The finding points at the `imageID`.

    ## Why it matters
    No registry served this content, so no signature in a registry, no admission decision
    that resolved a digest, and no ledger entry can describe it: with
    `imagePullPolicy: IfNotPresent` (or `Never`) the kubelet runs whatever the node's image
    store holds under the name. It is the way around every check before the node.

    ## Remediation
    Push the image to a registry, pin it by digest and let the node pull it; set
    `imagePullPolicy: Always` where images are not pinned. Remove images loaded by hand
    from the node (`crictl rmi`). For clusters that must run air-gapped images, import them
    with their repo digests (`ctr images import --digests`) from a verified archive.
    """
    iid = c.image_id
    if iid is None or not iid.side_loaded:
        return
    where = (Related(c.spec.image_span, "the image in the spec"),) if c.spec else ()
    yield Finding(
        c.span,
        f"{c.display} runs image config ID {iid.config_id} with no repo digest: loaded onto "
        "the node, not pulled from a registry",
        related=where,
    )
