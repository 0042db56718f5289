"""Kyverno `verifyImages` rules that admit what they were written to stop."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.policy import KyvernoImageRule, is_catch_all_regexp, is_catch_all_wildcard
from kubeward.parse.yamlnode import YNode
from kubeward.registry import Finding, Layer, Related, Severity, rule

_KYVERNO_DOCS = "https://kyverno.io/docs/writing-policies/verify-images/sigstore/"
_KYVERNO_API = (
    "https://github.com/kyverno/kyverno/blob/main/api/kyverno/v1/image_verification_types.go"
)


@rule(
    id="kyverno-verify-images-audit",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=("5.5.1",),
    references=(_KYVERNO_DOCS, "https://kyverno.io/docs/writing-policies/validate/#failure-action"),
)
def kyverno_verify_images_audit(r: KyvernoImageRule) -> Iterator[Finding]:
    """Kyverno image verification runs in Audit mode, so unsigned images are admitted.

    A `verifyImages` rule takes its failure action from its own `failureAction` or, when that
    is absent, from the policy's `validationFailureAction`, which defaults to `Audit`. In Audit
    mode a failed signature check becomes a policy report entry and the Pod is created anyway.

    ## Why it matters
    An image-verification policy in Audit mode looks like a gate in review but stops nothing:
    an attacker who pushes an unsigned image to a referenced tag gets it scheduled, and the
    only trace is a report nobody may read (CIS 5.5.1: configure image provenance).

    ## Remediation
    Enforce the rule once the audit reports are clean:

        spec:
          validationFailureAction: Enforce   # or, per rule: verifyImages[].failureAction: Enforce
    """
    if r.action == "enforce":
        yield from _audit_overrides(r)
        return
    if r.action_node is not None:
        span = r.action_node.span
        msg = (
            f"verifyImages of {r.where} runs with failure action {r.action_node.text}: "
            "unsigned images are admitted"
        )
    else:
        key = r.rule.key_node("verifyImages")
        span = key.span if key is not None else r.entry.span
        msg = (
            f"verifyImages of {r.where} has no failure action, so it defaults to Audit: "
            "unsigned images are admitted"
        )
    yield Finding(span, msg)


def _attestor_sets(entry: YNode) -> Iterator[YNode]:
    """Every attestor set of an entry: its attestors, its attestations' attestors, nested ones."""
    stack: list[YNode] = []
    for key in ("attestors",):
        stack.extend(s for s in (entry.get(key).seq() if entry.get(key) is not None else []))  # type: ignore[union-attr]
    for att in entry.get("attestations").seq() if entry.get("attestations") is not None else []:  # type: ignore[union-attr]
        stack.extend(att.get("attestors").seq() if att.get("attestors") is not None else [])  # type: ignore[union-attr]
    while stack:
        s = stack.pop()
        if not s.is_map:
            continue
        yield s
        for e in s.get("entries").seq() if s.get("entries") is not None else []:  # type: ignore[union-attr]
            nested = e.get("attestor") if e.is_map else None
            if nested is not None and nested.is_map:
                stack.append(nested)


def _entries(entry: YNode) -> Iterator[YNode]:
    for s in _attestor_sets(entry):
        for e in s.get("entries").seq() if s.get("entries") is not None else []:  # type: ignore[union-attr]
            if e.is_map:
                yield e


def _audit_overrides(r: KyvernoImageRule) -> Iterator[Finding]:
    """`validationFailureActionOverrides` entries that audit in some namespaces."""
    spec = r.obj.node.get("spec")
    overrides = spec.get("validationFailureActionOverrides") if spec is not None else None
    for o in overrides.seq() if overrides is not None else []:
        action = o.get("action")
        if action is None or (action.text or "").lower() != "audit":
            continue
        ns = o.get("namespaces")
        names = (
            ", ".join(n.text or "" for n in ns.seq()) if ns is not None else "selected namespaces"
        )
        yield Finding(
            action.span,
            f"verifyImages of {r.where} only audits in namespaces {names}: "
            "unsigned images are admitted there",
        )


