"""A keyless identity pattern of an admission policy is not anchored."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.k8s import KubeObject
from kubeward.model.policy import is_catch_all_regexp, is_cluster_image_policy
from kubeward.parse.yamlnode import YNode
from kubeward.policy.identity import InvalidRegexp, anchoring_gaps, compile_regexp
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.gitops._doc_links import _PC_DOCS
from kubeward.rules.gitops._kyverno import _KYVERNO_DOCS, _attestor_sets

_KEYS = {"subjectRegExp": "identity", "issuerRegExp": "issuer"}


def _seq(node: YNode | None) -> list[YNode]:
    return node.seq() if node is not None and node.is_seq else []


def _identity_maps(obj: KubeObject) -> Iterator[YNode]:
    """The maps that hold `subjectRegExp`/`issuerRegExp`: policy-controller
    `authorities[].keyless.identities[]`, Kyverno `verifyImages` keyless attestor entries."""
    if is_cluster_image_policy(obj):
        for auth in _seq(obj.node.dig("spec", "authorities")):
            yield from _seq(auth.dig("keyless", "identities"))
        return
    if obj.group != "kyverno.io" or obj.kind not in ("ClusterPolicy", "Policy"):
        return
    for policy_rule in _seq(obj.node.dig("spec", "rules")):
        for entry in _seq(policy_rule.get("verifyImages")):
            for attestors in _attestor_sets(entry):
                for e in _seq(attestors.get("entries")):
                    keyless = e.get("keyless") if e.is_map else None
                    if keyless is not None:
                        yield keyless


@rule(
    id="policy-identity-regexp-unanchored",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    references=(
        "https://docs.sigstore.dev/cosign/verifying/verify/",
        _PC_DOCS,
        _KYVERNO_DOCS,
        "https://github.com/google/re2/wiki/Syntax",
    ),
)
def policy_identity_regexp_unanchored(obj: KubeObject) -> Iterator[Finding]:
    """A keyless identity pattern of an admission policy is not anchored.

    policy-controller (`ClusterImagePolicy` `keyless.identities[]`) and Kyverno (`verifyImages`
    keyless attestors) hand `subjectRegExp` and `issuerRegExp` to cosign, which matches them
    with Go's `regexp.MatchString`: the pattern may match *anywhere* in the certificate's
    identity. A pattern without a leading `^` (in every `|` alternative), or one that ends in a
    name character without `$`, accepts identities its author did not mean. Patterns that
    match everything are reported by `policy-controller-policy-weak` and
    `kyverno-keyless-identity-unbounded`; patterns RE2 cannot compile are reported as such.

    ## Why it matters
    `github\\.com/acme/` also matches
    `https://github.com/attacker/x/.github/workflows/w.yml@refs/heads/github.com/acme/x`
    (attackers name their own branches), `^https://github\\.com/acme` matches every workflow of
    the `acme-evil` organisation, and `alice@example\\.com` matches
    `alice@example.com.attacker.example`. Fulcio certifies such an identity for whoever holds
    that account, so its holder signs images the policy admits.

    ## Remediation
    Anchor the pattern at both ends, or end it at a boundary the attacker cannot extend:

        identities:
          - issuer: https://token.actions.githubusercontent.com
            subjectRegExp: '^https://github\\.com/acme/[^/]+/\\.github/workflows/release\\.yml@refs/tags/v.*$'
    """
    for ident in _identity_maps(obj):
        if not ident.is_map:
            continue
        for key, what in _KEYS.items():
            node = ident.get(key)
            text = node.text if node is not None else None
            if node is None or text is None or node.is_templated or is_catch_all_regexp(text):
                continue
            try:
                compile_regexp(text)
            except InvalidRegexp as exc:
                yield Finding(node.span, f"{key} of {obj.display}: {exc} (RE2 cannot compile it)")
                continue
            gaps = anchoring_gaps(text)
            if gaps:
                yield Finding(
                    node.span,
                    f"{key} {text!r} of {obj.display} is {' and '.join(gaps)}: cosign matches "
                    f"it anywhere in the {what}",
                )
