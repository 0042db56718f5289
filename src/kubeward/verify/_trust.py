"""Sigstore `trusted_root.json`: transparency logs, certificate authorities, CT logs, TSAs."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from kubeward.verify._errors import InputError

_MEDIA_TYPES = frozenset(
    {
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "application/vnd.dev.sigstore.trustedroot.v0.1+json",
        "application/vnd.dev.sigstore.trustedroot.v0.2+json",
    }
)
_PRODUCTION_RESOURCE = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"


@dataclass(frozen=True)
class ValidityPeriod:
    """A closed interval; `end` None means open-ended."""

    start: datetime
    end: datetime | None

    def contains(self, when: datetime) -> bool:
        return self.start <= when and (self.end is None or when <= self.end)


@dataclass(frozen=True)
class LogKey:
    """A transparency log or CT log public key."""

    key_id: bytes
    """The log id: SHA-256 of the DER SubjectPublicKeyInfo unless the root says otherwise."""
    key: PublicKeyTypes
    validity: ValidityPeriod
    base_url: str


@dataclass(frozen=True)
class CertificateAuthority:
    """A Fulcio CA or a timestamp authority: its chain, leaf first, and its validity."""

    chain: tuple[x509.Certificate, ...]
    validity: ValidityPeriod


@dataclass(frozen=True)
class TrustedRoot:
    """The parsed trust material; see the Sigstore `TrustedRoot` protobuf."""

    tlogs: tuple[LogKey, ...]
    ctlogs: tuple[LogKey, ...]
    certificate_authorities: tuple[CertificateAuthority, ...]
    timestamp_authorities: tuple[CertificateAuthority, ...]
    source: str

    def tlog(self, key_id: bytes) -> LogKey | None:
        return next((log for log in self.tlogs if log.key_id == key_id), None)

    def ctlog(self, key_id: bytes) -> LogKey | None:
        return next((log for log in self.ctlogs if log.key_id == key_id), None)


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise InputError(f"trusted root: {what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise InputError(f"trusted root: {what} is not valid base64") from exc


def _time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise InputError(f"trusted root: {what} is missing")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"trusted root: {what} is not an RFC 3339 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise InputError(f"trusted root: {what} has no time zone")
    return parsed


def _validity(obj: Any, what: str) -> ValidityPeriod:
    if not isinstance(obj, dict) or "start" not in obj:
        raise InputError(f"trusted root: {what} has no validFor.start")
    end = obj.get("end")
    return ValidityPeriod(
        start=_time(obj["start"], f"{what} validFor.start"),
        end=None if end is None else _time(end, f"{what} validFor.end"),
    )


def _log_key(obj: Any, what: str) -> LogKey:
    if not isinstance(obj, dict):
        raise InputError(f"trusted root: {what} is not an object")
    public_key = obj.get("publicKey")
    if not isinstance(public_key, dict):
        raise InputError(f"trusted root: {what} has no publicKey")
    der = _b64(public_key.get("rawBytes"), f"{what} publicKey.rawBytes")
    try:
        key = serialization.load_der_public_key(der)
    except ValueError as exc:
        raise InputError(f"trusted root: {what} public key does not parse") from exc
    log_id = obj.get("logId", {})
    key_id = (
        _b64(log_id.get("keyId"), f"{what} logId.keyId")
        if isinstance(log_id, dict) and "keyId" in log_id
        else hashlib.sha256(der).digest()
    )
    return LogKey(
        key_id=key_id,
        key=key,
        validity=_validity(public_key.get("validFor"), what),
        base_url=str(obj.get("baseUrl", "")),
    )


def _authority(obj: Any, what: str) -> CertificateAuthority:
    if not isinstance(obj, dict):
        raise InputError(f"trusted root: {what} is not an object")
    certs = obj.get("certChain", {}).get("certificates", [])
    if not certs:
        raise InputError(f"trusted root: {what} has no certificates")
    chain: list[x509.Certificate] = []
    for index, cert in enumerate(certs):
        der = _b64(cert.get("rawBytes"), f"{what} certificate {index}")
        try:
            chain.append(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            raise InputError(f"trusted root: {what} certificate {index} does not parse") from exc
    return CertificateAuthority(chain=tuple(chain), validity=_validity(obj.get("validFor"), what))


def parse_trusted_root(text: str | bytes, *, source: str) -> TrustedRoot:
    """Parse a `trusted_root.json` document; raises `InputError` with the reason."""
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"trusted root {source} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InputError(f"trusted root {source} is not a JSON object")
    media_type = doc.get("mediaType")
    if media_type not in _MEDIA_TYPES:
        raise InputError(f"trusted root {source} has unsupported media type {media_type!r}")
    try:
        return TrustedRoot(
            tlogs=tuple(_log_key(t, f"tlog {i}") for i, t in enumerate(doc.get("tlogs") or [])),
            ctlogs=tuple(_log_key(t, f"ctlog {i}") for i, t in enumerate(doc.get("ctlogs") or [])),
            certificate_authorities=tuple(
                _authority(c, f"certificate authority {i}")
                for i, c in enumerate(doc.get("certificateAuthorities") or [])
            ),
            timestamp_authorities=tuple(
                _authority(c, f"timestamp authority {i}")
                for i, c in enumerate(doc.get("timestampAuthorities") or [])
            ),
            source=source,
        )
    except (AttributeError, TypeError) as exc:
        raise InputError(f"trusted root {source} is malformed: {exc}") from exc


def load_trusted_root(path: Path | None) -> TrustedRoot:
    """Load `path`, or the production root shipped in the `sigstore` package when None."""
    if path is None:
        res = resources.files("sigstore") / "_store" / _PRODUCTION_RESOURCE / "trusted_root.json"
        return parse_trusted_root(res.read_bytes(), source="sigstore production (offline)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read trusted root {path}: {exc.strerror}") from exc
    return parse_trusted_root(data, source=str(path))


def production_trusted_root_bytes() -> bytes:
    """The raw production `trusted_root.json` shipped with sigstore-python."""
    res = resources.files("sigstore") / "_store" / _PRODUCTION_RESOURCE / "trusted_root.json"
    return res.read_bytes()
