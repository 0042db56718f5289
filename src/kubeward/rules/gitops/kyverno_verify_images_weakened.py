"""A Kyverno `verifyImages` setting switches off part of the verification."""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.model.policy import KyvernoImageRule, is_catch_all_wildcard
from kubeward.registry import Finding, Layer, Related, Severity, rule
from kubeward.rules.gitops._kyverno import _KYVERNO_API, _KYVERNO_DOCS, _attestor_sets


def _disabled_flags(r: KyvernoImageRule) -> Iterator[Finding]:
    """`required`, `verifyDigest` or (when enforced) `mutateDigest` set to false."""
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


def _catch_all_skips(r: KyvernoImageRule) -> Iterator[Finding]:
    """A `skipImageReferences` wildcard that skips every image."""
    skips = r.entry.get("skipImageReferences")
    for skip in skips.seq() if skips is not None else []:
        if skip.text is not None and is_catch_all_wildcard(skip.text):
            msg = f"skipImageReferences {skip.text!r} in {r.where} skips every image"
            yield Finding(skip.span, msg)


def _ignored_logs(r: KyvernoImageRule) -> Iterator[Finding]:
    """`rekor.ignoreTlog` or `ctlog.ignoreSCT` set to true anywhere in the entry."""
    for node in r.entry.walk():
        if not node.is_map:
            continue
        for path, why in (
            (("rekor", "ignoreTlog"), "no transparency-log check"),
            (("ctlog", "ignoreSCT"), "no certificate-transparency check"),
        ):
            flag = node.dig(*path)
            if flag is not None and flag.bool is True:
                yield Finding(flag.span, f"{'.'.join(path)}: true in {r.where}: {why}")


def _impossible_counts(r: KyvernoImageRule) -> Iterator[Finding]:
    """An attestor set whose `count` exceeds its entries."""
    for s in _attestor_sets(r.entry):
        count = s.get("count")
        entries = s.get("entries")
        n = len(entries.seq()) if entries is not None else 0
        if count is not None and count.int is not None and count.int > n:
            yield Finding(
                count.span,
                f"attestor count {count.int} exceeds its {n} entries in {r.where}: "
                "Kyverno rejects it",
            )


def _fails_open(r: KyvernoImageRule) -> Iterator[Finding]:
    """The policy's `failurePolicy: Ignore`."""
    spec = r.obj.node.get("spec")
    fp = spec.get("failurePolicy") if spec is not None else None
    if fp is not None and (fp.text or "").lower() == "ignore":
        yield Finding(
            fp.span,
            f"failurePolicy: Ignore on {r.obj.display}: when Kyverno is unavailable, "
            "unsigned images are admitted",
            related=(Related(r.entry.span, "the verifyImages entry it weakens"),),
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
    yield from _disabled_flags(r)
    yield from _catch_all_skips(r)
    yield from _ignored_logs(r)
    yield from _impossible_counts(r)
    yield from _fails_open(r)
