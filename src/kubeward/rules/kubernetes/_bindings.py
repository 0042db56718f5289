"""Shared helpers of the binding rules: what a binding grants, and to whom."""

from __future__ import annotations

from kubeward.model.rbac import BROAD_GROUPS, BUILTIN_CLUSTER_ROLES, Binding, Role, Subject
from kubeward.registry import Related
from kubeward.rules.kubernetes._rbac import capabilities


def granted(b: Binding, role: Role | None) -> str:
    """The role a binding grants, with what it can do (or what is known of it), in words."""
    if role is not None:
        caps = capabilities(role)
        return f"{role.display} ({', '.join(caps)})" if caps else role.display
    known = BUILTIN_CLUSTER_ROLES.get(b.role_name) if b.role_kind == "ClusterRole" else None
    suffix = f" ({known})" if known else " (not defined in the scan)"
    return f"{b.role_kind}/{b.role_name}{suffix}"


def binding_related(b: Binding, role: Role | None) -> tuple[Related, ...]:
    """The roleRef and, when the scan defines it, the role: related locations of a finding."""
    out = [Related(b.role_span, f"roleRef names {b.role_kind}/{b.role_name}")]
    if role is not None:
        out.append(Related(role.span, f"{role.display} is defined here"))
    return tuple(out)


def is_system(s: Subject) -> bool:
    """The API server's own identities (`system:masters`, `system:kube-scheduler`...)."""
    if s.kind == "ServiceAccount":
        return False
    return s.name.startswith("system:") and not is_broad(s)


def is_broad(s: Subject) -> bool:
    """A group or user that stands for everyone, or for every service account."""
    return s.kind in ("Group", "User") and (
        s.name in BROAD_GROUPS or s.name.startswith("system:serviceaccounts:")
    )
