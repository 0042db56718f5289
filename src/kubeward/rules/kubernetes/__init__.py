"""Kubernetes pack: images of workloads, RBAC gaps and blast radius (issue 3)."""
