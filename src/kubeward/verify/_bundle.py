"""Parse Sigstore bundles (v0.1 to v0.3) into `Evidence`."""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509

from kubeward.verify._errors import InputError
from kubeward.verify._json import json_int, load_json
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


MAX_TLOG_ENTRIES = 32
"""sigstore-go's `maxAllowedTlogEntries` (pkg/verify/tlog.go), a guard against DoS."""
MAX_TIMESTAMPS = 32
"""sigstore-go's bound on RFC 3161 timestamps, for the same reason."""
_MAX_ITEMS = 32
"""Other repeated fields (chain certificates, DSSE signatures): more is never legitimate."""


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
        return json_int(value, what)
    except InputError as exc:
        raise InputError(f"bundle: {exc.reason}") from exc


def _obj(value: Any, what: str) -> dict[str, Any]:
    """An optional message field: absent (null) is empty, anything but an object is an error."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"bundle: {what} is not an object")
    return _known(value, what) if what in _FIELDS else value


# The fields of each protobuf-specs message a bundle holds (JSON names). Like protojson, which
# sigstore-go parses with, any other field is an error: nothing in a bundle goes unread.
_FIELDS = {
    "bundle": {"mediaType", "verificationMaterial", "messageSignature", "dsseEnvelope"},
    "verificationMaterial": {
        "publicKey",
        "x509CertificateChain",
        "certificate",
        "tlogEntries",
        "timestampVerificationData",
    },
    "tlog entry": {
        "logIndex",
        "logId",
        "kindVersion",
        "integratedTime",
        "inclusionPromise",
        "inclusionProof",
        "canonicalizedBody",
    },
    "inclusionProof": {"logIndex", "rootHash", "treeSize", "hashes", "checkpoint"},
    "inclusionProof.checkpoint": {"envelope"},
    "inclusionPromise": {"signedEntryTimestamp"},
    "tlog entry logId": {"keyId"},
    "tlog entry kindVersion": {"kind", "version"},
    "timestampVerificationData": {"rfc3161Timestamps"},
    "RFC 3161 timestamp": {"signedTimestamp"},
    "messageSignature": {"messageDigest", "signature"},
    "messageDigest": {"algorithm", "digest"},
    "DSSE envelope": {"payload", "payloadType", "signatures"},
    "DSSE signature": {"sig", "keyid"},
    "certificate": {"rawBytes"},
    "x509CertificateChain": {"certificates"},
    "publicKey": {"hint"},
}


def _known(obj: dict[str, Any], what: str) -> dict[str, Any]:
    unknown = sorted(set(obj) - _FIELDS[what])
    if unknown:
        raise InputError(f"bundle: unknown field {unknown[0][:60]!r} in {what}")
    return obj


def _one_of(obj: dict[str, Any], members: tuple[str, ...]) -> None:
    present = [m for m in members if m in obj]
    if len(present) > 1:
        raise InputError(f"bundle: {' and '.join(present)} are exclusive (one of them only)")


def _list(value: Any, what: str, *, limit: int | None = None) -> list[Any]:
    """An optional repeated field: absent (null) is empty, anything but an array an error."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"bundle: {what} is not an array")
    if limit is not None and len(value) > limit:
        raise InputError(f"bundle: too many {what} ({len(value)} > {limit})")
    return value


def _str(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"bundle: {what} is not a string")
    return value


