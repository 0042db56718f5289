"""kubeward: secure the Kubernetes software supply chain from git commit to a running Pod."""

__version__ = "0.1.0"
