"""Kustomize: remote bases and resources."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.kustomize import Kustomization, is_pinned_remote, remote_ref
from kubeward.registry import Finding, Layer, Severity, rule


@rule(
    id="kustomize-remote-resource-not-pinned",
    layer=Layer.SOURCE,
    severity=Severity.HIGH,
    references=(
        "https://github.com/kubernetes-sigs/kustomize/blob/master/examples/remoteBuild.md",
    ),
)
def kustomize_remote_resource_not_pinned(k: Kustomization) -> Iterator[Finding]:
    """Remote Kustomize resource, base or component is not pinned to a commit.

    A `resources`, `bases` or `components` entry that Kustomize fetches over the network
    (`github.com/org/repo//path`, `https://...`, `git::...`, `git@...`) without `?ref=` set to
    a full 40-hex commit SHA: a branch (`?ref=main`), a tag (`?ref=v1.2.0`, `?ref=stable`), no
    ref at all (the default branch), or a remote file URL (a release asset, a raw file) whose
    path holds no commit. Release assets are reported at medium severity (their owner can
    replace them, but a release is a deliberate act; a branch moves on every push).

    ## Why it matters
    Branches move and tags and release assets can be replaced; whoever controls the remote
    repository changes what `kustomize build` renders into your cluster, with no change here.

    ## Remediation
    Pin the full commit SHA (short hashes are not supported by Kustomize):

        resources:
          - https://github.com/argoproj/argo-cd//manifests/cluster-install?ref=8f2a1c9d0e3b4a5f6c7d8e9f0a1b2c3d4e5f6a7b
    """
    for e in k.entries:
        if not e.is_remote or is_pinned_remote(e.value):
            continue
        ref = remote_ref(e.value)
        severity = None
        if ref is not None:
            why = f"?ref={ref} is a branch or tag, not a commit SHA"
        elif "/releases/download/" in e.value:
            why = "a release asset URL, which the release owner can replace"
            severity = Severity.MEDIUM
        elif (
            e.value.lower().startswith(("http://", "https://"))
            and "//" not in e.value[8:]
            and (e.value.endswith((".yaml", ".yml", ".json")))
        ):
            why = "a remote file whose URL holds no commit SHA"
        else:
            why = "no ?ref=, so the default branch is fetched"
        yield Finding(e.node.span, f"remote {e.field} entry {e.value}: {why}", severity=severity)
