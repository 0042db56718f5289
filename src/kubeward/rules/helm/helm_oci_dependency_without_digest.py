"""OCI chart dependency is named by tag (version) only, not by digest."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.helm import ChartRequirement, is_exact_version
from kubeward.registry import Finding, Layer, Severity, rule


def _has_digest(req: ChartRequirement) -> bool:
    d = req.node.get_str("digest")
    if d and d.startswith("sha256:"):
        return True
    return any("@sha256:" in (x or "") for x in (req.name, req.version, req.repository))


@rule(
    id="helm-oci-dependency-without-digest",
    layer=Layer.REGISTRY,
    severity=Severity.LOW,
    references=(
        "https://helm.sh/docs/topics/registries/",
        "https://github.com/helm/helm/issues/32133",
    ),
)
def helm_oci_dependency_without_digest(req: ChartRequirement) -> Iterator[Finding]:
    """OCI chart dependency is named by tag (version) only, not by digest.

    A `Chart.yaml` dependency from an `oci://` registry resolves `name:version` as an OCI tag,
    which the registry (or whoever can push to it) can move. A digest (`sha256:`) names the
    exact chart bytes. Helm 3 has no `digest` field for dependencies and its `Chart.lock`
    records only versions; this rule accepts a `digest: sha256:...` field (proposed for
    Helm, helm/helm#32133) or an `@sha256:` reference. A dependency with a version range is
    left to `helm-dependency-version-range` (a range is not yet a tag).

    ## Why it matters
    Tags on OCI registries are mutable: a re-pushed `2.31.4` changes what `helm dependency
    build` vendors, and nothing in your repository shows it.

    ## Remediation
    Where your Helm supports it, record the digest beside the exact version:

        - name: common
          version: 2.31.4
          digest: sha256:<64 hex>
          repository: oci://registry-1.docker.io/bitnamicharts

    Otherwise vendor the dependency (`charts/common-2.31.4.tgz`) with its signed `.prov` and
    verify it (`helm dependency build --verify`).
    """
    if req.origin != "chart-dependency" or not req.is_oci or _has_digest(req):
        return
    if not is_exact_version((req.version or "").strip()):
        return  # a range or no version: helm-dependency-version-range reports it first
    yield Finding(
        req.value_span("repository"),
        f"{req.where} comes from OCI registry {req.repository} by the tag {req.version}, "
        "which can be re-pushed, and no digest",
    )
