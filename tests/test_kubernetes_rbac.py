"""RBAC resolution across documents, and what the findings say about who gets what."""

from __future__ import annotations

from pathlib import Path

from kubeward.engine import ScanOptions, scan
from kubeward.registry import Severity
from kubeward.results import Report
from tests.conftest import FIXTURES

RULES = FIXTURES / "rules"


def _run(root: Path, rule_id: str) -> Report:
    return scan([root], ScanOptions(only_rules=[rule_id], jobs=1))


def _rel(root: Path, path: str) -> str:
    return path.removeprefix(root.as_posix().rstrip("/") + "/")


def test_binding_resolves_a_role_defined_in_another_file() -> None:
    root = RULES / "rbac-cluster-admin-binding"
    report = _run(root, "rbac-cluster-admin-binding")
    deployer = next(r for r in report.results if "ServiceAccount ci/deployer" in r.message)
    assert deployer.message == (
        "ClusterRoleBinding/ci-is-god grants ClusterRole/god-mode (`*` on `*`) cluster-wide "
        "to ServiceAccount ci/deployer"
    )
    labels = {
        (_rel(root, x.span.path), x.span.start.line, x.label) for x in deployer.finding.related
    }
    assert ("roles/god.yaml", 3, "ClusterRole/god-mode is defined here") in labels
    assert ("bindings.yaml", 17, "roleRef names ClusterRole/god-mode") in labels


def test_builtin_cluster_admin_is_known_without_a_definition() -> None:
    report = _run(RULES / "rbac-cluster-admin-binding", "rbac-cluster-admin-binding")
    alice = next(r for r in report.results if "alice" in r.message)
    assert alice.message == (
        "RoleBinding/shop/alice-admin grants ClusterRole/cluster-admin (every verb on every "
        "resource (`*` on `*`)) in namespace shop to User alice@example.com: admin of that "
        "namespace, not of the cluster"
    )
    # a RoleBinding reaches its namespace only: high, not critical as cluster-wide
    assert alice.severity is Severity.HIGH
    deployer = next(r for r in report.results if "ServiceAccount ci/deployer" in r.message)
    assert deployer.severity is Severity.CRITICAL


def test_namespaced_star_on_star_is_namespace_admin() -> None:
    report = _run(RULES / "rbac-wildcard", "rbac-wildcard")
    tenant = next(r for r in report.results if "Role/apps/tenant-admin" in r.message)
    assert "admin of namespace apps" in tenant.message and "cluster-admin" not in tenant.message
    assert tenant.severity is Severity.HIGH
    cluster = [r for r in report.results if "cluster-admin in all but name" in r.message]
    assert cluster and all(r.severity is Severity.CRITICAL for r in cluster)


def test_role_finding_names_who_holds_the_role(tmp_path: Path) -> None:
    (tmp_path / "role.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
        "metadata: {name: reader, namespace: shop}\n"
        "rules:\n  - apiGroups: ['']\n    resources: ['secrets']\n    verbs: ['get']\n",
        encoding="utf-8",
    )
    (tmp_path / "binding.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
        "metadata: {name: web-reads, namespace: shop}\n"
        "subjects:\n  - {kind: ServiceAccount, name: web, namespace: shop}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}\n",
        encoding="utf-8",
    )
    report = _run(tmp_path, "rbac-secrets-read")
    [r] = report.results
    assert (_rel(tmp_path, r.span.path), r.span.start.line) == ("role.yaml", 6)
    assert r.message == (
        "Role/shop/reader grants get on secrets (reads secrets); bound to ServiceAccount shop/web"
    )
    assert r.severity.value == "medium"  # a namespaced Role
    [rel] = r.finding.related
    assert (_rel(tmp_path, rel.span.path), rel.label) == (
        "binding.yaml",
        "bound by RoleBinding/shop/web-reads to ServiceAccount shop/web (in namespace shop)",
    )


def test_default_service_account_is_medium_and_anonymous_high() -> None:
    report = _run(RULES / "rbac-binding-to-broad-subject", "rbac-binding-to-broad-subject")
    sev = {r.message.rsplit(" to ", 1)[1]: r.severity.value for r in report.results}
    assert sev == {
        "Group system:unauthenticated: anyone who can reach the API server, without "
        "credentials": "high",
        "User system:anonymous: anyone who can reach the API server, without credentials": "high",
        "ServiceAccount shop/default: the account every pod of namespace shop runs as unless it "
        "names another": "medium",
        "Group system:serviceaccounts:shop: every service account of namespace shop": "high",
    }