@rule(
    id="kyverno-verify-images-weakened",
    layer=Layer.ADMISSION,
    severity=Severity.HIGH,
    cis=("5.5.1",),
    references=(_KYVERNO_DOCS, _KYVERNO_API),
)
def kyverno_verify_images_weakened(r: KyvernoImageRule) -> Iterator[Finding]:
    """A Kyverno `verifyImages` setting switches off part of the verification.

    Each of these settings admits an image the policy seems to reject:
    `required: false` (an image without any signature passes), `verifyDigest: false` (a tag
    that can be moved after the check passes), `mutateDigest: false` on an enforcing rule
    (the verified tag is not pinned to the verified digest, so the kubelet may pull other
    content), `rekor.ignoreTlog: true` and `ctlog.ignoreSCT: true` (no transparency-log
    evidence, so a stolen key's signatures cannot be detected), an attestor `count` larger
    than its entries (Kyverno rejects it, so the rule never verifies), a
    `skipImageReferences` of `*` (every image skipped), and the policy's
    `failurePolicy: Ignore` (when Kyverno is unavailable, every Pod is admitted).

    ## Why it matters
    Each switch turns a hard signature check into a suggestion. Attackers look for exactly
    the image that slips through: an unsigned copy, a moved tag, a signature no log recorded.

    ## Remediation
    Keep the defaults (`required`, `verifyDigest`, `mutateDigest` true; Rekor and CT log
    checks on) and let the webhook fail closed:

        spec:
          failurePolicy: Fail
          rules:
            - verifyImages:
                - imageReferences: ["ghcr.io/acme/*"]
                  required: true
                  verifyDigest: true
                  mutateDigest: true
    """
    e = r.entry
    flags = (
        ("required", "images without any signature are admitted"),
        ("verifyDigest", "a tag can be moved after the check"),
        ("mutateDigest", "the verified tag is not pinned to the verified digest"),
    )
    for key, why in flags:
        node = e.get(key)
        if node is None or node.bool is not False:
            continue
        if key == "mutateDigest" and r.action != "enforce":
            continue
        yield Finding(node.span, f"{key}: false in {r.where}: {why}")
    skips = e.get("skipImageReferences")
    for skip in skips.seq() if skips is not None else []:
        if skip.text is not None and is_catch_all_wildcard(skip.text):
            msg = f"skipImageReferences {skip.text!r} in {r.where} skips every image"
            yield Finding(skip.span, msg)
    for node in e.walk():
        if not node.is_map:
            continue
        for path, why in (
            (("rekor", "ignoreTlog"), "no transparency-log check"),
            (("ctlog", "ignoreSCT"), "no certificate-transparency check"),
        ):
            flag = node.dig(*path)
            if flag is not None and flag.bool is True:
                yield Finding(flag.span, f"{'.'.join(path)}: true in {r.where}: {why}")
    for s in _attestor_sets(e):
        count = s.get("count")
        entries = s.get("entries")
        n = len(entries.seq()) if entries is not None else 0
        if count is not None and count.int is not None and count.int > n:
            yield Finding(
                count.span,
                f"attestor count {count.int} exceeds its {n} entries in {r.where}: "
                "Kyverno rejects it",
            )
    spec = r.obj.node.get("spec")
    fp = spec.get("failurePolicy") if spec is not None else None
    if fp is not None and (fp.text or "").lower() == "ignore":
        yield Finding(
            fp.span,
            f"failurePolicy: Ignore on {r.obj.display}: when Kyverno is unavailable, "
            "unsigned images are admitted",
            related=(Related(e.span, "the verifyImages entry it weakens"),),
        )


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


@rule(
    id="kyverno-attestation-without-conditions",
    layer=Layer.ADMISSION,
    severity=Severity.MEDIUM,
    references=(_KYVERNO_DOCS, _KYVERNO_API),
)
def kyverno_attestation_without_conditions(r: KyvernoImageRule) -> Iterator[Finding]:
    """A Kyverno attestation check requires a predicate but no condition on its content.

    Without `conditions`, Kyverno is satisfied by any signed statement of the predicate
    type: a provenance that names another builder or source repository, or a vulnerability
    scan full of critical findings, passes.

    ## Why it matters
    The value of provenance and scan attestations lies in what they say. Checking only that
    one exists lets an attacker attach a truthful attestation of the wrong build.

    ## Remediation
    Add conditions on the predicate:

        attestations:
          - predicateType: https://slsa.dev/provenance/v1
            conditions:
              - all:
                  - key: "{{ buildDefinition.externalParameters.workflow.repository }}"
                    operator: Equals
                    value: "https://github.com/acme/shop"
    """
    atts = r.entry.get("attestations")
    for att in atts.seq() if atts is not None else []:
        if not att.is_map:
            continue
        conds = att.get("conditions")
        if conds is not None and conds.seq():
            continue
        pt = att.get("predicateType") or att.get("type")
        span = pt.span if pt is not None else att.span
        yield Finding(
            span,
            f"attestation {pt.text if pt is not None else ''} in {r.where} has no conditions: "
            "any statement of that type passes",
        )
