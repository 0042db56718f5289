"""The verification engine: times, certificate path, SCT, transparency log, signature, body.

It follows the steps of the Sigstore client specification and of sigstore-python's
`Verifier`, and also covers what sigstore-python does not: key-based material, Rekor
`intoto` entries, SET-only legacy signatures and closed trust-root validity intervals.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
)
from cryptography.x509.verification import VerificationError as X509Error
from rfc3161_client import VerificationError as TsaError
from rfc3161_client import VerifierBuilder, decode_timestamp_response

from kubeward.policy.identity import InvalidRegexp, regexp_matches
from kubeward.verify import _crypto
from kubeward.verify._bundle import MAX_TLOG_ENTRIES
from kubeward.verify._errors import VerificationError
from kubeward.verify._model import (
    ArtifactRef,
    Evidence,
    IdentityPolicy,
    KeyPolicy,
    SignerPolicy,
    TlogEntry,
    VerifiedSignature,
)
from kubeward.verify._trust import TrustedRoot

_MAX_TIMESTAMPS = 32
_CLOCK_SKEW = timedelta(minutes=5)
_OID_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_OID_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_OID_OTHERNAME_SAN = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7")


def _fail(reason: str, kind: str = "verification-failed") -> VerificationError:
    return VerificationError(reason, kind=kind)


# --- time -----------------------------------------------------------------------------------


def _verify_timestamp(
    der: bytes, message: bytes, root: TrustedRoot, reasons: list[str]
) -> datetime | None:
    try:
        response = decode_timestamp_response(der)
    except ValueError as exc:
        reasons.append(f"RFC 3161 timestamp does not parse: {str(exc)[:120]}")
        return None
    for authority in root.timestamp_authorities:
        chain = authority.chain
        if len(chain) < 2:
            continue
        builder = VerifierBuilder().tsa_certificate(chain[0]).add_root_certificate(chain[-1])
        for cert in chain[1:-1]:
            builder = builder.add_intermediate_certificate(cert)
        try:
            builder.build().verify_message(response, message)
        except TsaError as exc:
            reasons.append(f"timestamp not verified by a trusted TSA: {exc}")
            continue
        gen_time = response.tst_info.gen_time
        if gen_time.tzinfo is None:
            gen_time = gen_time.replace(tzinfo=UTC)
        if authority.validity.contains(gen_time):
            return gen_time
        reasons.append(f"timestamp {gen_time:%Y-%m-%dT%H:%M:%SZ} outside the TSA's validity")
    return None


def _timestamp_times(
    ev: Evidence, root: TrustedRoot, reasons: list[str]
) -> list[tuple[str, datetime]]:
    if not ev.timestamps:
        return []
    if len(ev.timestamps) > _MAX_TIMESTAMPS:
        raise _fail(f"too many RFC 3161 timestamps ({len(ev.timestamps)} > 32)", "bad-timestamp")
    if len(set(ev.timestamps)) != len(ev.timestamps):
        raise _fail("duplicate RFC 3161 timestamp", "bad-timestamp")
    if not root.timestamp_authorities:
        raise _fail(
            "the bundle carries an RFC 3161 timestamp but the trusted root has no timestamp "
            "authority",
            "bad-timestamp",
        )
    times = []
    for der in ev.timestamps:
        when = _verify_timestamp(der, ev.signature, root, reasons)
        if when is not None:
            times.append(("timestamp authority", when))
    return times


# --- transparency log -----------------------------------------------------------------------


def _verify_tlog_entry(
    entry: TlogEntry, ev: Evidence, root: TrustedRoot, now: datetime
) -> datetime | None:
    """Verify the entry's promise and proof; return its integrated time when promised."""
    log = root.tlog(entry.log_id)
    if log is None:
        raise _fail(
            f"log entry {entry.log_index} is from a transparency log the trusted root does not "
            f"know (log id {entry.log_id.hex()})",
            "bad-tlog",
        )
    if entry.log_index < 0:
        raise _fail(f"log entry has a negative index {entry.log_index}", "bad-tlog")
    if ev.require_inclusion_promise and entry.signed_entry_timestamp is None:
        raise _fail("log entry has no inclusion promise (signed entry timestamp)", "bad-tlog")
    if ev.require_inclusion_proof and entry.inclusion_proof is None:
        raise _fail("log entry has no inclusion proof", "bad-tlog")
    if entry.signed_entry_timestamp is None and entry.inclusion_proof is None:
        raise _fail("log entry has neither an inclusion proof nor a promise", "bad-tlog")
    promised: datetime | None = None
    if entry.signed_entry_timestamp is not None:
        if entry.integrated_time is None:
            raise _fail("log entry has an inclusion promise but no integrated time", "bad-tlog")
        _crypto.verify_set(
            signed_entry_timestamp=entry.signed_entry_timestamp,
            body=entry.body,
            integrated_time=entry.integrated_time,
            log_index=entry.log_index,
            log_id=entry.log_id,
            key=log.key,
        )
        try:
            promised = datetime.fromtimestamp(entry.integrated_time, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise _fail(
                f"log entry integrated time {entry.integrated_time} is out of range", "bad-tlog"
            ) from exc
        if promised > now + _CLOCK_SKEW:
            raise _fail(f"log entry integrated time {promised:%Y-%m-%dT%H:%M:%SZ} is in the future")
    proof = entry.inclusion_proof
    if proof is not None:
        if proof.checkpoint is None:
            raise _fail("inclusion proof has no checkpoint", "bad-tlog")
        checkpoint = _crypto.verify_checkpoint(proof.checkpoint, log.key_id, log.key)
        if checkpoint.root_hash != proof.root_hash:
            raise _fail("checkpoint root hash differs from the inclusion proof's", "bad-tlog")
        if checkpoint.size != proof.tree_size:
            raise _fail("checkpoint tree size differs from the inclusion proof's", "bad-tlog")
        _crypto.verify_inclusion(
            leaf=entry.body,
            index=proof.log_index,
            size=proof.tree_size,
            proof=list(proof.hashes),
            root=proof.root_hash,
        )
    return promised


def _check_log_key_validity(entry: TlogEntry, root: TrustedRoot, times: Iterable[datetime]) -> None:
    log = root.tlog(entry.log_id)
    assert log is not None
    for when in times:
        if not log.validity.contains(when):
            raise _fail(
                f"transparency log key was not valid at {when:%Y-%m-%dT%H:%M:%SZ}", "bad-tlog"
            )


# --- certificate ----------------------------------------------------------------------------


def _verify_chain(
    cert: x509.Certificate, root: TrustedRoot, when: datetime
) -> list[x509.Certificate]:
    anchors = [
        c
        for authority in root.certificate_authorities
        if authority.validity.contains(when)
        for c in authority.chain
    ]
    if not anchors:
        raise _fail(f"no certificate authority in the trusted root is valid at {when}", "bad-chain")
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store(anchors))
        .time(when)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(cert, []).chain)
    except (X509Error, x509.UnsupportedGeneralNameType, ValueError) as exc:
        raise _fail(
            f"signing certificate does not chain to a trusted Fulcio CA at "
            f"{when:%Y-%m-%dT%H:%M:%SZ}: {exc}",
            "bad-chain",
        ) from exc


