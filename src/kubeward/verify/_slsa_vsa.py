"""`verify-vsa`: SLSA Verification Summary Attestations, with slsa-verifier's semantics.

A port of slsa-framework/slsa-verifier @ aaf98fd `verifiers/internal/vsa/verifier.go` and
`cli/slsa-verifier/verify/verify_vsa.go`: a DSSE envelope signed with a given public key (and
key ID), whose in-toto statement is a `https://slsa.dev/verification_summary/v1` predicate
that must name the expected subject digests, verifier, resource URI, a PASSED result and at
least the expected levels.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from kubeward.verify._slsa_builders import err, loads_json

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
VSA_PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
_STATEMENT_TYPES = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")


@dataclass(frozen=True)
class VsaRequest:
    subject_digests: Sequence[str]
    """`<algorithm>:<value>` each, e.g. `gce_image_id:8970095005306000053`."""
    verifier_id: str | None
    resource_uri: str | None
    verified_levels: Sequence[str]
    public_key_id: str


def load_public_key(data: bytes) -> PublicKeyTypes:
    try:
        return load_pem_public_key(data)
    except ValueError as exc:
        raise err("ErrorInvalidPublicKey", f"not a PEM public key: {exc}") from exc


def ssh_sha256_fingerprint(key: PublicKeyTypes) -> str:
    """go-securesystemslib's `SHA256KeyID`: the OpenSSH SHA256 fingerprint of the key."""
    try:
        text = key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    except (ValueError, TypeError):
        return ""
    blob = base64.b64decode(text.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def _verify(key: PublicKeyTypes, signature: bytes, message: bytes) -> bool:
    """sigstore's signature verifiers: ECDSA (DER or IEEE P1363), RSA PKCS#1 v1.5, Ed25519."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            algorithm: hashes.HashAlgorithm = {256: hashes.SHA256(), 384: hashes.SHA384()}.get(
                key.curve.key_size, hashes.SHA512()
            )
            try:
                utils.decode_dss_signature(signature)
            except ValueError:
                # Not DER: IEEE P1363 r || s.
                half = len(signature) // 2
                if not signature or len(signature) % 2 or len(signature) > 132:
                    return False
                signature = utils.encode_dss_signature(
                    int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
                )
            key.verify(signature, message, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def verify_vsa(data: bytes, *, key: PublicKeyTypes, request: VsaRequest) -> dict[str, Any]:
    """VerifyVSA; returns the verified statement, raises `VerificationError`."""
    envelope = loads_json(data, what="the VSA envelope", kind="ErrorInvalidDssePayload")
    if not isinstance(envelope, dict) or envelope.get("payloadType") != INTOTO_PAYLOAD_TYPE:
        raise err("ErrorInvalidDssePayload", "the VSA is not an in-toto DSSE envelope")
    try:
        payload = base64.b64decode(str(envelope.get("payload") or ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise err("ErrorInvalidDssePayload", "the VSA payload is not base64") from exc
    key_id = request.public_key_id or ssh_sha256_fingerprint(key)
    message = _pae(INTOTO_PAYLOAD_TYPE, payload)
    verified = False
    for sig in envelope.get("signatures") or []:
        if not isinstance(sig, dict):
            continue
        # go-securesystemslib skips a signature whose key ID is not the verifier's.
        sig_key_id = str(sig.get("keyid") or "")
        if sig_key_id and key_id and sig_key_id != key_id:
            continue
        try:
            raw = base64.b64decode(str(sig.get("sig") or ""), validate=True)
        except (binascii.Error, ValueError):
            continue
        if _verify(key, raw, message):
            verified = True
            break
    if not verified:
        raise err(
            "ErrorNoValidSignature", f"no VSA signature verifies with the key {key_id or '?'}"
        )
    statement = loads_json(payload, what="the VSA statement", kind="ErrorInvalidDssePayload")
    if not isinstance(statement, dict) or statement.get("_type") not in _STATEMENT_TYPES:
        raise err("ErrorInvalidDssePayload", "the VSA payload is not an in-toto statement")
    if statement.get("predicateType") != VSA_PREDICATE_TYPE:
        raise err("ErrorInvalidDssePayload", f"predicate type is not {VSA_PREDICATE_TYPE}")
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        raise err("ErrorInvalidDssePayload", "the VSA has no predicate")
    _match(statement, predicate, request)
    return statement


def _match(statement: dict[str, Any], predicate: dict[str, Any], request: VsaRequest) -> None:
    """matchExpectedValues."""
    if not request.subject_digests:
        raise err("ErrorEmptyRequiredField", "no --subject-digest given")
    found: dict[str, set[str]] = {}
    for subject in statement.get("subject") or []:
        digests = subject.get("digest") if isinstance(subject, dict) else None
        for algo, value in (digests or {}).items():
            found.setdefault(str(algo), set()).add(str(value))
    if not found:
        raise err("ErrorInvalidDssePayload", "the VSA has no subject digests")
    for expected in request.subject_digests:
        algo, sep, value = expected.partition(":")
        if not sep:
            raise err("ErrorInvalidDssePayload", f"digest {expected!r} is not <type>:<value>")
        if value not in found.get(algo, set()):
            raise err("ErrorMissingSubjectDigest", f"subject digest {expected} is not in the VSA")
    verifier = predicate.get("verifier")
    verifier_id = verifier.get("id") if isinstance(verifier, dict) else None
    if not verifier_id:
        raise err("ErrorEmptyRequiredField", "the VSA names no verifier")
    if request.verifier_id != verifier_id:
        raise err("ErrorMismatchVerifierID", f"verifier {verifier_id!r}")
    resource = predicate.get("resourceUri")
    if not resource:
        raise err("ErrorEmptyRequiredField", "the VSA names no resource URI")
    if request.resource_uri != resource:
        raise err("ErrorMismatchResourceURI", f"resource URI {resource!r}")
    if predicate.get("verificationResult") != "PASSED":
        raise err("ErrorInvalidVerificationResult", "the verification result is not PASSED")
    levels = predicate.get("verifiedLevels")
    have = [str(v) for v in levels] if isinstance(levels, list) else []
    wanted_tracks, have_tracks = _slsa_levels(request.verified_levels), _slsa_levels(have)
    for track, minimum in wanted_tracks.items():
        if have_tracks.get(track, -1) < minimum:
            raise err("ErrorMismatchVerifiedLevels", f"SLSA {track} level below {minimum}")
    others = {level for level in have if not level.startswith("SLSA_")}
    for level in request.verified_levels:
        if not level.startswith("SLSA_") and level not in others:
            raise err("ErrorMismatchVerifiedLevels", f"verified level {level} is absent")


def _slsa_levels(levels: Sequence[str]) -> dict[str, int]:
    """`SLSA_<TRACK>_LEVEL_<n>` -> the highest n per track."""
    tracks: dict[str, int] = {}
    for level in levels:
        if not level.startswith("SLSA_"):
            continue
        parts = level.split("_", 3)
        if len(parts) != 4 or parts[2] != "LEVEL" or not parts[3].lstrip("-").isdigit():
            raise err("ErrorInvalidSLSALevel", f"invalid SLSA level {level!r}")
        tracks[parts[1]] = max(tracks.get(parts[1], int(parts[3])), int(parts[3]))
    return tracks
