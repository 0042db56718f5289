"""Links to Helm's docs that several rules of the pack cite."""

from __future__ import annotations

_HELM_DEPENDENCY = "https://helm.sh/docs/helm/helm_dependency/"
_HELM_DEP_UPDATE = "https://helm.sh/docs/helm/helm_dependency_update/"