def certificate_identity(cert: x509.Certificate) -> str | None:
    """The SAN a Fulcio certificate was issued for (URI, e-mail or Fulcio other-name)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for kind in (x509.UniformResourceIdentifier, x509.RFC822Name):
        values = san.get_values_for_type(kind)
        if values:
            return str(values[0])
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id == _OID_OTHERNAME_SAN:
            return _der_utf8(other.value)
    return None


def _der_utf8(value: bytes) -> str:
    # A DER UTF8String: tag 0x0c, a length, then the text.
    if len(value) >= 2 and value[0] == 0x0C:
        length = value[1]
        offset = 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(value[2 : 2 + count], "big")
            offset = 2 + count
        return value[offset : offset + length].decode("utf-8", "replace")
    return value.decode("utf-8", "replace")


def certificate_extension(cert: x509.Certificate, oid: str) -> str | None:
    """A Fulcio extension value as text (DER UTF8String for the v2 OIDs, raw for the v1)."""
    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid))
    except x509.ExtensionNotFound:
        return None
    assert isinstance(ext.value, x509.UnrecognizedExtension)
    raw = ext.value.value
    if oid.startswith("1.3.6.1.4.1.57264.1.") and int(oid.rsplit(".", 1)[1]) >= 8:
        return _der_utf8(raw)
    return raw.decode("utf-8", "replace")


def certificate_issuer(cert: x509.Certificate) -> str | None:
    return certificate_extension(cert, _OID_ISSUER_V2.dotted_string) or certificate_extension(
        cert, _OID_ISSUER_V1.dotted_string
    )


def _pair_mismatch(identity: str, issuer: str, pair: IdentityPolicy) -> str | None:
    """Why a certificate's (identity, issuer) is not this pair (None: it is)."""
    if pair.identity is None and pair.identity_regexp is None:
        return "no certificate identity to check was given"
    if pair.issuer is None and pair.issuer_regexp is None:
        return "no OIDC issuer to check was given"
    if pair.identity is not None and identity != pair.identity:
        return f"certificate identity {identity!r} is not the expected {pair.identity!r}"
    if pair.identity_regexp is not None and not regexp_matches(pair.identity_regexp, identity):
        return f"certificate identity {identity!r} does not match /{pair.identity_regexp}/"
    if pair.issuer is not None and issuer != pair.issuer:
        return f"certificate issuer {issuer!r} is not the expected {pair.issuer!r}"
    if pair.issuer_regexp is not None and not regexp_matches(pair.issuer_regexp, issuer):
        return f"certificate issuer {issuer!r} does not match /{pair.issuer_regexp}/"
    return None


