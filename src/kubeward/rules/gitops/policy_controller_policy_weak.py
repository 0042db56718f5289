"""A Sigstore policy-controller `ClusterImagePolicy` admits images it does not verify."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import KubeObject
from kubeward.model.policy import is_catch_all_regexp, is_cluster_image_policy, static_pass
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.gitops._doc_links import _PC_DOCS


@rule(
    id="policy-controller-policy-weak",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    references=(_PC_DOCS,),
)
def policy_controller_policy_weak(obj: KubeObject) -> Iterator[Finding]:
    """A Sigstore policy-controller `ClusterImagePolicy` admits images it does not verify.

    `mode: warn` turns a failed verification into a warning; a policy without `authorities`
    verifies nothing; an authority `static: {action: pass}` admits every matching image;
    a keyless identity whose `subjectRegExp` or `issuerRegExp` matches anything (`.*`, or
    under cosign's unanchored matching `^` or `(release)?`) accepts a signature from anyone
    Fulcio issued a certificate to.

    ## Why it matters
    policy-controller admits an image when any authority of each matching policy is
    satisfied. One permissive authority or a warn-mode policy is a way through for an
    unsigned or attacker-signed image.

    ## Remediation
    Enforce, and pin the signer:

        spec:
          mode: enforce
          authorities:
            - keyless:
                identities:
                  - issuer: https://token.actions.githubusercontent.com
                    subject: https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main
    """
    if not is_cluster_image_policy(obj):
        return
    spec = obj.node.get("spec")
    if spec is None or not spec.is_map:
        return
    mode = spec.get("mode")
    if mode is not None and (mode.text or "").lower() == "warn":
        yield Finding(mode.span, f"{obj.display} is in warn mode: unverified images are admitted")
    authorities = spec.get("authorities")
    if authorities is None or not authorities.seq():
        where = authorities or spec.key_node("images") or obj.node.get("kind") or spec
        yield Finding(where.span, f"{obj.display} has no authorities: it verifies nothing")
        return
    for auth in authorities.seq():
        passing = static_pass(auth)
        if passing is not None:
            yield Finding(
                passing.span,
                f"{obj.display} has a static pass authority: every matching image is admitted",
            )
        identities = auth.dig("keyless", "identities")
        for ident in identities.seq() if identities is not None else []:
            for key in ("subjectRegExp", "issuerRegExp"):
                rx = ident.get(key)
                if rx is not None and rx.text is not None and is_catch_all_regexp(rx.text):
                    yield Finding(
                        rx.span, f"{key} {rx.text!r} in {obj.display} matches any identity"
                    )
