"""Helm charts and Kustomize: chart supply chain, values images, effective images (issue 7)."""

from kubeward.rules.helm import chart as chart
from kubeward.rules.helm import dependencies as dependencies
from kubeward.rules.helm import kustomize as kustomize
from kubeward.rules.helm import templates as templates