def _check_identity(cert: x509.Certificate, policy: IdentityPolicy) -> tuple[str, str]:
    """The certificate's (identity, issuer) must be one of the policy's pairs, as a pair."""
    identity = certificate_identity(cert)
    issuer = certificate_issuer(cert)
    if identity is None:
        raise _fail("signing certificate has no subject alternative name", "identity-mismatch")
    if issuer is None:
        raise _fail("signing certificate has no OIDC issuer extension", "identity-mismatch")
    try:
        why = [_pair_mismatch(identity, issuer, pair) for pair in policy.pairs]
    except InvalidRegexp as exc:
        raise _fail(str(exc), "no-policy") from exc
    if all(w is not None for w in why):
        if len(why) == 1:
            raise _fail(str(why[0]), "identity-mismatch")
        raise _fail(
            f"certificate identity {identity!r} from issuer {issuer!r} is none of the "
            f"{len(why)} accepted identities: " + "; ".join(str(w) for w in why),
            "identity-mismatch",
        )
    for oid, expected in policy.extensions:
        actual = certificate_extension(cert, oid)
        if actual != expected:
            raise _fail(
                f"certificate extension {oid} is {actual!r}, expected {expected!r}",
                "identity-mismatch",
            )
    return identity, issuer


def _check_profile(cert: x509.Certificate) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        extended = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise _fail("signing certificate lacks KeyUsage or ExtendedKeyUsage", "bad-chain") from exc
    if not usage.digital_signature:
        raise _fail("signing certificate key usage is not digitalSignature", "bad-chain")
    if ExtendedKeyUsageOID.CODE_SIGNING not in extended:
        raise _fail("signing certificate extended key usage is not codeSigning", "bad-chain")


# --- entry body consistency -----------------------------------------------------------------


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise _fail("log entry body field is missing", "tlog-mismatch")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise _fail("log entry body field is not base64", "tlog-mismatch") from exc


