"""A Flux source is applied to the cluster without verifying who signed it."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from kubeward.model.gitops import FLUX_SPEC_KEYS, FLUX_VERIFY_KEYS, FluxSource
from kubeward.model.k8s import KubeObject
from kubeward.model.policy import is_catch_all_regexp
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Layer, RuleContext, Severity, rule
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


def _missing_verify(src: FluxSource, where: str, ctx: RuleContext) -> Iterator[Finding]:
    """A source without `spec.verify` that Flux could verify and nothing else pins."""
    kind = src.kind
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
    yield from _missing_verify(src, where, ctx)
