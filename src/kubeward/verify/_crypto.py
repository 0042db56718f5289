"""Signature, SCT, Merkle inclusion, checkpoint and SET primitives on top of `cryptography`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass
from datetime import datetime

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from kubeward.verify._errors import InputError, VerificationError


def load_public_key_pem(data: bytes, *, source: str) -> PublicKeyTypes:
    """Load a PEM public key (ECDSA P-256/P-384/P-521, RSA or Ed25519)."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError(f"{source} is not a PEM public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise InputError(f"{source}: unsupported key type {type(key).__name__}")
    return key


def key_fingerprint(key: PublicKeyTypes) -> bytes:
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()


def _ec_hash(key: ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    size = key.curve.key_size
    if size <= 256:
        return hashes.SHA256()
    if size <= 384:
        return hashes.SHA384()
    return hashes.SHA512()


def verify_signature(
    key: PublicKeyTypes, signature: bytes, data: bytes, *, what: str = "signature"
) -> None:
    """Verify `signature` over `data` with the hash conventional for the key type."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(_ec_hash(key)))
        elif isinstance(key, rsa.RSAPublicKey):
            try:
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                key.verify(
                    signature,
                    data,
                    padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO),
                    hashes.SHA256(),
                )
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise VerificationError(f"{what}: unsupported key type {type(key).__name__}")
    except InvalidSignature as exc:
        raise VerificationError(f"{what} does not verify", kind="bad-signature") from exc


def verify_prehashed(
    key: PublicKeyTypes, signature: bytes, digest: bytes, *, what: str = "signature"
) -> None:
    """Verify `signature` over a SHA-256/384/512 `digest` (artifact given by digest only)."""
    algorithm: hashes.HashAlgorithm
    algorithm = {32: hashes.SHA256(), 48: hashes.SHA384(), 64: hashes.SHA512()}[len(digest)]
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(utils.Prehashed(algorithm)))
        elif isinstance(key, rsa.RSAPublicKey):
            try:
                key.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(algorithm))
            except InvalidSignature:
                key.verify(
                    signature,
                    digest,
                    padding.PSS(padding.MGF1(algorithm), padding.PSS.AUTO),
                    utils.Prehashed(algorithm),
                )
        else:
            raise VerificationError(
                f"{what}: a {type(key).__name__} signature cannot be checked against a digest; "
                "pass the artifact itself"
            )
    except InvalidSignature as exc:
        raise VerificationError(f"{what} does not verify", kind="bad-signature") from exc


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


# --- Certificate Transparency -------------------------------------------------------------


def verify_scts(
    cert: x509.Certificate, issuer: x509.Certificate, ctlogs: dict[bytes, PublicKeyTypes]
) -> None:
    """At least one embedded SCT must be signed by a CT log of the trusted root."""
    try:
        ext = cert.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps
        )
    except x509.ExtensionNotFound as exc:
        raise VerificationError("signing certificate has no embedded SCT", kind="bad-sct") from exc
    issuer_key_hash = hashlib.sha256(
        issuer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).digest()
    tbs = cert.tbs_precertificate_bytes
    reasons: list[str] = []
    for sct in ext.value:
        key = ctlogs.get(sct.log_id)
        if key is None:
            reasons.append(f"SCT from unknown CT log {sct.log_id.hex()}")
            continue
        millis = round((sct.timestamp.replace(tzinfo=None) - _EPOCH).total_seconds() * 1000)
        signed = (
            struct.pack(">BBQH", 0, 0, millis, 1)
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack(">H", len(sct.extension_bytes))
            + sct.extension_bytes
        )
        try:
            verify_signature(key, sct.signature, signed, what="SCT")
        except VerificationError as exc:
            reasons.append(exc.reason)
            continue
        return
    raise VerificationError(
        "no valid SCT from a trusted CT log: " + "; ".join(reasons or ["no SCT"]),
        kind="bad-sct",
    )


_EPOCH = datetime(1970, 1, 1)


# --- Transparency log -----------------------------------------------------------------------


def _hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(
    *, leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    """RFC 6962 / 9162 Merkle inclusion proof of `leaf` (the entry body) at `index`."""
    if not 0 <= index < size:
        raise VerificationError(
            f"inclusion proof index {index} outside tree of size {size}", kind="bad-tlog"
        )
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    if len(proof) != inner + border:
        raise VerificationError(
            f"inclusion proof has {len(proof)} hashes, expected {inner + border}",
            kind="bad-tlog",
        )
    node = hashlib.sha256(b"\x00" + leaf).digest()
    for i, sibling in enumerate(proof[:inner]):
        node = (
            _hash_children(node, sibling)
            if (index >> i) & 1 == 0
            else _hash_children(sibling, node)
        )
    for sibling in proof[inner:]:
        node = _hash_children(sibling, node)
    if node != root:
        raise VerificationError("inclusion proof does not lead to its root hash", kind="bad-tlog")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes


_SIG_LINE = re.compile(r"^\u2014 (\S+) (\S+)$")


def verify_checkpoint(envelope: str, key_id: bytes, key: PublicKeyTypes) -> Checkpoint:
    """Verify a signed note checkpoint: one signature line must be the log's, by key hint."""
    if envelope.count("\n\n") != 1:
        raise VerificationError("checkpoint: malformed signed note", kind="bad-tlog")
    note, sigs = envelope.split("\n\n")
    note += "\n"
    lines = note[:-1].split("\n")
    if len(lines) < 3 or not lines[0]:
        raise VerificationError("checkpoint: missing origin, size or root hash", kind="bad-tlog")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise VerificationError("checkpoint: malformed size or root hash", kind="bad-tlog") from exc
    if not sigs:
        raise VerificationError("checkpoint has no signature", kind="bad-tlog")
    if not sigs.endswith("\n"):
        raise VerificationError("checkpoint: signature block must end in newline", kind="bad-tlog")
    found = False
    for line in sigs[:-1].split("\n"):
        match = _SIG_LINE.match(line)
        if match is None:
            raise VerificationError("checkpoint: malformed signature line", kind="bad-tlog")
        try:
            raw = base64.b64decode(match.group(2), validate=True)
        except binascii.Error as exc:
            raise VerificationError("checkpoint: signature is not base64", kind="bad-tlog") from exc
        if len(raw) < 5 or raw[:4] != key_id[:4]:
            continue
        found = True
        try:
            verify_signature(key, raw[4:], note.encode(), what="checkpoint signature")
        except VerificationError:
            continue
        return Checkpoint(origin=lines[0], size=size, root_hash=root)
    raise VerificationError(
        "checkpoint: "
        + ("signature by the log key does not verify" if found else "no signature by the log key"),
        kind="bad-tlog",
    )


def verify_set(
    *,
    signed_entry_timestamp: bytes,
    body: bytes,
    integrated_time: int,
    log_index: int,
    log_id: bytes,
    key: PublicKeyTypes,
) -> None:
    """Rekor v1 inclusion promise: a signature over the canonical JSON of the entry."""
    try:
        payload = rfc8785.dumps(
            {
                "body": base64.b64encode(body).decode(),
                "integratedTime": integrated_time,
                "logID": log_id.hex(),
                "logIndex": log_index,
            }
        )
    except rfc8785.CanonicalizationError as exc:
        # JSON canonicalization (RFC 8785) has no integers beyond 2**53: no SET covers them.
        raise VerificationError(
            "Rekor signed entry timestamp: log index or integrated time beyond 2**53",
            kind="bad-tlog",
        ) from exc
    verify_signature(key, signed_entry_timestamp, payload, what="Rekor signed entry timestamp")
