"""CI/CD pack: GitHub Actions, GitLab CI, and the SLSA build level per pipeline (issue 5)."""

from kubeward import slsa as slsa  # ImageBuild model and the SLSA report section
from kubeward.model import gitlab as gitlab_model  # GitLab jobs and its image source
from kubeward.model import workflow as workflow_model  # GitHub workflows, jobs, steps
from kubeward.rules.cicd import ci_env_tls_verification_disabled as ci_env_tls_verification_disabled
from kubeward.rules.cicd import curl_pipe_shell as curl_pipe_shell
from kubeward.rules.cicd import evidence as evidence
from kubeward.rules.cicd import github_actions as github_actions
from kubeward.rules.cicd import gitlab_ci as gitlab_ci
from kubeward.rules.cicd import gitlab_script_injection as gitlab_script_injection
from kubeward.rules.cicd import pip_extra_index_url as pip_extra_index_url
from kubeward.rules.cicd import pip_index_env as pip_index_env

__all__ = [
    "ci_env_tls_verification_disabled",
    "curl_pipe_shell",
    "evidence",
    "github_actions",
    "gitlab_ci",
    "gitlab_model",
    "gitlab_script_injection",
    "pip_extra_index_url",
    "pip_index_env",
    "slsa",
    "workflow_model",
]