def _verifier_matches(material: bytes, ev: Evidence, key: PublicKeyTypes, *, pem: bool) -> bool:
    """Does a verifier recorded in the log (PEM or DER, cert or key) equal the signer?"""
    try:
        if ev.certificate is not None:
            cert = (
                x509.load_pem_x509_certificate(material)
                if pem
                else x509.load_der_x509_certificate(material)
            )
            return cert == ev.certificate
        logged = (
            serialization.load_pem_public_key(material)
            if pem
            else serialization.load_der_public_key(material)
        )
    except ValueError:
        return False
    return _crypto.key_fingerprint(logged) == _crypto.key_fingerprint(key)


def _v2_verifier(verifier: Any, ev: Evidence, key: PublicKeyTypes) -> bool:
    if not isinstance(verifier, dict):
        return False
    if "x509Certificate" in verifier:
        return _verifier_matches(
            _b64(verifier["x509Certificate"].get("rawBytes")), ev, key, pem=False
        )
    if "publicKey" in verifier:
        return _verifier_matches(_b64(verifier["publicKey"].get("rawBytes")), ev, key, pem=False)
    return False


def _check_body(
    entry: TlogEntry, ev: Evidence, key: PublicKeyTypes, artifact: ArtifactRef | None
) -> None:
    try:
        body = json.loads(entry.body)
        spec = body["spec"]
        kind, version = body["kind"], body["apiVersion"]
    except (ValueError, KeyError, TypeError) as exc:
        raise _fail("log entry body is not a Rekor entry", "tlog-mismatch") from exc
    if (kind, version) != (entry.kind, entry.version):
        raise _fail(
            f"log entry says {entry.kind}/{entry.version} but its body is {kind}/{version}",
            "tlog-mismatch",
        )
    mismatch = _fail("log entry is inconsistent with the signature material", "tlog-mismatch")
    try:
        _check_body_spec(kind, version, spec, ev, key, artifact, mismatch)
    except (KeyError, TypeError, AttributeError) as exc:
        raise _fail(
            f"log entry body {kind}/{version} is malformed: {exc}", "tlog-mismatch"
        ) from exc


