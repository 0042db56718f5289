"""GitOps sources (layer 1): what Flux and Argo CD pull, and whether anyone checks it."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from kubeward.model.gitops import (
    FLUX_SPEC_KEYS,
    FLUX_VERIFY_KEYS,
    ArgoSource,
    FluxSource,
    classify_revision,
)
from kubeward.model.k8s import KubeObject
from kubeward.model.policy import is_catch_all_regexp
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Layer, Related, RuleContext, Severity, rule
from kubeward.source import Span

_FLUX_GIT = "https://fluxcd.io/flux/components/source/gitrepositories/#verification"
_FLUX_OCI = "https://fluxcd.io/flux/components/source/ocirepositories/#verification"
_FLUX_CHART = "https://fluxcd.io/flux/components/source/helmcharts/#verification"


def _unknown_keys(node: YNode, known: frozenset[str], where: str) -> Iterator[Finding]:
    for key, _ in node.items():
        name = key.text
        if name is None or name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        if name.lower().startswith("verif"):
            close = ["verify"] if "verify" in known else close
        hint = f"; did you mean {close[0]}?" if close else ""
        yield Finding(key.span, f"{where} has the unknown key {name}: Flux ignores it{hint}")


@rule(
    id="flux-source-unverified",
    layer=Layer.SOURCE,
    severity=Severity.HIGH,
    cross_file=True,
    references=(_FLUX_GIT, _FLUX_OCI, _FLUX_CHART),
)
def flux_source_unverified(src: FluxSource, ctx: RuleContext) -> Iterator[Finding]:
    """A Flux source is applied to the cluster without verifying who signed it.

    A `GitRepository` without `spec.verify` applies whatever commit the branch or tag points
    to; an `OCIRepository`, or a `HelmChart` from an OCI `HelmRepository` (also the chart
    template of a `HelmRelease`), without `spec.verify` applies any artifact pushed to the
    reference. Keyless cosign verification without `matchOIDCIdentity` (or with patterns
    matching any identity) accepts a signature from anyone. A key Flux does not know, such as
    `verification:` where `verify:` was meant, is silently ignored, so it is reported by
    name.

    ## Why it matters
    GitOps turns write access to a repository or registry into write access to the cluster.
    Signature verification is what stops a stolen token or a compromised CI job from
    deploying.

    ## Remediation
    Verify commits (GPG or SSH keys in a Secret) and artifacts (cosign):

        spec:
          verify:
            mode: HEAD
            secretRef: {name: git-signers}

        spec:
          verify:
            provider: cosign
            matchOIDCIdentity:
              - issuer: ^https://token\\.actions\\.githubusercontent\\.com$
                subject: ^https://github\\.com/acme/deploy/\\.github/workflows/release\\.yml@refs/tags/v.*$
    """
    kind = src.kind
    if kind not in FLUX_SPEC_KEYS:
        return
    where = f"{kind} spec of {src.display}" if kind != src.obj.kind else src.display
    known = FLUX_SPEC_KEYS[kind]
    if src.obj.kind == "HelmRelease":
        known = known | {"sourceRef"}
    yield from _unknown_keys(src.spec, known, where)
    verify = src.verify
    if verify is not None:
        yield from _unknown_keys(verify, FLUX_VERIFY_KEYS[kind], f"verify of {where}")
        if kind != "GitRepository":
            key = src.spec.key_node("verify")
            yield from _keyless_identity(verify, where, (key or verify).span)
        return
    if (
        kind == "HelmChart"
        and src.helm_repository_is_oci(ctx.scan.instances(KubeObject)) is not True
    ):
        return  # Flux verifies charts from OCI repositories only
    anchor = src.obj.kind_span
    if src.obj.kind == "HelmRelease":
        chart = src.obj.node.dig("spec", "chart")
        key = chart.key_node("spec") if chart is not None else None
        anchor = (key or src.spec).span
    if kind == "GitRepository":
        branch = src.spec.dig("ref", "branch")
        pinned = src.spec.dig("ref", "commit")
        if pinned is not None and pinned.text:
            return  # a commit SHA is content-addressed
        if branch is not None:
            yield Finding(
                branch.span,
                f"{where} tracks branch {branch.text} with no commit signature verification",
            )
            return
        yield Finding(anchor, f"{where} has no spec.verify: commits are applied unverified")
        return
    ref = src.spec.dig("ref", "digest")
    if ref is not None and ref.text:
        return  # pinned by digest
    yield Finding(anchor, f"{where} has no spec.verify: artifacts are applied unverified")


def _keyless_identity(verify: YNode, where: str, anchor: Span) -> Iterator[Finding]:
    provider = verify.get_str("provider") or "cosign"
    if provider != "cosign" or verify.get("secretRef") is not None:
        return
    idents = verify.get("matchOIDCIdentity")
    if idents is None or not idents.seq():
        yield Finding(
            anchor,
            f"keyless cosign verification of {where} has no matchOIDCIdentity: any signer passes",
        )
        return
    for ident in idents.seq():
        for key in ("issuer", "subject"):
            value = ident.get(key)
            if value is not None and value.text is not None and is_catch_all_regexp(value.text):
                yield Finding(
                    value.span, f"matchOIDCIdentity {key} {value.text!r} of {where} matches anyone"
                )


@rule(
    id="flux-source-insecure-transport",
    layer=Layer.SOURCE,
    severity=Severity.HIGH,
    references=(
        "https://fluxcd.io/flux/components/source/helmrepositories/#insecure",
        "https://fluxcd.io/flux/components/source/ocirepositories/#insecure",
    ),
)
def flux_source_insecure_transport(src: FluxSource) -> Iterator[Finding]:
    """A Flux `HelmRepository` or `OCIRepository` is fetched over plain HTTP.

    A `url` starting with `http://`, or `insecure: true` (which lets Flux talk to an OCI
    registry over plain HTTP), lets anyone on the network path swap the charts and manifests
    the cluster applies.

    ## Why it matters
    Without TLS, a network attacker substitutes content, and for an unverified source nothing
    downstream notices.

    ## Remediation
    Use HTTPS and drop `insecure`:

        spec:
          url: https://charts.example.com
    """
    if src.kind not in ("HelmRepository", "OCIRepository") or src.obj.kind != src.kind:
        return
    url = src.spec.get("url")
    if url is not None and (url.text or "").lower().startswith("http://"):
        yield Finding(url.span, f"{src.display} is fetched over plain HTTP")
    insecure = src.spec.get("insecure")
    if insecure is not None and insecure.bool is True:
        yield Finding(
            insecure.span, f"{src.display} sets insecure: true: plain HTTP to the registry"
        )


@rule(
    id="argocd-target-revision-mutable",
    layer=Layer.SOURCE,
    severity=Severity.MEDIUM,
    references=("https://argo-cd.readthedocs.io/en/stable/user-guide/tracking_strategies/",),
)
def argocd_target_revision_mutable(src: ArgoSource) -> Iterator[Finding]:
    """An Argo CD application tracks `HEAD`, a branch or a version range.

    `targetRevision` missing, empty or `HEAD` follows the default branch; `main` or
    `refs/heads/...` follow a branch; a Helm chart version range (`*`, `>=1.0`, `1.x`) takes
    whatever is published next. Every entry of `sources` is checked, and ApplicationSet
    templates too. Templated values are left alone.

    ## Why it matters
    Whoever can push to the branch or publish a chart version deploys to the cluster, and
    the running revision cannot be reviewed in advance or rolled back by a Git revert of the
    application.

    ## Remediation
    Pin a tag or commit (and let a bot bump it through reviewed pull requests):

        source:
          repoURL: https://github.com/acme/deploy.git
          targetRevision: v1.4.2
    """
    rev = src.target_revision
    where = f"{src.label} of {src.obj.display}"
    if rev is not None and rev.is_templated:
        return
    kind = classify_revision(rev.text or "" if rev is not None else "", chart=src.is_helm_chart)
    span = rev.span if rev is not None else (src.node.get("repoURL") or src.node).span
    if kind == "head":
        what = "the latest chart version" if src.is_helm_chart else "HEAD of the default branch"
        text = "has no targetRevision" if rev is None or not rev.text else "targets HEAD"
        yield Finding(span, f"{where} {text}: it deploys {what}")
    elif kind == "range":
        yield Finding(span, f"{where} targets the version range {rev.text!r}")  # type: ignore[union-attr]
    elif kind == "branch":
        yield Finding(span, f"{where} tracks branch {rev.text!r}")  # type: ignore[union-attr]


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
