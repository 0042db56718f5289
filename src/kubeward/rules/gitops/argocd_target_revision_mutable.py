"""An Argo CD application tracks `HEAD`, a branch or a version range."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.gitops import ArgoSource, classify_revision
from kubeward.registry import Finding, Layer, Severity, rule


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