def _cert(der: bytes, what: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise InputError(f"bundle: {what} is not a DER certificate") from exc


def parse_tlog_entry(obj: Any) -> TlogEntry:
    """One `TransparencyLogEntry` of a bundle."""
    if not isinstance(obj, dict):
        raise InputError("bundle: a tlog entry is not an object")
    _known(obj, "tlog entry")
    kind_version = _obj(obj.get("kindVersion"), "tlog entry kindVersion")
    proof_obj = obj.get("inclusionProof")
    proof = None
    if proof_obj is not None:
        proof_obj = _obj(proof_obj, "inclusionProof")
        checkpoint = _obj(proof_obj.get("checkpoint"), "inclusionProof.checkpoint")
        envelope = checkpoint.get("envelope")
        hashes = _list(proof_obj.get("hashes"), "inclusionProof.hashes", limit=64)
        proof = InclusionProof(
            log_index=_int(proof_obj.get("logIndex", 0), "inclusionProof.logIndex"),
            tree_size=_int(proof_obj.get("treeSize"), "inclusionProof.treeSize"),
            root_hash=_b64(proof_obj.get("rootHash"), "inclusionProof.rootHash"),
            hashes=tuple(_b64(h, "inclusionProof.hashes") for h in hashes),
            checkpoint=_str(envelope, "checkpoint envelope") if envelope is not None else None,
        )
    promise = obj.get("inclusionPromise")
    integrated = obj.get("integratedTime")
    return TlogEntry(
        log_index=_int(obj.get("logIndex"), "tlog entry logIndex"),
        log_id=_b64(_obj(obj.get("logId"), "tlog entry logId").get("keyId"), "logId.keyId"),
        kind=_str(kind_version.get("kind"), "kindVersion.kind"),
        version=_str(kind_version.get("version"), "kindVersion.version"),
        body=_b64(obj.get("canonicalizedBody"), "tlog entry canonicalizedBody"),
        integrated_time=None
        if integrated in (None, "0", 0)
        else _int(integrated, "integratedTime"),
        signed_entry_timestamp=_b64(
            _obj(promise, "inclusionPromise").get("signedEntryTimestamp"), "signedEntryTimestamp"
        )
        if promise is not None
        else None,
        inclusion_proof=proof,
    )


def parse_envelope(obj: Any, *, in_bundle: bool = False) -> Envelope:
    """A DSSE envelope in its JSON form. Inside a bundle it is a protobuf message (no unknown
    fields); on its own it follows the DSSE spec, which others extend (`cert` in
    slsa-github-generator's signatures)."""
    if not isinstance(obj, dict):
        raise InputError("DSSE envelope is not an object")
    if in_bundle:
        _known(obj, "DSSE envelope")
    sigs = obj.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise InputError("DSSE envelope has no signatures")
    if len(sigs) > _MAX_ITEMS:
        raise InputError(f"DSSE envelope has too many signatures ({len(sigs)})")
    payload_type = obj.get("payloadType")
    if not isinstance(payload_type, str):
        raise InputError("DSSE envelope has no payloadType")
    return Envelope(
        payload_type=payload_type,
        payload=_b64(obj.get("payload"), "DSSE payload"),
        # keyid is only a hint (cosign writes ""); never used to pick or reject a key.
        signatures=tuple(
            _b64(
                _obj(s, "DSSE signature" if in_bundle else "signature").get("sig"), "DSSE signature"
            )
            for s in sigs
        ),
    )


def _unique_entries(entries: tuple[TlogEntry, ...]) -> tuple[TlogEntry, ...]:
    """sigstore-go refuses a bundle with two entries of the same log and index ("duplicate
    tlog entries found"): duplicates could make one log entry count as several."""
    seen: set[tuple[bytes, int]] = set()
    for entry in entries:
        key = (entry.log_id, entry.log_index)
        if key in seen:
            raise InputError(
                f"bundle: duplicate transparency log entry (log index {entry.log_index})"
            )
        seen.add(key)
    return entries


def parse_bundle(text: str | bytes) -> Evidence:
    """Parse a bundle; raises `InputError` for anything malformed or unknown."""
    doc = load_json(text, "bundle", unique_keys=True)
    if not isinstance(doc, dict):
        raise InputError("bundle is not a JSON object")
    _known(doc, "bundle")
    media_type = doc.get("mediaType")
    if not isinstance(media_type, str) or media_type not in BUNDLE_MEDIA_TYPES:
        shown = repr(media_type)[:100] if isinstance(media_type, str) else "missing"
        raise InputError(f"bundle has unsupported media type {shown}")
    material = doc.get("verificationMaterial")
    if not isinstance(material, dict):
        raise InputError("bundle has no verificationMaterial")
    _known(material, "verificationMaterial")
    # Members of one protobuf oneof: protojson refuses a second one.
    _one_of(material, ("publicKey", "x509CertificateChain", "certificate"))
    _one_of(doc, ("messageSignature", "dsseEnvelope"))
    if "publicKey" in material:
        _obj(material["publicKey"], "publicKey")

    certificate = None
    if "x509CertificateChain" in material:
        if media_type in _V03:
            raise InputError("a v0.3 bundle must carry a single certificate, not a chain")
        chain_obj = _obj(material["x509CertificateChain"], "x509CertificateChain")
        certs = _list(chain_obj.get("certificates"), "chain certificates", limit=_MAX_ITEMS)
        if not certs:
            raise InputError("bundle certificate chain is empty")
        chain = [
            _cert(_b64(_obj(c, "certificate").get("rawBytes"), "certificate"), "certificate")
            for c in certs
        ]
        for extra in chain:
            try:
                constraints = extra.extensions.get_extension_for_class(x509.BasicConstraints)
            except x509.ExtensionNotFound:
                continue
            except ValueError as exc:
                raise InputError(
                    f"bundle: a chain certificate has a malformed extension: {exc}"
                ) from exc
            if constraints.value.ca and extra.issuer == extra.subject:
                raise InputError("bundle certificate chain contains a root certificate")
        certificate = chain[0]
    elif "certificate" in material:
        raw = _obj(material["certificate"], "certificate").get("rawBytes")
        certificate = _cert(_b64(raw, "certificate"), "certificate")
    elif "publicKey" not in material:
        raise InputError("bundle has no certificate and no public key hint")

    raw_entries = _list(material.get("tlogEntries"), "tlog entries", limit=MAX_TLOG_ENTRIES)
    entries = _unique_entries(tuple(parse_tlog_entry(e) for e in raw_entries))
    tsa = _obj(material.get("timestampVerificationData"), "timestampVerificationData")
    timestamps = tuple(
        _b64(_obj(t, "RFC 3161 timestamp").get("signedTimestamp"), "RFC 3161 timestamp")
        for t in _list(tsa.get("rfc3161Timestamps"), "RFC 3161 timestamps", limit=MAX_TIMESTAMPS)
    )

    message_signature = None
    message_digest = None
    envelope = None
    if "messageSignature" in doc:
        ms = _obj(doc["messageSignature"], "messageSignature")
        message_signature = _b64(ms.get("signature"), "messageSignature.signature")
        md = ms.get("messageDigest")
        if md is not None:
            md = _obj(md, "messageDigest")
            algorithm = _str(md.get("algorithm"), "messageDigest.algorithm")
            message_digest = (algorithm, _b64(md.get("digest"), "messageDigest"))
    elif "dsseEnvelope" in doc:
        envelope = parse_envelope(doc["dsseEnvelope"], in_bundle=True)
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
