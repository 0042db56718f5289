"""Image policies: from the command line or Sigstore policy-controller `ClusterImagePolicy`.

A policy selects images by glob, exactly as policy-controller's admission webhook does
(`kubeward.policy.policy_controller`, shared with the scan's coverage rule); it passes when at
least one of its authorities is satisfied: a signature (and every attestation the authority
lists) verified for that signer. Every policy that selects an image must pass. No matching
policy, or a policy without authorities, fails closed. An invalid glob or identity pattern is a
configuration error naming the file and line, as policy-controller refuses such a policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kubeward.model.image import parse_image
from kubeward.parse.yamlnode import YamlLimitError, YNode, load_documents
from kubeward.policy import policy_controller
from kubeward.policy.identity import InvalidRegexp, compile_regexp
from kubeward.verify._crypto import load_public_key_pem
from kubeward.verify._errors import InputError
from kubeward.verify._model import IdentityPolicy, KeyPolicy, SignerPolicy

PREDICATE_TYPES = {
    "slsaprovenance": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance02": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance1": "https://slsa.dev/provenance/v1",
    "cyclonedx": "https://cyclonedx.org/bom",
    "spdx": "https://spdx.dev/Document",
    "spdxjson": "https://spdx.dev/Document",
    "vuln": "https://cosign.sigstore.dev/attestation/vuln/v1",
    "custom": "https://cosign.sigstore.dev/attestation/v1",
}


def predicate_type_uri(name: str) -> str:
    """cosign's short names, or a predicate-type URI as is."""
    if name in PREDICATE_TYPES:
        return PREDICATE_TYPES[name]
    if "://" in name:
        return name
    raise InputError(
        f"unknown attestation type {name!r}: use one of {', '.join(PREDICATE_TYPES)} or a URI"
    )


@dataclass(frozen=True)
class SlsaConditions:
    """Conditions on SLSA provenance predicates (v0.2 and v1)."""

    builder_id: str | None = None
    """Exact builder id; without `@ref` any ref of that builder matches."""
    source_repository: str | None = None
    """e.g. `github.com/org/repo` (scheme and `git+` ignored)."""
    ref: str | None = None
    """e.g. `refs/heads/main` or `refs/tags/v1.2.3`."""

    def __bool__(self) -> bool:
        return any((self.builder_id, self.source_repository, self.ref))


@dataclass(frozen=True)
class AttestationRequirement:
    """An attestation of this predicate type, signed by the authority, must exist."""

    name: str
    predicate_type: str
    slsa: SlsaConditions = field(default_factory=SlsaConditions)


@dataclass(frozen=True)
class Authority:
    name: str
    signer: SignerPolicy
    attestations: tuple[AttestationRequirement, ...] = ()
    require_signature: bool = True
    """cosign semantics: with attestations listed, the signature itself is not required."""


@dataclass(frozen=True)
class ImagePolicy:
    name: str
    globs: tuple[str, ...]
    authorities: tuple[Authority, ...]

    def selects(self, image: str) -> bool:
        """Whether the policy applies to `image` (a reference as written: `host/repo:tag`)."""
        ref = parse_image(image)
        return any(policy_controller.selects(g, ref) for g in self.globs)


Where = Callable[..., str]
"""`where(*path)`: the file and line of a node under the current document, for messages."""


