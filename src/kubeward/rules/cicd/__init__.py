"""CI/CD pack: GitHub Actions, GitLab CI, and the SLSA build level per pipeline (issue 5)."""

from kubeward import slsa as slsa  # ImageBuild model and the SLSA report section
from kubeward.model import gitlab as gitlab_model  # GitLab jobs and its image source
from kubeward.model import workflow as workflow_model  # GitHub workflows, jobs, steps
from kubeward.rules.cicd import action_not_pinned_to_sha as action_not_pinned_to_sha
from kubeward.rules.cicd import ci_env_tls_verification_disabled as ci_env_tls_verification_disabled
from kubeward.rules.cicd import (
    ci_script_tls_verification_disabled as ci_script_tls_verification_disabled,
)
from kubeward.rules.cicd import cosign_key_in_repo as cosign_key_in_repo
from kubeward.rules.cicd import cosign_keyless_without_id_token as cosign_keyless_without_id_token
from kubeward.rules.cicd import cosign_sign_by_tag as cosign_sign_by_tag
from kubeward.rules.cicd import cosign_tlog_disabled as cosign_tlog_disabled
from kubeward.rules.cicd import curl_pipe_shell as curl_pipe_shell
from kubeward.rules.cicd import dangerous_trigger_checkout as dangerous_trigger_checkout
from kubeward.rules.cicd import (
    download_exec_without_checksum as download_exec_without_checksum,
)
from kubeward.rules.cicd import excessive_permissions as excessive_permissions
from kubeward.rules.cicd import github_env_untrusted_write as github_env_untrusted_write
from kubeward.rules.cicd import gitlab_include_not_pinned as gitlab_include_not_pinned
from kubeward.rules.cicd import gitlab_script_injection as gitlab_script_injection
from kubeward.rules.cicd import image_push_unsigned as image_push_unsigned
from kubeward.rules.cicd import image_push_without_provenance as image_push_without_provenance
from kubeward.rules.cicd import image_push_without_sbom as image_push_without_sbom
from kubeward.rules.cicd import image_push_without_vuln_scan as image_push_without_vuln_scan
from kubeward.rules.cicd import insecure_commands_enabled as insecure_commands_enabled
from kubeward.rules.cicd import missing_token_permissions as missing_token_permissions
from kubeward.rules.cicd import persisted_checkout_credentials as persisted_checkout_credentials
from kubeward.rules.cicd import pip_extra_index_url as pip_extra_index_url
from kubeward.rules.cicd import pip_index_env as pip_index_env
from kubeward.rules.cicd import secrets_inherit as secrets_inherit
from kubeward.rules.cicd import self_hosted_runner_on_pr as self_hosted_runner_on_pr
from kubeward.rules.cicd import slsa_build_level_below_target as slsa_build_level_below_target
from kubeward.rules.cicd import template_injection as template_injection
from kubeward.rules.cicd import workflow_run_artifact_poisoning as workflow_run_artifact_poisoning

__all__ = [
    "action_not_pinned_to_sha",
    "ci_env_tls_verification_disabled",
    "ci_script_tls_verification_disabled",
    "cosign_key_in_repo",
    "cosign_keyless_without_id_token",
    "cosign_sign_by_tag",
    "cosign_tlog_disabled",
    "curl_pipe_shell",
    "dangerous_trigger_checkout",
    "excessive_permissions",
    "gitlab_include_not_pinned",
    "gitlab_model",
    "gitlab_script_injection",
    "image_push_unsigned",
    "image_push_without_provenance",
    "image_push_without_sbom",
    "image_push_without_vuln_scan",
    "insecure_commands_enabled",
    "missing_token_permissions",
    "persisted_checkout_credentials",
    "pip_extra_index_url",
    "pip_index_env",
    "secrets_inherit",
    "self_hosted_runner_on_pr",
    "slsa",
    "slsa_build_level_below_target",
    "template_injection",
    "workflow_model",
    "workflow_run_artifact_poisoning",
]
