"""The image-verification stage of `kubeward scan --verify-images`.

A stage of the one engine (`kubeward.engine.Stage`): after the files are parsed, it asks each
registry about every image reference the scan found (each distinct reference once, a few at a
time, through `kubeward.verify.verify_image`) and provides one `VerifiedImage` per place that
names an image. The `NETWORK_RULES` of `kubeward.verify.rules` run over them like any other
rule, so their findings are judged, suppressed (inline comments, annotations, baseline, config)
and ordered with the rest. Registry problems are scan errors at that place.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kubeward.model.image import ImageRef
from kubeward.model.images import ImageUse
from kubeward.scan_context import ScanContext
from kubeward.source import ScanError
from kubeward.verify._inputs import PolicySet, Trust
from kubeward.verify.image import ImageVerdict, Verdict, verify_image
from kubeward.verify.registry import RegistryClient, RegistryError
from kubeward.verify.rules import VerifiedImage

_MAX_PARALLEL = 4
_SIGNATURE_RULE = "image-signature-unverified"
_DRIFT_RULE = "image-tag-digest-drift"


@dataclass(frozen=True)
class _Answer:
    image: str
    result: ImageVerdict
    tag_digest: str | None = None
    tag_missing: bool = False
    tag_covers_pin: bool = False
    tag_error: str | None = None


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

    def observe(self, registry: str, result: ImageVerdict) -> None:
        if result.verdict is not Verdict.ERROR:
            return
        text = "; ".join(result.reasons)
        if any(sign in text for sign in self._SIGNS):
            with self._lock:
                self._down.setdefault(registry, text)


@dataclass(frozen=True)
class VerifyImagesStage:
    """Verify in their registries the images a scan names, against one policy set."""

    policy: PolicySet
    trust: Trust
    client: RegistryClient
    parallel: int = _MAX_PARALLEL
    """How many references are asked about at a time."""

    @property
    def target(self) -> type[VerifiedImage]:
        return VerifiedImage

    def build(
        self, ctx: ScanContext, rule_ids: frozenset[str]
    ) -> tuple[list[VerifiedImage], list[ScanError]]:
        """A `VerifiedImage` per literal image reference of the scan, and the registry
        problems as errors at the reference. `rule_ids` (the stage's rules that run) say what
        to ask: signatures for `image-signature-unverified`, tags for the drift rule."""
        uses = sorted(
            (u for u in ctx.instances(ImageUse) if u.ref.is_resolved),
            key=lambda u: (u.span.path, u.span.start.offset),
        )
        refs = {u.ref.canonical: u.ref for u in uses}
        answers = self._ask_all(
            refs,
            check_signatures=_SIGNATURE_RULE in rule_ids,
            check_drift=_DRIFT_RULE in rule_ids,
        )
        images: list[VerifiedImage] = []
        errors: list[ScanError] = []
        for use in uses:
            answer = answers[use.ref.canonical]
            problems = []
            if answer.result.verdict is Verdict.ERROR:
                problems.append("; ".join(answer.result.reasons))
            if answer.tag_error is not None:
                problems.append(f"tag {use.ref.tag}: {answer.tag_error}")
            errors += [
                ScanError(use.span.path, f"cannot verify {answer.image}: {p}", use.span.start.line)
                for p in problems
            ]
            images.append(
                VerifiedImage(
                    use=use,
                    image=answer.image,
                    result=answer.result,
                    tag_digest=answer.tag_digest,
                    tag_missing=answer.tag_missing,
                    tag_covers_pin=answer.tag_covers_pin,
                )
            )
        return images, errors

    def _ask_all(
        self, refs: dict[str, ImageRef], *, check_signatures: bool, check_drift: bool
    ) -> dict[str, _Answer]:
        breaker = _Breaker()

        def ask(ref: ImageRef) -> _Answer:
            return self._ask(
                ref, check_signatures=check_signatures, check_drift=check_drift, breaker=breaker
            )

        # The first image of each registry goes first: a registry that is down is then known
        # before its other images are tried.
        firsts: dict[str, str] = {}
        for text, ref in refs.items():
            firsts.setdefault(ref.registry, text)
        rest = [text for text in refs if text not in firsts.values()]
        answers: dict[str, _Answer] = {}
        workers = max(1, min(self.parallel, len(refs)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for batch in (list(firsts.values()), rest):
                answers.update(zip(batch, pool.map(ask, (refs[t] for t in batch)), strict=True))
        return answers

    def _ask(
        self, ref: ImageRef, *, check_signatures: bool, check_drift: bool, breaker: _Breaker
    ) -> _Answer:
        image = ref.canonical
        down = breaker.reason(ref.registry)
        if down is not None:
            skipped = f"not checked: {ref.registry} failed before ({down})"
            return _Answer(image, ImageVerdict(image, None, Verdict.ERROR, (skipped,)))
        if check_signatures:
            result = verify_image(
                ImageRef(ref.registry, ref.repository, ref.tag, ref.digest),
                self.policy,
                client=self.client,
                trust=self.trust,
            )
            breaker.observe(ref.registry, result)
            if result.verdict is Verdict.ERROR:
                return _Answer(image, result)
        else:
            result = ImageVerdict(image, ref.digest, Verdict.PASS, ())
        if not (check_drift and ref.tag and ref.digest):
            return _Answer(image, result)
        try:
            manifest = self.client.get_manifest(ImageRef(ref.registry, ref.repository, ref.tag))
            if manifest is None:
                return _Answer(image, result, tag_missing=True)
            listed = manifest.json.get("manifests")
            covers = isinstance(listed, list) and any(
                isinstance(m, dict) and m.get("digest") == ref.digest for m in listed
            )
            return _Answer(image, result, tag_digest=manifest.digest, tag_covers_pin=covers)
        except RegistryError as exc:
            breaker.observe(ref.registry, ImageVerdict(image, None, Verdict.ERROR, (exc.reason,)))
            return _Answer(image, result, tag_error=exc.reason)
