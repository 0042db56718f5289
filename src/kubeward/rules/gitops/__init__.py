"""GitOps, admission control, runtime and source history, with policy coverage (issue 6)."""

from kubeward.rules.gitops import argocd_project_too_permissive as argocd_project_too_permissive
from kubeward.rules.gitops import argocd_target_revision_mutable as argocd_target_revision_mutable
from kubeward.rules.gitops import committed_private_key as committed_private_key
from kubeward.rules.gitops import coverage as coverage
from kubeward.rules.gitops import falco_drift_rule_deselected as falco_drift_rule_deselected
from kubeward.rules.gitops import falco_drift_rule_disabled as falco_drift_rule_disabled
from kubeward.rules.gitops import falco_drift_rules_absent as falco_drift_rules_absent
from kubeward.rules.gitops import flux_source_insecure_transport as flux_source_insecure_transport
from kubeward.rules.gitops import flux_source_unverified as flux_source_unverified
from kubeward.rules.gitops import flux_source_version_floating as flux_source_version_floating
from kubeward.rules.gitops import (
    gatekeeper_allowed_repo_lookalike as gatekeeper_allowed_repo_lookalike,
)
from kubeward.rules.gitops import (
    gatekeeper_image_constraint_not_enforced as gatekeeper_image_constraint_not_enforced,
)
from kubeward.rules.gitops import git_commit_unsigned as git_commit_unsigned
from kubeward.rules.gitops import (
    image_policy_webhook_default_allow as image_policy_webhook_default_allow,
)
from kubeward.rules.gitops import (
    kube_apiserver_image_policy_webhook_missing as kube_apiserver_image_policy_webhook_missing,
)
from kubeward.rules.gitops import (
    kyverno_attestation_without_conditions as kyverno_attestation_without_conditions,
)
from kubeward.rules.gitops import (
    kyverno_image_validating_policy_not_enforced as kyverno_image_validating_policy_not_enforced,
)
from kubeward.rules.gitops import (
    kyverno_keyless_identity_unbounded as kyverno_keyless_identity_unbounded,
)
from kubeward.rules.gitops import kyverno_verify_images_audit as kyverno_verify_images_audit
from kubeward.rules.gitops import kyverno_verify_images_weakened as kyverno_verify_images_weakened
from kubeward.rules.gitops import (
    policy_controller_no_match_allows as policy_controller_no_match_allows,
)
from kubeward.rules.gitops import policy_controller_policy_weak as policy_controller_policy_weak
from kubeward.rules.gitops import (
    policy_identity_regexp_unanchored as policy_identity_regexp_unanchored,
)
from kubeward.rules.gitops import policy_webhook_fails_open as policy_webhook_fails_open
from kubeward.rules.gitops import runtime_detection_missing as runtime_detection_missing
from kubeward.rules.gitops import secret_data_committed as secret_data_committed