class _Locator:
    """File and line of the nodes of a policy file, for configuration errors."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        try:
            self.documents = load_documents(text, source)
        except (yaml.YAMLError, YamlLimitError):
            self.documents = []

    def where(self, index: int, *path: str | int) -> str:
        node: YNode | None = self.documents[index] if index < len(self.documents) else None
        for key in path:
            if node is None:
                break
            if isinstance(key, int):
                items = node.seq() if node.is_seq else []
                node = items[key] if key < len(items) else None
            else:
                node = node.get(key) if node.is_map else None
        return f"{self.source}:{node.span.start.line}" if node is not None else self.source


def _pattern(doc: dict[str, Any], key: str, where: Where, what: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    text = str(value)
    try:
        compile_regexp(text)
    except InvalidRegexp as exc:
        raise InputError(f"{where(key)}: {what} {key}: {exc}") from exc
    return text


def _identity(doc: Any, where: Where, what: str) -> IdentityPolicy:
    if not isinstance(doc, dict):
        raise InputError(f"{where()}: {what} is not a mapping")
    for plain, rx in (("subject", "subjectRegExp"), ("issuer", "issuerRegExp")):
        if doc.get(plain) is not None and doc.get(rx) is not None:
            raise InputError(f"{where(rx)}: {what} sets both {plain} and {rx} (give one)")
    subject, issuer = doc.get("subject"), doc.get("issuer")
    policy = IdentityPolicy(
        identity=None if subject is None else str(subject),
        identity_regexp=_pattern(doc, "subjectRegExp", where, what),
        issuer=None if issuer is None else str(issuer),
        issuer_regexp=_pattern(doc, "issuerRegExp", where, what),
    )
    if not (policy.identity or policy.identity_regexp) or not (
        policy.issuer or policy.issuer_regexp
    ):
        raise InputError(f"{where()}: {what} needs subject and issuer (or RegExp)")
    return policy


def _keyless(doc: Any, where: Where, what: str) -> IdentityPolicy:
    """`keyless.identities`: each entry is an (identity, issuer) pair, accepted as a pair."""
    identities = (doc.get("identities") if isinstance(doc, dict) else None) or []
    if not isinstance(identities, list) or not identities:
        raise InputError(f"{where()}: {what}: keyless authority without identities (fails closed)")
    pairs = [
        _identity(item, lambda *p, i=i: where("identities", i, *p), f"{what} identity {i}")
        for i, item in enumerate(identities)
    ]
    return replace(pairs[0], alternatives=tuple(pairs[1:]))


def _authority(doc: Any, at: Where, what: str) -> Authority:
    where = f"{at()}: {what}"
    if not isinstance(doc, dict):
        raise InputError(f"{where} is not a mapping")
    name = str(doc.get("name") or what)
    signer: SignerPolicy
    if "key" in doc:
        key = doc["key"] or {}
        if "data" in key:
            data = str(key["data"]).encode()
        elif "kms" in key or "secretRef" in key:
            raise InputError(f"{where}: KMS and secret keys are not supported; inline the PEM")
        else:
            raise InputError(f"{where}: key authority without data")
        signer = KeyPolicy(keys=(load_public_key_pem(data, source=where),), name=name)
    elif "keyless" in doc:
        signer = _keyless(doc["keyless"] or {}, lambda *p: at("keyless", *p), what)
    else:
        raise InputError(f"{where}: authority has neither key nor keyless (fails closed)")
    attestations = tuple(
        AttestationRequirement(
            name=str(a.get("name", a.get("predicateType"))),
            predicate_type=predicate_type_uri(str(a.get("predicateType"))),
        )
        for a in doc.get("attestations") or []
    )
    return Authority(
        name=name, signer=signer, attestations=attestations, require_signature=not attestations
    )


def parse_policy_documents(text: str, *, source: str) -> list[ImagePolicy]:
    """All `ClusterImagePolicy` documents of a YAML stream; other kinds are ignored."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise InputError(f"{source} is not YAML: {exc}") from exc
    locator = _Locator(text, source)
    policies = []
    for index, doc in enumerate(documents):
        if not isinstance(doc, dict) or doc.get("kind") != "ClusterImagePolicy":
            continue

        def at(*path: str | int, index: int = index) -> str:
            return locator.where(index, *path)

        name = str((doc.get("metadata") or {}).get("name") or f"{source}#{index}")
        spec = doc.get("spec") or {}
        images = spec.get("images") or []
        globs = []
        for i, item in enumerate(images):
            glob = item.get("glob") if isinstance(item, dict) else None
            if glob is None:
                continue
            try:
                policy_controller.compile_glob(str(glob))
            except policy_controller.InvalidGlob as exc:
                raise InputError(
                    f"{at('spec', 'images', i, 'glob')}: ClusterImagePolicy {name}: {exc}"
                ) from exc
            globs.append(str(glob))
        if not globs:
            raise InputError(f"{at('spec')}: ClusterImagePolicy {name}: no image globs")
        authorities = tuple(
            _authority(
                a,
                lambda *p, i=i: at("spec", "authorities", i, *p),
                f"ClusterImagePolicy {name} authority {i}",
            )
            for i, a in enumerate(spec.get("authorities") or [])
        )
        policies.append(ImagePolicy(name=name, globs=tuple(globs), authorities=authorities))
    if not policies:
        raise InputError(f"{source} holds no ClusterImagePolicy (an empty policy fails closed)")
    return policies


def load_policy_file(path: Path) -> list[ImagePolicy]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read policy {path}: {exc.strerror}") from exc
    return parse_policy_documents(text, source=str(path))


def command_line_policy(
    signer: SignerPolicy, attestations: Iterable[AttestationRequirement]
) -> ImagePolicy:
    attestations = tuple(attestations)
    return ImagePolicy(
        name="command line",
        globs=("**",),
        authorities=(
            Authority(
                name="command line",
                signer=signer,
                attestations=attestations,
                require_signature=not attestations,
            ),
        ),
    )
