"""CI/CD pack: GitHub Actions, GitLab CI, and the SLSA build level per pipeline (issue 5)."""

from kubeward import slsa as slsa  # ImageBuild model and the SLSA report section
from kubeward.model import gitlab as gitlab_model  # GitLab jobs and its image source
from kubeward.model import workflow as workflow_model  # GitHub workflows, jobs, steps
from kubeward.rules.cicd import ci_env_tls_verification_disabled as ci_env_tls_verification_disabled
from kubeward.rules.cicd import cosign_key_in_repo as cosign_key_in_repo
from kubeward.rules.cicd import cosign_keyless_without_id_token as cosign_keyless_without_id_token
from kubeward.rules.cicd import cosign_sign_by_tag as cosign_sign_by_tag
from kubeward.rules.cicd import cosign_tlog_disabled as cosign_tlog_disabled
from kubeward.rules.cicd import curl_pipe_shell as curl_pipe_shell
from kubeward.rules.cicd import github_actions as github_actions
from kubeward.rules.cicd import gitlab_ci as gitlab_ci
from kubeward.rules.cicd import gitlab_script_injection as gitlab_script_injection
from kubeward.rules.cicd import image_push_unsigned as image_push_unsigned
from kubeward.rules.cicd import image_push_without_provenance as image_push_without_provenance
from kubeward.rules.cicd import image_push_without_sbom as image_push_without_sbom
from kubeward.rules.cicd import image_push_without_vuln_scan as image_push_without_vuln_scan
from kubeward.rules.cicd import pip_extra_index_url as pip_extra_index_url
from kubeward.rules.cicd import pip_index_env as pip_index_env
from kubeward.rules.cicd import slsa_build_level_below_target as slsa_build_level_below_target

__all__ = [
    "ci_env_tls_verification_disabled",
    "cosign_key_in_repo",
    "cosign_keyless_without_id_token",
    "cosign_sign_by_tag",
    "cosign_tlog_disabled",
    "curl_pipe_shell",
    "github_actions",
    "gitlab_ci",
    "gitlab_model",
    "gitlab_script_injection",
    "image_push_unsigned",
    "image_push_without_provenance",
    "image_push_without_sbom",
    "image_push_without_vuln_scan",
    "pip_extra_index_url",
    "pip_index_env",
    "slsa",
    "slsa_build_level_below_target",
    "workflow_model",
]
