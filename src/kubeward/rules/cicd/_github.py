"""What several GitHub Actions rules share: the hardening guide they cite."""

GHA_SECURITY = "https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions"
