"""An Argo CD `AppProject` lets its applications deploy from anywhere to anywhere."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import KubeObject
from kubeward.registry import Finding, Layer, Related, Severity, rule


@rule(
    id="argocd-project-too-permissive",
    layer=Layer.SOURCE,
    severity=Severity.HIGH,
    references=("https://argo-cd.readthedocs.io/en/stable/user-guide/projects/",),
)
def argocd_project_too_permissive(obj: KubeObject) -> Iterator[Finding]:
    """An Argo CD `AppProject` lets its applications deploy from anywhere to anywhere.

    `sourceRepos: ['*']` accepts any repository, a destination with server (or name) `*`
    and namespace `*` any cluster and namespace, and `clusterResourceWhitelist` with group
    and kind `*` any cluster-scoped resource (ClusterRoles, webhooks, CRDs).

    ## Why it matters
    Projects are Argo CD's boundary between teams. A wildcard project lets anyone who can
    create an Application deploy an attacker's repository with cluster-admin reach.

    ## Remediation
    List what the project needs:

        spec:
          sourceRepos: ["https://github.com/acme/deploy.git"]
          destinations:
            - server: https://kubernetes.default.svc
              namespace: shop
          clusterResourceWhitelist: []
    """
    if obj.kind != "AppProject" or obj.group != "argoproj.io":
        return
    spec = obj.node.get("spec")
    if spec is None:
        return
    repos = spec.get("sourceRepos")
    for item in repos.seq() if repos is not None else []:
        if item.text == "*":
            yield Finding(item.span, f"{obj.display} accepts any source repository")
    dests = spec.get("destinations")
    for d in dests.seq() if dests is not None else []:
        target = d.get("server") or d.get("name")
        ns = d.get("namespace")
        if target is not None and target.text == "*" and ns is not None and ns.text == "*":
            yield Finding(
                d.span,
                f"{obj.display} may deploy to any cluster and namespace",
                related=(Related(ns.span, "namespace *"),),
            )
    whitelist = spec.get("clusterResourceWhitelist")
    for w in whitelist.seq() if whitelist is not None else []:
        if w.get_str("group") == "*" and w.get_str("kind") == "*":
            yield Finding(w.span, f"{obj.display} may create any cluster-scoped resource")