def test_allowlist_is_off_without_configuration(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec:\n  containers:\n    - {name: c, image: 'evil.example.net/x:1'}\n",
        encoding="utf-8",
    )
    assert _run(tmp_path, "image-registry-not-allowed").results == []


def test_templated_image_is_an_info_note_not_an_alarm(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec:\n  containers:\n    - {name: c, image: '{{ .Values.image }}'}\n",
        encoding="utf-8",
    )
    from tests.test_kubernetes_corpora import PACK_RULES

    rules = [*PACK_RULES, "image-not-pinned-by-digest", "image-mutable-tag"]
    mine = scan([tmp_path], ScanOptions(jobs=1, only_rules=rules)).results
    assert [(r.rule.id, r.severity.value) for r in mine] == [("image-unresolved", "info")]


def test_binding_message_says_what_the_role_can_do(tmp_path: Path) -> None:
    (tmp_path / "rbac.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: ops}\n"
        "rules:\n"
        "  - {apiGroups: [''], resources: [secrets, pods/exec], verbs: [get, create]}\n"
        "  - {apiGroups: [apps], resources: [deployments], verbs: [patch]}\n"
        "---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        "metadata: {name: everyone-ops}\n"
        "subjects: [{kind: Group, name: system:authenticated}]\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ops}\n",
        encoding="utf-8",
    )
    [r] = _run(tmp_path, "rbac-binding-to-broad-subject").results
    assert r.message == (
        "ClusterRoleBinding/everyone-ops grants ClusterRole/ops (reads secrets, execs into pods, "
        "writes workloads) cluster-wide to Group system:authenticated: every user and service "
        "account that can authenticate"
    )
    assert r.span.start.line == 11  # the subject's name


def test_workload_is_linked_to_what_its_service_account_can_do() -> None:
    root = RULES / "workload-service-account-privileged"
    report = _run(root, "workload-service-account-privileged")
    got = {
        (_rel(root, r.span.path), r.span.start.line, r.severity.value): r.message
        for r in report.results
    }
    assert got == {
        ("workloads.yaml", 10, "critical"): (
            "Job/deploy runs as ServiceAccount ci/deployer, which ClusterRoleBinding/ci-admin "
            "grants ClusterRole/cluster-admin (`*` on `*`) cluster-wide: every image of the pod "
            "holds it"
        ),
        ("workloads.yaml", 24, "high"): (
            "Deployment/web runs as ServiceAccount shop/web, which RoleBinding/shop/web-secrets "
            "grants ClusterRole/secret-reader (reads secrets) in namespace shop: every image of "
            "the pod holds it"
        ),
        # No namespace in the manifest: the shop overlay's Kustomize `namespace:` gives it one.
        ("kust/base/deployment.yaml", 10, "critical"): (
            "Deployment/kust-app runs as ServiceAccount shop/kust-deployer, which "
            "RoleBinding/shop/kust-deployer-admin grants ClusterRole/cluster-admin (`*` on `*`) "
            "in namespace shop: every image of the pod holds it"
        ),
        # `resources: ["*"]` in the core group reads every Secret, as `secrets` would
        ("wildcard-secrets.yaml", 61, "high"): (
            "Deployment/dashboard runs as ServiceAccount tools/dashboard, which "
            "RoleBinding/tools/dashboard-reads-core grants Role/tools/core-reader (reads "
            "secrets) in namespace tools: every image of the pod holds it"
        ),
    }
    web = next(r for r in report.results if "shop/web" in r.message)
    assert {(_rel(root, x.span.path), x.span.start.line) for x in web.finding.related} == {
        ("rbac/roles.yaml", 29),
        ("rbac/roles.yaml", 2),
    }


def test_wildcard_message_names_the_rule_it_is_in(tmp_path: Path) -> None:
    (tmp_path / "role.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: ops}\n"
        "rules:\n"
        "  - {apiGroups: [''], resources: [pods, pods/log], verbs: ['*']}\n"
        "  - {apiGroups: ['*'], resources: ['*'], verbs: ['*']}\n",
        encoding="utf-8",
    )
    got = sorted((r.span.start.line, r.message) for r in _run(tmp_path, "rbac-wildcard").results)
    assert got == [
        (5, 'ClusterRole/ops uses a wildcard in verbs: * on pods, pods/log in ""'),
        (
            6,
            "ClusterRole/ops uses a wildcard in verbs, resources, apiGroups (`*` on `*` in every "
            "group: cluster-admin in all but name)",
        ),
    ]
