"""Parse Sigstore bundles (v0.1 to v0.3) into `Evidence`."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography import x509

from kubeward.verify._errors import InputError
from kubeward.verify._model import Envelope, Evidence, InclusionProof, TlogEntry

_V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
_V02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
_V03 = frozenset(
    {
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
    }
)
BUNDLE_MEDIA_TYPES = frozenset({_V01, _V02, *_V03})


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise InputError(f"bundle: {what} is missing")
    try:
        # Like Go's encoding/base64 (protojson), ignore line breaks inside the text.
        return base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
    except ValueError as exc:
        raise InputError(f"bundle: {what} is not valid base64") from exc


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"bundle: {what} is not an integer") from exc


def _cert(der: bytes, what: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise InputError(f"bundle: {what} is not a DER certificate") from exc


def parse_tlog_entry(obj: Any) -> TlogEntry:
    """One `TransparencyLogEntry` of a bundle."""
    if not isinstance(obj, dict):
        raise InputError("bundle: a tlog entry is not an object")
    kind_version = obj.get("kindVersion") or {}
    proof_obj = obj.get("inclusionProof")
    proof = None
    if isinstance(proof_obj, dict):
        checkpoint = proof_obj.get("checkpoint")
        proof = InclusionProof(
            log_index=_int(proof_obj.get("logIndex", 0), "inclusionProof.logIndex"),
            tree_size=_int(proof_obj.get("treeSize"), "inclusionProof.treeSize"),
            root_hash=_b64(proof_obj.get("rootHash"), "inclusionProof.rootHash"),
            hashes=tuple(_b64(h, "inclusionProof.hashes") for h in proof_obj.get("hashes", [])),
            checkpoint=checkpoint.get("envelope") if isinstance(checkpoint, dict) else None,
        )
    promise = obj.get("inclusionPromise")
    integrated = obj.get("integratedTime")
    return TlogEntry(
        log_index=_int(obj.get("logIndex"), "tlog entry logIndex"),
        log_id=_b64((obj.get("logId") or {}).get("keyId"), "tlog entry logId.keyId"),
        kind=str(kind_version.get("kind", "")),
        version=str(kind_version.get("version", "")),
        body=_b64(obj.get("canonicalizedBody"), "tlog entry canonicalizedBody"),
        integrated_time=None
        if integrated in (None, "0", 0)
        else _int(integrated, "integratedTime"),
        signed_entry_timestamp=_b64(promise.get("signedEntryTimestamp"), "signedEntryTimestamp")
        if isinstance(promise, dict)
        else None,
        inclusion_proof=proof,
    )


def parse_envelope(obj: Any) -> Envelope:
    """A DSSE envelope in its JSON form."""
    if not isinstance(obj, dict):
        raise InputError("DSSE envelope is not an object")
    sigs = obj.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise InputError("DSSE envelope has no signatures")
    payload_type = obj.get("payloadType")
    if not isinstance(payload_type, str):
        raise InputError("DSSE envelope has no payloadType")
    return Envelope(
        payload_type=payload_type,
        payload=_b64(obj.get("payload"), "DSSE payload"),
        # keyid is only a hint (cosign writes ""); never used to pick or reject a key.
        signatures=tuple(_b64(s.get("sig"), "DSSE signature") for s in sigs),
    )


def parse_bundle(text: str | bytes) -> Evidence:
    """Parse a bundle; raises `InputError` for anything malformed or unknown."""
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"bundle is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InputError("bundle is not a JSON object")
    media_type = doc.get("mediaType")
    if media_type not in BUNDLE_MEDIA_TYPES:
        raise InputError(f"bundle has unsupported media type {media_type!r}")
    material = doc.get("verificationMaterial")
    if not isinstance(material, dict):
        raise InputError("bundle has no verificationMaterial")

    certificate = None
    if "x509CertificateChain" in material:
        if media_type in _V03:
            raise InputError("a v0.3 bundle must carry a single certificate, not a chain")
        certs = (material["x509CertificateChain"] or {}).get("certificates") or []
        if not certs:
            raise InputError("bundle certificate chain is empty")
        chain = [_cert(_b64(c.get("rawBytes"), "certificate"), "certificate") for c in certs]
        for extra in chain:
            try:
                constraints = extra.extensions.get_extension_for_class(x509.BasicConstraints)
            except x509.ExtensionNotFound:
                continue
            if constraints.value.ca and extra.issuer == extra.subject:
                raise InputError("bundle certificate chain contains a root certificate")
        certificate = chain[0]
    elif "certificate" in material:
        certificate = _cert(
            _b64((material["certificate"] or {}).get("rawBytes"), "certificate"), "certificate"
        )
    elif "publicKey" not in material:
        raise InputError("bundle has no certificate and no public key hint")

    entries = tuple(parse_tlog_entry(e) for e in material.get("tlogEntries") or [])
    tsa = material.get("timestampVerificationData") or {}
    timestamps = tuple(
        _b64(t.get("signedTimestamp"), "RFC 3161 timestamp")
        for t in tsa.get("rfc3161Timestamps") or []
    )

    message_signature = None
    message_digest = None
    envelope = None
    if "messageSignature" in doc:
        ms = doc["messageSignature"] or {}
        message_signature = _b64(ms.get("signature"), "messageSignature.signature")
        md = ms.get("messageDigest")
        if isinstance(md, dict):
            message_digest = (str(md.get("algorithm")), _b64(md.get("digest"), "messageDigest"))
    elif "dsseEnvelope" in doc:
        envelope = parse_envelope(doc["dsseEnvelope"])
    else:
        raise InputError("bundle has neither messageSignature nor dsseEnvelope")

    return Evidence(
        certificate=certificate,
        message_signature=message_signature,
        message_digest=message_digest,
        envelope=envelope,
        tlog_entries=entries,
        timestamps=timestamps,
        require_inclusion_promise=media_type == _V01,
        require_inclusion_proof=media_type != _V01,
    )
