from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.images import ImageUse
from kubeward.model.placeholders import placeholder
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
from kubeward.typosquat import default_detector


@rule(
    id="image-typosquat",
    layer=Layer.REGISTRY,
    severity=Severity.HIGH,
    references=(
        "https://slsa.dev/spec/v1.0/threats#h-use-compromised-package",
        "https://github.com/docker-library/official-images/tree/master/library",
    ),
)
def image_typosquat(image: ImageUse, ctx: RuleContext) -> Iterator[Finding]:
    """Image name is close to, but not, a well-known image (a likely typosquat).

    Compares the registry host, the organisation and the name against a list of well-known
    images shipped with kubeward (Docker Official Images, the Kubernetes images on
    `registry.k8s.io`, widely used images of other registries; each group with its source).
    Flags one edit (`ngnix`, `ngiinx`), dropped or swapped separators
    (`kube-controllermanager`), look-alike characters (`nglnx`, `bitnarni`), a look-alike
    registry (`ghrc.io`), and a distinctive well-known name under an unknown organisation of a
    public registry where it is not published (`docker.io/someone/kube-apiserver`, medium).
    Digit-only differences (`mysql8`) and one edit on names under five characters are not
    flagged; private registries are judged by their host only.

    ## Why it matters
    Attackers register names one keystroke away from popular images and wait for a typo in a
    manifest; the image runs with whatever the pod is allowed to do. SLSA v1.0 lists
    typosquatting under threat H (use compromised package) and leaves it mostly to tools like
    this one: provenance of the squatted image is valid, for the wrong image.

    ## Remediation
    Correct the name to the image you meant, and pin it by digest so a future typo cannot
    slip through review unnoticed:

        image: nginx:1.27.2@sha256:<64 hex>
    """
    if placeholder(image, ctx.scan) is not None:
        return  # left to image-unresolved
    ref = image.ref
    if not ref.is_resolved:
        return
    suspect = default_detector().check(ref)
    if suspect is None:
        return
    yield Finding(
        image.span,
        f"{ref.text} in {image.where}: {suspect.message}",
        severity=Severity.MEDIUM if suspect.kind == "location" else None,
        properties={"kind": suspect.kind, "looks_like": suspect.looks_like},
    )
