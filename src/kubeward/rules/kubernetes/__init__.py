"""Kubernetes pack: images of workloads, RBAC gaps and blast radius (issue 3)."""

from kubeward.rules.kubernetes import blast_radius as blast_radius
from kubeward.rules.kubernetes import node_access as node_access
from kubeward.rules.kubernetes import pull_policy as pull_policy
from kubeward.rules.kubernetes import rbac_bindings as rbac_bindings
from kubeward.rules.kubernetes import rbac_roles as rbac_roles
