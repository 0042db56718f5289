"""The one error of `kubeward fix`."""

from __future__ import annotations


class FixError(Exception):
    """One reference that cannot be pinned (or a lock file that cannot be used): the message
    is the reason."""
