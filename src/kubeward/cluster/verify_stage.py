"""`scan --cluster --verify-images`: verify the digests that run, not the tags specs name.

An engine `Stage` beside `kubeward.verify.scan_hook.VerifyImagesStage` (same policy, trust
and registry client): for every running container with a repo digest it verifies
`registry/repository@<running digest>` (the spec's repository, where the kubelet pulled from
and where cosign stores the signatures) through `kubeward.verify.verify_image`, each distinct
reference once. It also fetches the manifests of the spec's, and the running, digests and
records the image indexes among them in the scan's `IndexStore`, so the drift rules can tell
a platform manifest of a pinned index from drift. A running platform manifest that fails on
its own passes when an index listing it passes (what `cosign sign` of the index covers, and
what admission of `image@<index digest>` verified).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kubeward.cluster.indexes import IndexStore
from kubeward.model.image import ImageRef
from kubeward.model.runtime import RunningContainer, VerifiedRunning
from kubeward.scan_context import ScanContext
from kubeward.source import ScanError
from kubeward.verify._inputs import PolicySet, Trust
from kubeward.verify.image import ImageVerdict, Verdict, verify_image
from kubeward.verify.registry import RegistryClient, RegistryError

_MAX_PARALLEL = 4


@dataclass(frozen=True)
class RunningImagesStage:
    policy: PolicySet
    trust: Trust
    client: RegistryClient
    parallel: int = _MAX_PARALLEL

    @property
    def target(self) -> type[VerifiedRunning]:
        return VerifiedRunning

    def build(
        self, ctx: ScanContext, rule_ids: frozenset[str]
    ) -> tuple[list[VerifiedRunning], list[ScanError]]:
        running = [c for c in ctx.instances(RunningContainer) if c.running_ref is not None]
        refs: dict[str, ImageRef] = {}
        for c in running:
            ref = c.running_ref
            assert ref is not None
            refs.setdefault(ref.canonical, ref)
        manifests = self._index_candidates(running)
        errors: list[ScanError] = []
        store = ctx.cluster.indexes if ctx.cluster is not None else IndexStore()
        if ctx.cluster is not None:
            ctx.cluster.verified_online = True
        with ThreadPoolExecutor(max_workers=max(1, min(self.parallel, len(refs) or 1))) as pool:
            # Indexes first: a running platform manifest is judged with the index it is of.
            fetched = list(pool.map(self._manifest, manifests))
            for ref, got in zip(manifests, fetched, strict=True):
                if isinstance(got, dict):
                    store.add(ref.digest or "", got, f"{ref.canonical} (registry)")
            verdicts = dict(zip(refs, pool.map(self._verify, refs.values()), strict=True))
            parents = {
                name: [
                    ImageRef(ref.registry, ref.repository, None, p)
                    for p in sorted(store.parents.get(ref.digest or "", ()))
                ]
                for name, ref in refs.items()
                if verdicts[name].verdict is Verdict.FAIL
            }
            flat = list({p.canonical: p for ps in parents.values() for p in ps}.values())
            by_parent = dict(
                zip((p.canonical for p in flat), pool.map(self._verify, flat), strict=True)
            )
        via: dict[str, str] = {}
        for name, ps in parents.items():
            passed = next((p for p in ps if by_parent[p.canonical].passed), None)
            if passed is not None:  # the platform manifest of a verified index
                verdicts[name] = by_parent[passed.canonical]
                via[name] = passed.canonical
        out = []
        for c in running:
            ref = c.running_ref
            assert ref is not None
            result = verdicts[ref.canonical]
            if result.verdict is Verdict.ERROR:
                reason = "; ".join(result.reasons)
                errors.append(
                    ScanError(c.span.path, f"cannot verify {ref.canonical}: {reason}", c.span.line)
                )
            out.append(VerifiedRunning(c, ref.canonical, result, via.get(ref.canonical)))
        return out, errors

    def _verify(self, ref: ImageRef) -> ImageVerdict:
        return verify_image(ref, self.policy, client=self.client, trust=self.trust)

    @staticmethod
    def _index_candidates(running: list[RunningContainer]) -> list[ImageRef]:
        """The spec and running digests worth fetching: where an index could explain a
        difference between what is pinned and what runs, or between replicas."""
        seen: dict[str, ImageRef] = {}
        for c in running:
            spec, run = c.spec_image, c.running_ref
            assert run is not None
            seen.setdefault(run.canonical, run)
            if spec is not None and spec.is_resolved and spec.digest is not None:
                pinned = ImageRef(spec.registry, spec.repository, None, spec.digest)
                seen.setdefault(pinned.canonical, pinned)
        return list(seen.values())

    def _manifest(self, ref: ImageRef) -> object:
        try:
            got = self.client.get_manifest(ref)
            return got.json if got is not None else None
        except RegistryError:
            return None  # an index that cannot be fetched decides nothing; the finding says so