def _check_body_spec(
    kind: str,
    version: str,
    spec: Any,
    ev: Evidence,
    key: PublicKeyTypes,
    artifact: ArtifactRef | None,
    mismatch: VerificationError,
) -> None:
    envelope = ev.envelope
    if kind == "hashedrekord" and version == "0.0.1":
        if envelope is not None or artifact is None:
            raise mismatch
        data_hash = spec["data"]["hash"]
        if data_hash["algorithm"] != "sha256" or data_hash["value"] != artifact.sha256.hex():
            raise _fail("log entry records a different artifact digest", "tlog-mismatch")
        signature = spec["signature"]
        if _b64(signature["content"]) != ev.message_signature:
            raise _fail("log entry records a different signature", "tlog-mismatch")
        if not _verifier_matches(_b64(signature["publicKey"]["content"]), ev, key, pem=True):
            raise _fail("log entry records a different signer", "tlog-mismatch")
        return
    if kind == "hashedrekord" and version == "0.0.2":
        inner = spec["hashedRekordV002"]
        if envelope is not None:
            if len(envelope.signatures) != 1:
                raise mismatch
            digest = hashlib.sha256(_crypto.pae(envelope.payload_type, envelope.payload)).digest()
        elif artifact is not None:
            digest = artifact.sha256
        else:
            raise mismatch
        if inner["data"]["algorithm"] != "SHA2_256" or _b64(inner["data"]["digest"]) != digest:
            raise _fail("log entry records a different digest", "tlog-mismatch")
        if _b64(inner["signature"]["content"]) != ev.signature:
            raise _fail("log entry records a different signature", "tlog-mismatch")
        if not _v2_verifier(inner["signature"]["verifier"], ev, key):
            raise _fail("log entry records a different signer", "tlog-mismatch")
        return
    if envelope is None:
        raise _fail(f"log entry kind {kind} needs a DSSE envelope", "tlog-mismatch")
    payload_sha = hashlib.sha256(envelope.payload).digest()
    if kind == "dsse" and version == "0.0.1":
        payload_hash = spec["payloadHash"]
        if payload_hash["algorithm"] != "sha256" or payload_hash["value"] != payload_sha.hex():
            raise _fail("log entry records a different DSSE payload", "tlog-mismatch")
        logged = spec["signatures"]
        if len(logged) != len(envelope.signatures):
            raise mismatch
        for record, sig in zip(logged, envelope.signatures, strict=True):
            if _b64(record["signature"]) != sig:
                raise _fail("log entry records a different DSSE signature", "tlog-mismatch")
            if not _verifier_matches(_b64(record["verifier"]), ev, key, pem=True):
                raise _fail("log entry records a different signer", "tlog-mismatch")
        return
    if kind == "dsse" and version == "0.0.2":
        inner = spec["dsseV002"]
        if (
            inner["payloadHash"]["algorithm"] != "SHA2_256"
            or _b64(inner["payloadHash"]["digest"]) != payload_sha
        ):
            raise _fail("log entry records a different DSSE payload", "tlog-mismatch")
        logged = inner["signatures"]
        if len(logged) != len(envelope.signatures):
            raise mismatch
        for record, sig in zip(logged, envelope.signatures, strict=True):
            if _b64(record["content"]) != sig or not _v2_verifier(record["verifier"], ev, key):
                raise _fail("log entry records a different DSSE signature", "tlog-mismatch")
        return
    if kind == "intoto" and version in ("0.0.1", "0.0.2"):
        content = spec["content"]
        payload_hash = content["payloadHash"]
        if payload_hash["algorithm"] != "sha256" or payload_hash["value"] != payload_sha.hex():
            raise _fail("log entry records a different in-toto payload", "tlog-mismatch")
        if version == "0.0.1":
            if not _verifier_matches(_b64(spec["publicKey"]), ev, key, pem=True):
                raise _fail("log entry records a different signer", "tlog-mismatch")
            return
        logged_env = content["envelope"]
        if logged_env.get("payloadType", envelope.payload_type) != envelope.payload_type:
            raise _fail("log entry records a different payload type", "tlog-mismatch")
        logged = logged_env["signatures"]
        if len(logged) != len(envelope.signatures):
            raise mismatch
        for record, sig in zip(logged, envelope.signatures, strict=True):
            # intoto/0.0.2 double-encodes: base64 of the base64 text of the signature.
            try:
                logged_sig = base64.b64decode(_b64(record["sig"]), validate=True)
            except ValueError:
                logged_sig = b""
            if logged_sig != sig:
                raise _fail("log entry records a different DSSE signature", "tlog-mismatch")
            if not _verifier_matches(_b64(record["publicKey"]), ev, key, pem=True):
                raise _fail("log entry records a different signer", "tlog-mismatch")
        return
    raise _fail(f"unsupported log entry type {kind}/{version}", "tlog-mismatch")


# --- signature ------------------------------------------------------------------------------


def _verify_signature_material(
    ev: Evidence, key: PublicKeyTypes, artifact: ArtifactRef | None
) -> None:
    if ev.envelope is not None:
        if len(ev.envelope.signatures) != 1:
            raise _fail("DSSE envelope must carry exactly one signature", "bad-signature")
        _crypto.verify_signature(
            key,
            ev.envelope.signatures[0],
            _crypto.pae(ev.envelope.payload_type, ev.envelope.payload),
            what="DSSE signature",
        )
        return
    if ev.message_signature is None:
        raise _fail("bundle has neither a message signature nor a DSSE envelope", "bad-signature")
    if artifact is None:
        raise _fail("no artifact given to check the signature against", "bad-signature")
    if ev.message_digest is not None:
        algorithm, digest = ev.message_digest
        if algorithm == "SHA2_256" and digest != artifact.sha256:
            raise _fail("the bundle's message digest is not the artifact's", "digest-mismatch")
    if artifact.data is not None:
        _crypto.verify_signature(key, ev.message_signature, artifact.data, what="signature")
    else:
        _crypto.verify_prehashed(key, ev.message_signature, artifact.sha256, what="signature")


