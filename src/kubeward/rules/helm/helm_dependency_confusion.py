"""A chart name is pulled from more than one repository in this repository's charts."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator

from kubeward.model.helm import ChartRequirement
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
from kubeward.rules.helm._links import _HELM_DEPENDENCY
from kubeward.rules.helm._repository import _host

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


# Repositories one publisher serves the same charts from: not competitors of each other.
# Bitnami: `https://charts.bitnami.com/bitnami` (bitnami/charts README, "helm repo add bitnami
# https://charts.bitnami.com/bitnami") and `oci://registry-1.docker.io/bitnamicharts` (the
# charts' READMEs, "helm install my-release oci://registry-1.docker.io/bitnamicharts/<chart>").
_PUBLISHERS = {
    "https://charts.bitnami.com/bitnami": "Bitnami",
    "oci://registry-1.docker.io/bitnamicharts": "Bitnami",
}


def _normalise(repository: str) -> str:
    return repository.strip().rstrip("/").lower()


def _publisher(repository: str) -> str:
    """The publisher a repository belongs to (itself when not in the table)."""
    return _PUBLISHERS.get(repository, repository)


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
    public and which private where that can be told from the host. Repositories of one
    publisher that serve the same charts (Bitnami's `https://charts.bitnami.com/bitnami` and
    `oci://registry-1.docker.io/bitnamicharts`, each sourced to Bitnami's own documentation)
    do not compete with each other.

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
    competitors = sorted(r for r in sources if _publisher(r) != _publisher(mine))
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
