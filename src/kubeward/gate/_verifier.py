"""The gate's one door into the verification core (`kubeward.verify`).

Everything the gate knows about how images are verified is in this module: loading the
`ClusterImagePolicy` documents as `verify --policy` does, the offline trust root, the
registry client, and turning `verify_image`'s result into a `GateVerdict`. Switching to the
core's typed API later changes this module only.

Multi-arch images: the digest judged is the one the reference names — for an index, the
index digest, as `cosign verify IMAGE` does (and what the pinned `repo:tag@sha256:` makes the
kubelet pull). A signature over one platform manifest alone does not admit the index.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubeward.gate.config import GateConfig
from kubeward.gate.metrics import GateMetrics
from kubeward.gate.model import GateError, GateVerdict, Mode, Resolved
from kubeward.verify._errors import VerificationError
from kubeward.verify._inputs import Deadline, PolicySet, Trust
from kubeward.verify._trust import production_trusted_root_bytes
from kubeward.verify.image import ImageVerdict, Verdict, verify_image
from kubeward.verify.policy import ImagePolicy, parse_policy_documents
from kubeward.verify.registry import (
    ImageRef,
    RegistryClient,
    RegistryError,
    RegistryOptions,
    parse_image_ref,
)


@dataclass
class _CountingClient(RegistryClient):
    """The core's registry client, counting requests by status for the gate's metrics.

    `metrics` is a dataclass field so that copies the core makes (`dataclasses.replace`)
    keep counting."""

    metrics: GateMetrics | None = None

    def request(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
        try:
            answer = super().request(*args, **kwargs)
        except RegistryError as exc:
            if self.metrics is not None:
                self.metrics.registry_requests.labels(str(exc.status or "error")).inc()
            raise
        if self.metrics is not None:
            self.metrics.registry_requests.labels(str(answer[0])).inc()
        return answer


def _modes(text: str) -> dict[str, Mode]:
    """`spec.mode` of each `ClusterImagePolicy` by name (policy-controller: enforce|warn)."""
    modes = {}
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict) and doc.get("kind") == "ClusterImagePolicy":
            name = str((doc.get("metadata") or {}).get("name") or "")
            raw = (doc.get("spec") or {}).get("mode") or "enforce"
            try:
                modes[name] = Mode(raw)
            except ValueError:
                raise GateError(
                    f"ClusterImagePolicy {name}: spec.mode {raw!r} is not enforce or warn",
                    category="config",
                ) from None
    return modes


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise GateError(f"cannot read {what} {path}: {exc.strerror}", category="config") from exc


class CoreVerifier:
    """`ImageVerifier` over `kubeward.verify.image.verify_image`."""

    def __init__(self, config: GateConfig, *, metrics: GateMetrics | None = None) -> None:
        digest = hashlib.sha256()
        self.policies: list[ImagePolicy] = []
        self.modes: dict[str, Mode] = {}
        try:
            for path in config.policies:
                data = _read(path, "policy")
                digest.update(b"policy\0" + hashlib.sha256(data).digest())
                text = data.decode()
                self.policies += parse_policy_documents(text, source=str(path))
                self.modes.update(_modes(text))
            trust = (
                production_trusted_root_bytes()
                if config.trusted_root is None
                else _read(config.trusted_root, "trusted root")
            )
            # Parsed once, with the core's canonical digest (`Trust.digest`).
            self.trust = Trust.from_json(
                trust,
                source=str(config.trusted_root or "sigstore production (offline)"),
            )
        except UnicodeDecodeError as exc:
            raise GateError(f"a policy file is not UTF-8: {exc}", category="config") from exc
        except (VerificationError, yaml.YAMLError) as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            raise GateError(reason, category="config") from exc
        digest.update(b"trust\0" + hashlib.sha256(trust).digest())
        digest.update(b"no-match\0" + config.no_match_policy.encode())
        self._fingerprint = digest.hexdigest()[:32]
        self.no_match = config.no_match_policy
        self.client = _CountingClient(
            RegistryOptions(
                ca_file=config.registry_ca,
                docker_config=config.registry_config,
                insecure=config.insecure_registries,
                timeout=config.registry_timeout,
                retries=config.registry_retries,
            ),
            metrics=metrics,
        )

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def parse(self, image: str) -> Resolved:
        if not image:
            raise GateError("the container has no image", category="bad-reference")
        try:
            ref = parse_image_ref(image)
        except RegistryError as exc:
            raise GateError(exc.reason, category="bad-reference") from exc
        return Resolved(f"{ref.registry}/{ref.repository}", ref.tag, ref.digest)

    def _ref(self, ref: Resolved) -> ImageRef:
        registry, _, repository = ref.repository.partition("/")
        return ImageRef(registry, repository, ref.tag, ref.digest)

    def resolve(self, ref: Resolved, *, deadline: float) -> Resolved:
        try:
            manifest = self.client.get_manifest(self._ref(ref))
        except RegistryError as exc:
            raise GateError(exc.reason, category="registry-error") from exc
        if manifest is None:
            raise GateError(
                f"{ref.repository}:{ref.tag or 'latest'}: manifest not found", category="not-found"
            )
        return Resolved(ref.repository, ref.tag, manifest.digest)

    def _run(self, ref: Resolved, policies: list[ImagePolicy], deadline: float) -> ImageVerdict:
        return verify_image(
            ref.pinned,
            PolicySet(tuple(policies), source="gate"),
            client=self.client,
            trust=self.trust,
            deadline=Deadline(deadline),
        )

    def verify(self, ref: Resolved, *, deadline: float) -> GateVerdict:
        # Selected by the reference the core verifies (`registry/repository@digest`), so this
        # split into enforce and warn policies and the core's own selection agree.
        selected = [p for p in self.policies if p.selects(ref.pinned)]
        if not selected:
            reason = "no policy selects this image"
            if self.no_match == "warn":
                return GateVerdict(
                    True, reason, ref.digest, None, Mode.WARN, "no-policy", warnings=(reason,)
                )
            return GateVerdict(
                False, reason + " (fails closed)", ref.digest, None, Mode.ENFORCE, "no-policy"
            )
        enforce = [p for p in selected if self.modes.get(p.name, Mode.ENFORCE) is Mode.ENFORCE]
        warn = [p for p in selected if p not in enforce]
        names = ", ".join(p.name for p in selected)
        warnings: tuple[str, ...] = ()
        definitive = True
        if enforce:
            result = self._run(ref, enforce, deadline)
            if result.verdict is not Verdict.PASS:
                error = result.verdict is Verdict.ERROR
                return GateVerdict(
                    allowed=False,
                    reason="; ".join(result.reasons) or "not verified",
                    digest=ref.digest,
                    policy_name=names,
                    mode=Mode.ENFORCE,
                    category="registry-error" if error else "not-verified",
                    definitive=not error,
                )
        if warn:
            if time.monotonic() >= deadline:
                raise GateError(
                    "the deadline passed before the warn-mode policies ran", category="deadline"
                )
            result = self._run(ref, warn, deadline)
            if result.verdict is not Verdict.PASS:
                definitive = result.verdict is not Verdict.ERROR
                warnings = tuple(f"warn-mode policy: {r}" for r in result.reasons) or (
                    "warn-mode policy: not verified",
                )
        return GateVerdict(
            allowed=True,
            reason="verified" if not warnings else "verified for enforced policies",
            digest=ref.digest,
            policy_name=names,
            mode=Mode.ENFORCE if enforce else Mode.WARN,
            category="verified" if not warnings else "warn-mode",
            definitive=definitive,
            warnings=warnings,
        )


def load_verifier(config: GateConfig, metrics: GateMetrics | None = None) -> CoreVerifier:
    return CoreVerifier(config, metrics=metrics)
