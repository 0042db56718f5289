"""Chart dependency or Kustomize `helmCharts` entry comes from an archived or removed Helm
repository (`charts.helm.sh/stable`...)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from kubeward.model.helm import ChartRequirement
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.helm._links import _HELM_DEPENDENCY


@lru_cache(maxsize=1)
def deprecated_chart_repositories() -> list[dict[str, Any]]:
    """The data file's entries: prefix, status, replacement, sources."""
    f = resources.files("kubeward").joinpath("data", "deprecated_chart_repositories.json")
    entries: list[dict[str, Any]] = json.loads(f.read_text("utf-8"))["repositories"]
    return entries


def _location(url: str) -> str:
    """`https://Charts.Helm.sh/stable/` -> `charts.helm.sh/stable` (host lower-cased)."""
    parts = urlsplit(url.strip() if "://" in url else f"https://{url.strip()}")
    host = (parts.hostname or "").lower()
    path = parts.path.strip("/")
    return f"{host}/{path}" if path else host


@rule(
    id="helm-repository-deprecated",
    layer=Layer.REGISTRY,
    severity=Severity.MEDIUM,
    references=(_HELM_DEPENDENCY, "https://github.com/helm/charts"),
)
def helm_repository_deprecated(req: ChartRequirement) -> Iterator[Finding]:
    """Chart comes from an archived or removed Helm repository (`charts.helm.sh/stable`).

    The repositories and their status come from package data
    (`deprecated_chart_repositories.json`), each with its source: the `stable` and
    `incubator` repositories of the retired helm/charts project (archived at
    `charts.helm.sh`, with no updates since support ended on 2020-11-13) and their former
    `storage.googleapis.com` locations (removed). Matched on the URL's host and path, on whole
    segments, for `Chart.yaml` dependencies and Kustomize `helmCharts` entries.

    ## Why it matters
    An archived repository gets no security fixes: its charts, and the images their values
    name, stay as they were in 2020. A removed location fails to resolve, and a domain that
    lapses can be registered by someone else, who then serves the chart.

    ## Remediation
    Take the chart from its maintained repository (most `stable` charts moved to their
    projects' own repositories; Artifact Hub lists them) and pin its version:

        dependencies:
          - name: prometheus
            version: 25.27.0
            repository: https://prometheus-community.github.io/helm-charts
    """
    where = _location(req.repository)
    for entry in deprecated_chart_repositories():
        prefix = entry["prefix"]
        if where == prefix or where.startswith(prefix + "/"):
            yield Finding(
                req.value_span(req.repository_key),
                f"{req.where} comes from {req.repository.strip()}: {entry['status']}; use "
                f"{entry['replacement']}",
                properties={"sources": list(entry["sources"])},
            )
            return