def _signing_key(ev: Evidence, policy: KeyPolicy, artifact: ArtifactRef | None) -> PublicKeyTypes:
    if not policy.keys:
        raise _fail("no public key given (empty key policy fails closed)", "no-policy")
    errors: list[str] = []
    for key in policy.keys:
        try:
            _verify_signature_material(ev, key, artifact)
        except VerificationError as exc:
            errors.append(exc.reason)
            continue
        return key
    raise _fail(
        f"signature was not made by {policy.describe()}: {'; '.join(errors)}", "bad-signature"
    )


# --- entry point ----------------------------------------------------------------------------


def verify_evidence(
    ev: Evidence,
    *,
    root: TrustedRoot,
    policy: SignerPolicy,
    artifact: ArtifactRef | None,
    now: datetime | None = None,
) -> VerifiedSignature:
    """Verify `ev` fully; raise `VerificationError` with the first reason it fails."""
    now = now or datetime.now(UTC)
    if not ev.tlog_entries:
        raise _fail("no transparency log entry: the signature was never logged", "bad-tlog")
    # As sigstore-go's VerifyTlogEntry: a bound against DoS, and no entry counted twice.
    if len(ev.tlog_entries) > MAX_TLOG_ENTRIES:
        raise _fail(
            f"too many transparency log entries ({len(ev.tlog_entries)} > {MAX_TLOG_ENTRIES})",
            "bad-tlog",
        )
    if len({(e.log_id, e.log_index) for e in ev.tlog_entries}) != len(ev.tlog_entries):
        raise _fail("duplicate transparency log entries", "bad-tlog")
    reasons: list[str] = []
    times = _timestamp_times(ev, root, reasons)
    for entry in ev.tlog_entries:
        promised = _verify_tlog_entry(entry, ev, root, now)
        if promised is not None:
            times.append(("transparency log", promised))
    if not times:
        raise _fail(
            "no verified signing time: needs a Rekor inclusion promise or a trusted RFC 3161 "
            "timestamp" + "".join(f"; {r}" for r in reasons),
            "no-verified-time",
        )
    instants = [when for _, when in times]
    for entry in ev.tlog_entries:
        _check_log_key_validity(entry, root, instants)

    signer: str
    issuer: str | None = None
    if ev.certificate is not None:
        if not isinstance(policy, IdentityPolicy):
            raise _fail(
                "signature carries a certificate; verify it with an identity and issuer, not a key",
                "identity-mismatch",
            )
        cert = ev.certificate
        for when in instants:
            if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
                raise _fail(
                    f"signing certificate was not valid at the signing time "
                    f"{when:%Y-%m-%dT%H:%M:%SZ} (valid {cert.not_valid_before_utc:%H:%M:%S}"
                    f"-{cert.not_valid_after_utc:%H:%M:%S} on "
                    f"{cert.not_valid_before_utc:%Y-%m-%d})",
                    "expired-certificate",
                )
        chain: list[x509.Certificate] = []
        for when in instants:
            chain = _verify_chain(cert, root, when)
        if len(chain) < 2:
            raise _fail("signing certificate chain is too short", "bad-chain")
        _crypto.verify_scts(cert, chain[1], {log.key_id: log.key for log in root.ctlogs})
        _check_profile(cert)
        signer, issuer = _check_identity(cert, policy)
        key: PublicKeyTypes = cert.public_key()
        _verify_signature_material(ev, key, artifact)
    else:
        if not isinstance(policy, KeyPolicy):
            raise _fail(
                "signature was made with a key, not a certificate; verify it with --key",
                "no-policy",
            )
        key = _signing_key(ev, policy, artifact)
        signer = policy.name
    for entry in ev.tlog_entries:
        _check_body(entry, ev, key, artifact)
    return VerifiedSignature(
        signer=signer,
        issuer=issuer,
        times=tuple(f"{src} {when:%Y-%m-%dT%H:%M:%SZ}" for src, when in times),
        payload_type=ev.envelope.payload_type if ev.envelope else None,
        payload=ev.envelope.payload if ev.envelope else None,
    )
