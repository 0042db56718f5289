"""Helm charts and Kustomize: chart supply chain, values images, effective images (issue 7)."""
