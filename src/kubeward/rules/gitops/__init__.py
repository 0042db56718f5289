"""GitOps, admission control, runtime and source history, with policy coverage (issue 6)."""
