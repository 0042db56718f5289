"""Kubernetes pack: images of workloads, RBAC gaps and blast radius (issue 3)."""

from kubeward.rules.kubernetes import blast_radius as blast_radius
from kubeward.rules.kubernetes import pull_policy as pull_policy
from kubeward.rules.kubernetes import rbac_admission_webhook_write as rbac_admission_webhook_write
from kubeward.rules.kubernetes import rbac_binding_to_broad_subject as rbac_binding_to_broad_subject
from kubeward.rules.kubernetes import rbac_cluster_admin_binding as rbac_cluster_admin_binding
from kubeward.rules.kubernetes import rbac_escalation_verbs as rbac_escalation_verbs
from kubeward.rules.kubernetes import rbac_pod_exec as rbac_pod_exec
from kubeward.rules.kubernetes import rbac_secrets_read as rbac_secrets_read
from kubeward.rules.kubernetes import rbac_wildcard as rbac_wildcard
from kubeward.rules.kubernetes import rbac_workload_write as rbac_workload_write
from kubeward.rules.kubernetes import workload_privileged_container as workload_privileged_container
from kubeward.rules.kubernetes import workload_runtime_socket_mount as workload_runtime_socket_mount
