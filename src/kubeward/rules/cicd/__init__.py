"""CI/CD pack: GitHub Actions, GitLab CI, and the SLSA build level per pipeline (issue 5)."""
