"""Image policies: from the command line or Sigstore policy-controller `ClusterImagePolicy`.

A policy selects images by glob; it passes when at least one of its authorities is satisfied:
a signature (and every attestation the authority lists) verified for that signer. Every
policy that selects an image must pass. No matching policy, or a policy without
authorities, fails closed.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
        return any(glob_matches(g, image) for g in self.globs)


def glob_matches(glob: str, image: str) -> bool:
    """policy-controller globs: `*` within a path segment, `**` across segments.

    An image without a registry in the glob is taken as Docker Hub (`index.docker.io`).
    """
    candidates = {image}
    if image.startswith("docker.io/"):
        candidates.add("index.docker.io/" + image.removeprefix("docker.io/"))
    pattern = re.escape(glob).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace("\0", ".*")
    pattern = pattern.replace(r"\?", "[^/]")
    return any(re.fullmatch(pattern, c) or fnmatch.fnmatchcase(c, glob) for c in candidates)


def _keyless(doc: Any, where: str) -> IdentityPolicy:
    identities = doc.get("identities") or []
    if not identities:
        raise InputError(f"{where}: keyless authority without identities (fails closed)")
    first = identities[0]
    if len(identities) > 1:
        # Several identities are alternatives; expressed as one alternation per field.
        subjects = [
            re.escape(i["subject"]) if "subject" in i else i.get("subjectRegExp", ".*")
            for i in identities
        ]
        issuers = [
            re.escape(i["issuer"]) if "issuer" in i else i.get("issuerRegExp", ".*")
            for i in identities
        ]
        return IdentityPolicy(
            identity_regexp="|".join(f"(?:{s})" for s in subjects),
            issuer_regexp="|".join(f"(?:{s})" for s in issuers),
        )
    policy = IdentityPolicy(
        identity=first.get("subject"),
        identity_regexp=first.get("subjectRegExp"),
        issuer=first.get("issuer"),
        issuer_regexp=first.get("issuerRegExp"),
    )
    if not (policy.identity or policy.identity_regexp) or not (
        policy.issuer or policy.issuer_regexp
    ):
        raise InputError(f"{where}: keyless identity needs subject and issuer (or RegExp)")
    return policy


def _authority(doc: Any, where: str, base: Path) -> Authority:
    if not isinstance(doc, dict):
        raise InputError(f"{where}: authority is not a mapping")
    name = str(doc.get("name") or where)
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
        signer = _keyless(doc["keyless"] or {}, where)
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
    policies = []
    for index, doc in enumerate(documents):
        if not isinstance(doc, dict) or doc.get("kind") != "ClusterImagePolicy":
            continue
        name = str((doc.get("metadata") or {}).get("name") or f"{source}#{index}")
        spec = doc.get("spec") or {}
        globs = tuple(str(i.get("glob")) for i in spec.get("images") or [] if i.get("glob"))
        if not globs:
            raise InputError(f"ClusterImagePolicy {name}: no image globs")
        authorities = tuple(
            _authority(a, f"ClusterImagePolicy {name} authority {i}", Path(source).parent)
            for i, a in enumerate(spec.get("authorities") or [])
        )
        policies.append(ImagePolicy(name=name, globs=globs, authorities=authorities))
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
