"""A Kyverno keyless attestor accepts signatures from any identity or any issuer."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.policy import KyvernoImageRule, is_catch_all_regexp, is_catch_all_wildcard
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Layer, Severity, rule
from kubeward.rules.gitops._kyverno import _KYVERNO_DOCS, _attestor_sets


def _entries(entry: YNode) -> Iterator[YNode]:
    for s in _attestor_sets(entry):
        for e in s.get("entries").seq() if s.get("entries") is not None else []:  # type: ignore[union-attr]
            if e.is_map:
                yield e


@rule(
    id="kyverno-keyless-identity-unbounded",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    references=(_KYVERNO_DOCS, "https://docs.sigstore.dev/cosign/verifying/verify/"),
)
def kyverno_keyless_identity_unbounded(r: KyvernoImageRule) -> Iterator[Finding]:
    """A Kyverno keyless attestor accepts signatures from any identity or any issuer.

    A keyless entry proves only that *someone* with an OIDC identity signed. Without a
    `subject` (or `subjectRegExp`) and an `issuer` (or `issuerRegExp`), or with patterns that
    match anything (`.*`, `*`), any GitHub, Google or other account holder can sign an image
    that passes.

    ## Why it matters
    Fulcio issues certificates to anyone who logs in. A policy that does not pin the signer's
    identity and issuer accepts an attacker's own keyless signature.

    ## Remediation
    Name the workflow identity and its issuer exactly:

        - keyless:
            subject: "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
            issuer: "https://token.actions.githubusercontent.com"
    """
    for e in _entries(r.entry):
        keyless = e.get("keyless")
        if keyless is None or not keyless.is_map:
            continue
        for field, rx in (("subject", "subjectRegExp"), ("issuer", "issuerRegExp")):
            plain, regexp = keyless.get(field), keyless.get(rx)
            if plain is None and regexp is None:
                key = e.key_node("keyless")
                yield Finding(
                    (key or keyless).span,
                    f"keyless attestor in {r.where} sets no {field} or {rx}: "
                    f"any {field} is accepted",
                )
                continue
            if plain is not None and plain.text is not None and is_catch_all_wildcard(plain.text):
                yield Finding(
                    plain.span, f"{field} {plain.text!r} in {r.where} matches any {field}"
                )
            if regexp is not None and regexp.text is not None and is_catch_all_regexp(regexp.text):
                yield Finding(regexp.span, f"{rx} {regexp.text!r} in {r.where} matches any {field}")
