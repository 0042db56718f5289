"""`kubeward scan --verify-images`: verify in their registries the images a scan found.

The scan CLI adds these options with `add_scan_arguments` and, after the static scan, calls
`verify_scan_images` with the scan's `ImageUse`s. Each distinct reference is resolved and
verified once (a few at a time), with the same policy options and engine as `kubeward verify`;
the `NETWORK_RULES` of `kubeward.verify.rules` turn the answers into findings at every place
that names the image. Registry problems are scan errors at that place, never a traceback.
Inline comments, Kubernetes annotations, the baseline and the config's severity and on/off
settings apply to these findings as they do to the static ones.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubeward.config import Config
from kubeward.model.image import ImageRef as ModelImageRef
from kubeward.model.images import ImageUse
from kubeward.registry import RULES, Rule, RuleContext
from kubeward.results import Report, Result
from kubeward.scan_context import ScanContext
from kubeward.source import ScanError
from kubeward.verify._errors import VerificationError
from kubeward.verify.rules import NETWORK_RULES, VerifiedImage

if TYPE_CHECKING:
    from kubeward.verify._trust import TrustedRoot
    from kubeward.verify.image import ImageResult
    from kubeward.verify.policy import ImagePolicy
    from kubeward.verify.registry import RegistryClient


if TYPE_CHECKING:
    from kubeward.engine import ScanOptions

_MAX_PARALLEL = 4
_OPTION_DESTS = (
    "key",
    "certificate_identity",
    "certificate_identity_regexp",
    "certificate_oidc_issuer",
    "certificate_oidc_issuer_regexp",
    "policy",
    "trusted_root",
    "registry_ca",
    "slsa_builder_id",
    "slsa_source_repo",
    "slsa_ref",
)


class VerifyImagesUsageError(ValueError):
    """The verification options are wrong (no policy, unreadable key...): a usage error."""


def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--verify-images` and the options of `kubeward verify` to the `scan` subparser."""
    from kubeward.verify._cli_image import add_policy_arguments

    group = parser.add_argument_group(
        "image verification",
        "With --verify-images, resolve every image the scanned files reference in its registry "
        "and verify its cosign signatures and attestations against the policy these options "
        "give (as `kubeward verify` does). Needs the network.",
    )
    group.add_argument(
        "--verify-images",
        action="store_true",
        help="verify referenced images in their registries; report unsigned, policy-failing "
        "and tag-drifted images as findings",
    )
    add_policy_arguments(group)


def check_scan_arguments(args: argparse.Namespace) -> None:
    """Fail early, before scanning, on options that cannot work; raises VerifyImagesUsageError."""
    if not getattr(args, "verify_images", False):
        given = [d for d in _OPTION_DESTS if getattr(args, d, None)]
        given += [d for d in ("attestation", "insecure_registry") if getattr(args, d, None)]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise VerifyImagesUsageError(f"{flag} only applies with --verify-images")
        return
    _policy_and_root(args)


def _policy_and_root(args: argparse.Namespace) -> tuple[list[ImagePolicy], TrustedRoot]:
    from kubeward.verify._cli_image import policies_from_args
    from kubeward.verify._trust import load_trusted_root

    try:
        return policies_from_args(args), load_trusted_root(args.trusted_root)
    except VerificationError as exc:
        raise VerifyImagesUsageError(f"--verify-images: {exc.reason}") from exc


# --- asking the registries -----------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    image: str
    result: ImageResult
    tag_digest: str | None = None
    tag_missing: bool = False
    tag_covers_pin: bool = False
    tag_error: str | None = None


def reference_text(ref: ModelImageRef) -> str:
    """The fully qualified reference to ask the registry for."""
    text = ref.name
    if ref.tag:
        text += f":{ref.tag}"
    if ref.digest:
        text += f"@{ref.digest}"
    return text


class _Breaker:
    """Registries that could not be reached: later images there are skipped, not retried.

    Without it, a scan of many images on a registry that is down (or without network) would
    wait out every request's timeout and retries, image after image.
    """

    _SIGNS = ("registry unreachable", "TLS certificate not trusted")

    def __init__(self) -> None:
        self._down: dict[str, str] = {}
        self._lock = threading.Lock()

    def reason(self, registry: str) -> str | None:
        with self._lock:
            return self._down.get(registry)

    def observe(self, registry: str, result: ImageResult) -> None:
        from kubeward.verify.image import Verdict

        if result.verdict is not Verdict.ERROR:
            return
        text = "; ".join(result.reasons)
        if any(sign in text for sign in self._SIGNS):
            with self._lock:
                self._down.setdefault(registry, text)


