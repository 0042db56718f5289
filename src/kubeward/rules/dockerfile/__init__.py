"""Dockerfile pack: base images, remote code, package trust, secrets (issue 4)."""
