"""Chart repository is fetched over plain `http://`."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from kubeward.model.helm import ChartRequirement
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.helm._links import _HELM_DEPENDENCY
from kubeward.rules.helm._repository import _host


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
