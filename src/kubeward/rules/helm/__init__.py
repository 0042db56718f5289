"""Helm charts and Kustomize: chart supply chain, values images, effective images (issue 7)."""

from kubeward.rules.helm import helm_chart_lock_missing as helm_chart_lock_missing
from kubeward.rules.helm import helm_chart_lock_stale as helm_chart_lock_stale
from kubeward.rules.helm import helm_dependency_confusion as helm_dependency_confusion
from kubeward.rules.helm import helm_dependency_version_range as helm_dependency_version_range
from kubeward.rules.helm import (
    helm_oci_dependency_without_digest as helm_oci_dependency_without_digest,
)
from kubeward.rules.helm import helm_repository_deprecated as helm_repository_deprecated
from kubeward.rules.helm import helm_repository_plain_http as helm_repository_plain_http
from kubeward.rules.helm import (
    helm_vendored_chart_without_provenance as helm_vendored_chart_without_provenance,
)
from kubeward.rules.helm import kustomize as kustomize
from kubeward.rules.helm import templates as templates
