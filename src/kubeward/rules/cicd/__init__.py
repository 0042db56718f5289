"""CI/CD pack: GitHub Actions, GitLab CI, and the SLSA build level per pipeline (issue 5)."""

from kubeward import slsa as slsa  # ImageBuild model and the SLSA report section
from kubeward.model import gitlab as gitlab_model  # GitLab jobs and its image source
from kubeward.model import workflow as workflow_model  # GitHub workflows, jobs, steps
from kubeward.rules.cicd import evidence as evidence
from kubeward.rules.cicd import github_actions as github_actions
from kubeward.rules.cicd import gitlab_ci as gitlab_ci
from kubeward.rules.cicd import scripts as scripts

__all__ = [
    "evidence",
    "github_actions",
    "gitlab_ci",
    "gitlab_model",
    "scripts",
    "slsa",
    "workflow_model",
]
