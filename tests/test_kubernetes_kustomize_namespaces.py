"""RBAC as deployed: a Kustomize `namespace:` moves workloads, roles and bindings."""

from __future__ import annotations

from pathlib import Path

from kubeward.engine import ScanOptions, scan

RULE = "workload-service-account-privileged"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0
"""

# The implicit `default` account, bound in the same base: Kustomize sets the namespace on the
# binding and on its subject named `default`.
BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: secret-reader
rules:
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: default-reads-secrets
subjects:
  - kind: ServiceAccount
    name: default
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: secret-reader
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def _hits(root: Path) -> list[tuple[str, int, str]]:
    report = scan([root], ScanOptions(only_rules=[RULE], jobs=1))
    prefix = root.as_posix() + "/"
    return sorted(
        (r.span.path.removeprefix(prefix), r.span.start.line, r.finding.message)
        for r in report.results
    )


def test_implicit_default_account_is_linked_through_the_kustomize_namespace(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {
            "base/deployment.yaml": DEPLOYMENT,
            "base/rbac.yaml": BINDING,
            "base/kustomization.yaml": "resources: [deployment.yaml, rbac.yaml]\n",
            "prod/kustomization.yaml": "namespace: prod\nresources: [../base]\n",
        },
    )
    [(path, line, message)] = _hits(tmp_path)
    assert (path, line) == ("base/deployment.yaml", 2)  # the kind: no account is named
    assert "ServiceAccount prod/default" in message
    assert "Role/prod/secret-reader" in message and "reads secrets" in message


def test_without_a_kustomize_namespace_the_implicit_account_links_nothing(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "base/deployment.yaml": DEPLOYMENT,
            "base/rbac.yaml": BINDING,
            "base/kustomization.yaml": "resources: [deployment.yaml, rbac.yaml]\n",
        },
    )
    assert _hits(tmp_path) == []


def test_the_outermost_namespace_wins(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "base/deployment.yaml": DEPLOYMENT,
            "base/kustomization.yaml": "namespace: base\nresources: [deployment.yaml]\n",
            "prod/rbac.yaml": BINDING.replace(
                "name: default\n", "name: default\n    namespace: prod\n"
            ),
            "prod/kustomization.yaml": "namespace: prod\nresources: [../base]\n",
        },
    )
    # prod/rbac.yaml is included by no kustomization: a RoleBinding without namespace whose
    # subject names prod explicitly; the Role has no namespace either, so it resolves by name.
    [(path, _line, message)] = _hits(tmp_path)
    assert path == "base/deployment.yaml" and "ServiceAccount prod/default" in message
