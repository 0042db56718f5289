"""policy-controller admits images that no `ClusterImagePolicy` matches."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import KubeObject
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.gitops._doc_links import _PC_DOCS


@rule(
    id="policy-controller-no-match-allows",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    references=(_PC_DOCS,),
)
def policy_controller_no_match_allows(obj: KubeObject) -> Iterator[Finding]:
    """policy-controller admits images that no `ClusterImagePolicy` matches.

    The `config-policy-controller` ConfigMap's `no-match-policy` decides what happens to an
    image in an opted-in namespace that no policy's glob matches: `deny` (the default)
    rejects it, `warn` and `allow` admit it.

    ## Why it matters
    With `warn` or `allow`, every image outside the globs you thought of (a new registry, a
    typo, a second repository) runs unverified.

    ## Remediation
    Keep the default:

        data:
          no-match-policy: deny
    """
    if obj.kind != "ConfigMap" or obj.name != "config-policy-controller":
        return
    value = obj.node.dig("data", "no-match-policy")
    if value is not None and (value.text or "").lower() in ("warn", "allow"):
        yield Finding(
            value.span,
            f"no-match-policy: {value.text}: images no ClusterImagePolicy matches are admitted",
        )
