"""Where a chart's dependencies (and Kustomize's `helmCharts`) come from."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator
from urllib.parse import urlsplit

from kubeward.model.helm import ChartRequirement, is_exact_version
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule

_HELM_DEPENDENCY = "https://helm.sh/docs/helm/helm_dependency/"
_HELM_DEP_UPDATE = "https://helm.sh/docs/helm/helm_dependency_update/"

# Hosts that serve charts to anyone: a name there can be registered by anyone.
_PUBLIC_HOSTS = (
    "charts.bitnami.com",
    "registry-1.docker.io",
    "docker.io",
    "ghcr.io",
    "quay.io",
    "public.ecr.aws",
    "artifacthub.io",
    "charts.helm.sh",
    "kubernetes-charts.storage.googleapis.com",
    "raw.githubusercontent.com",
)
_PRIVATE_SUFFIXES = (".internal", ".local", ".corp", ".lan", ".intranet", ".private", ".home.arpa")


def _host(repository: str) -> str:
    return (urlsplit(repository.strip()).hostname or "").lower()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def repository_exposure(repository: str) -> str:
    """'public', 'private' or '' (unknown) for a chart repository URL."""
    host = _host(repository)
    if not host:
        return ""
    if host in _PUBLIC_HOSTS or host.endswith((".github.io", ".gitlab.io")):
        return "public"
    try:
        ip = ipaddress.ip_address(host)
        return "private" if ip.is_private or ip.is_loopback else ""
    except ValueError:
        pass
    if "." not in host or host.endswith(_PRIVATE_SUFFIXES) or host == "localhost":
        return "private"
    return ""


def _normalise(repository: str) -> str:
    return repository.strip().rstrip("/").lower()


@rule(
    id="helm-dependency-version-range",
    layer=Layer.REGISTRY,
    severity=Severity.MEDIUM,
    references=(_HELM_DEPENDENCY, _HELM_DEP_UPDATE),
)
def helm_dependency_version_range(req: ChartRequirement) -> Iterator[Finding]:
    """Chart dependency asks for a version range, `*`, or no version, not one exact release.

    `version: 2.x.x`, `^1.2.0`, `>=1.0.0` or `*` in `Chart.yaml` (or `requirements.yaml`), and a
    Kustomize `helmCharts` entry without an exact `version`, let the next `helm dependency
    update` (or `kustomize build --enable-helm`) pull whatever newest chart the repository
    serves in that range. A dependency whose range is pinned by a `Chart.lock` that matches its
    digest is reported at low severity: `helm dependency build` installs the locked release,
    but any `helm dependency update` moves it.

    ## Why it matters
    A chart is code that runs with the deploying identity's rights: a new release in the range,
    or one pushed by whoever takes over the repository, reaches the cluster with no review and
    no change in your repository.

    ## Remediation
    Name one exact version and keep the lock current:

        dependencies:
          - name: common
            version: 2.31.4
            repository: oci://registry-1.docker.io/bitnamicharts

    Let Renovate or Dependabot propose version bumps as reviewed changes.
    """
    if req.is_local:
        return
    v = req.version.strip() if req.version else ""
    if is_exact_version(v):
        return
    span = req.value_span("version") if req.version is not None else req.span
    if not v:
        what = "has no version, so the newest release is used"
    elif v == "*":
        what = "accepts any version ('*')"
    else:
        what = f"accepts a version range ({v})"
    if req.locked_version:
        yield Finding(
            span,
            f"{req.where} {what}; Chart.lock pins {req.locked_version}, but any "
            "`helm dependency update` moves it",
            severity=Severity.LOW,
            properties={"locked": req.locked_version},
        )
        return
    yield Finding(span, f"{req.where} {what}")


@rule(
    id="helm-repository-plain-http",
    layer=Layer.REGISTRY,
    severity=Severity.HIGH,
    references=(_HELM_DEPENDENCY,),
)
def helm_repository_plain_http(req: ChartRequirement) -> Iterator[Finding]:
    """Chart repository is fetched over plain `http://`.

    The repository of a `Chart.yaml` dependency, or the `repo` of a Kustomize `helmCharts`
    entry, is an `http://` URL: the index and the chart archive travel unauthenticated and
    unencrypted. Loopback addresses (`localhost`, `127.0.0.1`) are exempt.

    ## Why it matters
    Anyone on the network path (a café Wi-Fi, a compromised proxy, a CI runner's network) can
    answer with a different index or chart, and its templates run in your cluster.

    ## Remediation
    Use the repository's HTTPS (or `oci://`) address:

        repository: https://charts.example.com/stable
    """
    repo = req.repository.strip()
    if not repo.lower().startswith("http://"):
        return
    if _is_loopback(_host(repo)):
        return
    key = req.repository_key
    yield Finding(
        req.value_span(key),
        f"{req.where} is fetched over plain http ({repo}); use https:// or oci://",
    )


@rule(
    id="helm-dependency-confusion",
    layer=Layer.REGISTRY,
    severity=Severity.HIGH,
    cross_file=True,
    references=(_HELM_DEPENDENCY,),
)
def helm_dependency_confusion(req: ChartRequirement, ctx: RuleContext) -> Iterator[Finding]:
    """A chart name is pulled from more than one repository in this repository's charts.

    The same chart name (`common`, `postgresql`, an internal `platform-lib`) is declared as a
    dependency (or a Kustomize `helmCharts` entry) from two or more different repositories
    across the scanned charts. The finding names every competing repository and says which is
    public and which private where that can be told from the host.

    ## Why it matters
    This is the shape of dependency confusion: an internal chart served by a private repository
    and a chart of the same name on a public one. Whichever repository a developer, a CI job or
    a `helm repo add` alias resolves first decides what is installed; an attacker only needs
    to publish the name publicly with a higher version.

    ## Remediation
    Pull each chart name from exactly one repository, with an exact version, and rename
    internal charts with a prefix nobody else can publish under:

        dependencies:
          - name: acme-common
            version: 1.4.0
            repository: https://charts.acme.internal/stable
    """
    if req.is_local:
        return
    mine = _normalise(req.repository)
    sources: dict[str, list[ChartRequirement]] = defaultdict(list)
    for other in ctx.scan.instances(ChartRequirement):
        if other.name == req.name and not other.is_local:
            sources[_normalise(other.repository)].append(other)
    competitors = sorted(r for r in sources if r != mine)
    if not competitors:
        return
    exposures = {r: repository_exposure(sources[r][0].repository) for r in [mine, *competitors]}

    def label(r: str) -> str:
        return f"{r} ({exposures[r]})" if exposures[r] else r

    others = ", ".join(label(r) for r in competitors)
    related = tuple(
        Related(o.value_span(o.repository_key), f"{req.name} from {label(r)} in {o.file}")
        for r in competitors
        for o in sources[r]
    )
    kinds = set(exposures.values())
    severity = None if {"public", "private"} <= kinds else Severity.MEDIUM
    yield Finding(
        req.value_span(req.repository_key),
        f"chart {req.name} comes from {label(mine)} here but also from {others}: "
        "the repositories compete for the same name",
        related=related,
        severity=severity,
        properties={"chart": req.name, "repositories": [mine, *competitors]},
    )


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
