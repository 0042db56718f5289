"""A Flux chart version or OCI/Git `ref` floats: a range, `latest`, or nothing at all."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.gitops import FluxSource, classify_revision
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Layer, Severity, rule

_NO_CHART_VERSION = ("GitRepository", "Bucket")  # Flux ignores `version` for these sources


def _range(node: YNode) -> str | None:
    """What is floating about a semver expression, or None when it names one version."""
    text = (node.text or "").strip()
    if node.is_templated:
        return None
    kind = classify_revision(text, chart=True)
    if kind == "head":
        return "is empty, so the newest is used"
    if kind != "range":
        return None
    what = "accepts any version ('*')" if text == "*" else f"is a range ({text})"
    if "-" in text.replace(" - ", " "):  # a pre-release in a constraint admits pre-releases
        what += " that admits pre-releases"
    return what


@rule(
    id="flux-source-version-floating",
    layer=Layer.SOURCE,
    severity=Severity.MEDIUM,
    references=(
        "https://fluxcd.io/flux/components/source/helmcharts/",
        "https://fluxcd.io/flux/components/source/ocirepositories/",
        "https://fluxcd.io/flux/components/source/gitrepositories/",
    ),
)
def flux_source_version_floating(src: FluxSource) -> Iterator[Finding]:
    """Flux chart version or source `ref` floats: a semver range, `latest`, or none at all.

    The Flux twin of `argocd-target-revision-mutable`. Reported: a `HelmRelease` chart (or a
    `HelmChart`) from a `HelmRepository` with no `version` (Flux then takes the latest chart),
    `*`, or a range (`>=1.0.0`, `5.x`, `~1.2`), said so when the range admits pre-releases
    (`>=1.0.0-0`); an `OCIRepository` with no `ref` (the latest tag), `ref.tag: latest` or a
    `ref.semver` range; a `GitRepository` whose `ref.semver` is a range. A chart from a
    `GitRepository` or `Bucket` (where Flux ignores `version`), a `ref.digest`, a commit, an
    exact version and templated values pass.

    ## Why it matters
    Flux reconciles on its own: a new chart or artifact in the range, or one pushed by
    whoever takes over the repository, reaches the cluster at the next interval, with no change
    and no review in Git.

    ## Remediation
    Pin one version (or a digest) and let a bot propose upgrades as reviewed changes:

        spec:
          chart:
            spec:
              chart: podinfo
              version: 6.7.1
        ---
        spec:
          ref:
            digest: sha256:<64 hex>
    """
    spec = src.spec
    if src.kind == "HelmChart":
        ref = spec.get("sourceRef")
        if ref is not None and ref.get_str("kind") in _NO_CHART_VERSION:
            return
        version = spec.get("version")
        where = f"{src.display} chart {spec.get_str('chart') or ''}".rstrip()
        if version is None:
            at = spec.get("chart") or spec
            yield Finding(at.span, f"{where} has no version: Flux takes the latest chart")
        elif (why := _range(version)) is not None:
            yield Finding(version.span, f"{where} version {why}")
        return
    if src.kind not in ("OCIRepository", "GitRepository") or src.obj.kind != src.kind:
        return
    ref = spec.get("ref")
    if ref is None or not ref.is_map:
        if src.kind == "OCIRepository":
            url = spec.get("url") or spec
            yield Finding(url.span, f"{src.display} has no ref: Flux follows the latest tag")
        return
    if ref.get("digest") is not None or ref.get("commit") is not None:
        return
    semver = ref.get("semver")
    if semver is not None:
        if (why := _range(semver)) is not None:
            yield Finding(semver.span, f"{src.display} ref.semver {why}")
        return
    tag = ref.get("tag")
    if src.kind == "OCIRepository" and tag is not None and (tag.text or "").strip() == "latest":
        yield Finding(tag.span, f"{src.display} follows the mutable tag 'latest'")