def _ask(
    ref: ModelImageRef,
    *,
    policies: Sequence[ImagePolicy],
    client: RegistryClient,
    root: TrustedRoot,
    check_signatures: bool,
    check_drift: bool,
    breaker: _Breaker,
) -> _Answer:
    from kubeward.verify.image import ImageResult, Verdict, verify_image
    from kubeward.verify.registry import RegistryError, parse_image_ref

    image = reference_text(ref)
    down = breaker.reason(ref.registry)
    if down is not None:
        skipped = f"not checked: {ref.registry} failed before ({down})"
        return _Answer(image, ImageResult(image, None, Verdict.ERROR, (skipped,)))
    if check_signatures:
        result = verify_image(image, policies=policies, client=client, root=root)
        breaker.observe(ref.registry, result)
        if result.verdict is Verdict.ERROR:
            return _Answer(image, result)
    else:
        result = ImageResult(image, ref.digest, Verdict.PASS, ())
    if not (check_drift and ref.tag and ref.digest):
        return _Answer(image, result)
    try:
        tagged = parse_image_ref(f"{ref.name}:{ref.tag}")
        manifest = client.get_manifest(tagged)
        if manifest is None:
            return _Answer(image, result, tag_missing=True)
        listed = manifest.json.get("manifests")
        covers = isinstance(listed, list) and any(
            isinstance(m, dict) and m.get("digest") == ref.digest for m in listed
        )
        return _Answer(image, result, tag_digest=manifest.digest, tag_covers_pin=covers)
    except RegistryError as exc:
        breaker.observe(ref.registry, ImageResult(image, None, Verdict.ERROR, (exc.reason,)))
        return _Answer(image, result, tag_error=exc.reason)


# --- findings into the report --------------------------------------------------------------


def _selected(args: argparse.Namespace, options: ScanOptions | None) -> list[Rule]:
    only = getattr(args, "rule", None)
    chosen = []
    for rule_id in sorted(NETWORK_RULES):
        if only and rule_id not in only:
            continue
        if not only and options is not None and not options.config.rule(rule_id).enabled:
            continue
        chosen.append(RULES[rule_id])
    return chosen


def verify_scan_images(
    args: argparse.Namespace,
    report: Report,
    ctx_images: list[ImageUse],
    *,
    options: ScanOptions | None = None,
    scan_context: ScanContext | None = None,
    client: RegistryClient | None = None,
) -> None:
    """Verify every image of `ctx_images`; add findings and registry errors to `report`.

    `options` (the scan's) brings the config's rule settings and the baseline; `scan_context`
    the file texts for fingerprints and inline and annotation suppressions. Raises
    `VerifyImagesUsageError` when the policy options are unusable.
    """
    from kubeward.engine import Judge, read_baseline
    from kubeward.verify._cli_image import client_from_args
    from kubeward.verify.image import Verdict

    rules = _selected(args, options)
    if not rules:
        return
    policies, root = _policy_and_root(args)
    if client is None:
        try:
            client = client_from_args(args)
        except VerificationError as exc:
            raise VerifyImagesUsageError(f"--verify-images: {exc.reason}") from exc
    ids = {r.id for r in rules}
    uses = sorted(
        (u for u in ctx_images if u.ref.is_resolved),
        key=lambda u: (u.span.path, u.span.start.offset),
    )
    refs = {reference_text(u.ref): u.ref for u in uses}
    breaker = _Breaker()

    def ask(ref: ModelImageRef) -> _Answer:
        return _ask(
            ref,
            policies=policies,
            client=client,
            root=root,
            check_signatures="image-signature-unverified" in ids,
            check_drift="image-tag-digest-drift" in ids,
            breaker=breaker,
        )

    # The first image of each registry goes first: a registry that is down is then known
    # before its other images are tried.
    firsts: dict[str, str] = {}
    for text, ref in refs.items():
        firsts.setdefault(ref.registry, text)
    rest = [text for text in refs if text not in firsts.values()]
    answers: dict[str, _Answer] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(_MAX_PARALLEL, len(refs)))) as pool:
        for batch in (list(firsts.values()), rest):
            answers.update(zip(batch, pool.map(ask, (refs[t] for t in batch)), strict=True))

    if options is not None and options.baseline is not None:
        baseline: set[str] | None = options.baseline
    elif getattr(args, "baseline", None) is not None:
        baseline = read_baseline(args.baseline)
    else:
        baseline = None
    seen: set[tuple[str, int, str]] = set()
    context = scan_context if scan_context is not None else ScanContext(files=[])
    judge = context.judge
    if judge is None:  # called outside a scan: judge the same way the engine would
        judge = Judge(context, options.config if options else Config(), baseline)
    for use in uses:
        answer = answers[reference_text(use.ref)]
        line = use.span.start.line
        problems = []
        if answer.result.verdict is Verdict.ERROR:
            problems.append("; ".join(answer.result.reasons))
        if answer.tag_error is not None:
            problems.append(f"tag {use.ref.tag}: {answer.tag_error}")
        for problem in problems:
            if (use.span.path, line, problem) not in seen:
                seen.add((use.span.path, line, problem))
                report.errors.append(
                    ScanError(use.span.path, f"cannot verify {answer.image}: {problem}", line)
                )
        verified = VerifiedImage(
            use=use,
            image=answer.image,
            result=answer.result,
            tag_digest=answer.tag_digest,
            tag_missing=answer.tag_missing,
            tag_covers_pin=answer.tag_covers_pin,
        )
        for rule in rules:
            params = options.config.params_for(rule.id, rule.params) if options else {}
            for finding in rule.run(verified, RuleContext(params, context)):
                judge.add(report, rule, finding)
    known = {r.id for r in report.rules}
    report.rules = sorted([*report.rules, *(r for r in rules if r.id not in known)], key=_rule_id)
    report.results.sort(key=Result.sort_key)
    report.suppressed.sort(key=Result.sort_key)
    # Suppressions of these rules were judged unused before they ran: judge them again.
    report.unused_suppressions = judge.unused({r.id for r in report.rules})
    report.errors = sorted(set(report.errors), key=lambda e: (e.path, e.line or 0, e.reason))


def _rule_id(rule: Rule) -> str:
    return rule.id
