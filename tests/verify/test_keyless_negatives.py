"""Keyless signatures from a Fulcio-like CA, CT log and Rekor log of our own, in a custom
trusted root: one that verifies, and the negatives that must not (certificate expired at the
signing time, SCT from an unknown CT log, SET from an unknown or impostor Rekor key, identity
and issuer mismatch), all through `kubeward verify` against the real registry."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubeward.verify.cli import main
from kubeward.verify.registry import ImageRef, RegistryClient
from tests.verify._registry_fixture import Registry
from tests.verify.test_own_signatures import (
    Log,
    _hashedrekord,
    _push_image,
    _push_signature,
    _simple_signing_payload,
)
from tests.verify.test_registry_verify import attach_bundle, pusher

IDENTITY = "https://github.com/acme/shop/.github/workflows/release.yml@refs/tags/v1.0.0"
ISSUER = "https://token.actions.githubusercontent.com"
_SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_ISSUER_V2_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")


def _der_public(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _utf8string(text: str) -> bytes:
    raw = text.encode()
    return b"\x0c" + _der_length(len(raw)) + raw


class CTLog:
    """A Certificate Transparency log key that signs SCTs (RFC 6962 v1, ECDSA P-256)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.log_id = hashlib.sha256(_der_public(self.key)).digest()

    def sct_extension(self, tbs: bytes, issuer: ec.EllipticCurvePrivateKey) -> bytes:
        """The extnValue of the embedded SCT list: a DER OCTET STRING of the TLS list."""
        millis = int(datetime.now(UTC).timestamp() * 1000)
        issuer_key_hash = hashlib.sha256(_der_public(issuer)).digest()
        signed = (
            struct.pack(">BBQH", 0, 0, millis, 1)
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack(">H", 0)
        )
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            b"\x00"
            + self.log_id
            + struct.pack(">QH", millis, 0)
            + bytes([4, 3])  # sha256, ecdsa
            + struct.pack(">H", len(signature))
            + signature
        )
        sct_list = struct.pack(">HH", len(sct) + 2, len(sct)) + sct
        return b"\x04" + _der_length(len(sct_list)) + sct_list


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kubeward tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


class Fulcio:
    """A root and an intermediate CA issuing short-lived code-signing certificates."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.root_key = ec.generate_private_key(ec.SECP384R1())
        self.key = ec.generate_private_key(ec.SECP384R1())
        ca_usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        self.root = (
            x509.CertificateBuilder()
            .subject_name(_name("kubeward test fulcio root"))
            .issuer_name(_name("kubeward test fulcio root"))
            .public_key(self.root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=30))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(ca_usage, critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.root_key.public_key()), False
            )
            .sign(self.root_key, hashes.SHA384())
        )
        self.intermediate = (
            x509.CertificateBuilder()
            .subject_name(_name("kubeward test fulcio intermediate"))
            .issuer_name(self.root.subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=30))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(ca_usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root_key.public_key()),
                False,
            )
            .sign(self.root_key, hashes.SHA384())
        )

    def issue(
        self,
        key: ec.EllipticCurvePrivateKey,
        ct: CTLog,
        *,
        identity: str = IDENTITY,
        issuer: str = ISSUER,
        not_before: datetime | None = None,
    ) -> x509.Certificate:
        start = not_before or datetime.now(UTC) - timedelta(minutes=5)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.intermediate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(minutes=10))
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity)]), True
            )
            .add_extension(x509.UnrecognizedExtension(_ISSUER_V2_OID, _utf8string(issuer)), False)
        )
        # The SCT signs the certificate without its SCT list: sign that first, then embed.
        precert = builder.sign(self.key, hashes.SHA384())
        sct = ct.sct_extension(precert.tbs_certificate_bytes, self.key)
        cert = builder.add_extension(x509.UnrecognizedExtension(_SCT_OID, sct), False).sign(
            self.key, hashes.SHA384()
        )
        assert cert.tbs_precertificate_bytes == precert.tbs_certificate_bytes
        return cert


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _trusted_root(path: Path, fulcio: Fulcio, ct: CTLog, log: Log) -> Path:
    der = serialization.Encoding.DER
    doc: dict[str, Any] = json.loads(log.trusted_root(path).read_text())
    doc["certificateAuthorities"] = [
        {
            "subject": {"organization": "kubeward tests", "commonName": "fulcio"},
            "uri": "https://fulcio.invalid",
            "certChain": {
                "certificates": [
                    {"rawBytes": _b64(fulcio.intermediate.public_bytes(der))},
                    {"rawBytes": _b64(fulcio.root.public_bytes(der))},
                ]
            },
            "validFor": {"start": "2020-01-01T00:00:00Z"},
        }
    ]
    doc["ctlogs"] = [
        {
            "baseUrl": "https://ctfe.invalid",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": _b64(_der_public(ct.key)),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            },
            "logId": {"keyId": _b64(ct.log_id)},
        }
    ]
    path.write_text(json.dumps(doc))
    return path


def _sign_keyless(
    client: RegistryClient,
    log: Log,
    ref: ImageRef,
    digest: str,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
) -> None:
    """What `cosign sign` pushes for a keyless signature: payload, signature, cert, SET."""
    payload = _simple_signing_payload(ref, digest)
    signature = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    annotations = {
        "dev.cosignproject.cosign/signature": _b64(signature),
        "dev.sigstore.cosign/certificate": pem.decode(),
        "dev.sigstore.cosign/bundle": log.bundle_annotation(_hashedrekord(payload, signature, pem)),
    }
    _push_signature(client, ref, digest, payload, annotations)


def _log_entry(log: Log, body: bytes) -> dict[str, Any]:
    """A bundle's tlog entry: the SET and an inclusion proof in a one-leaf tree, with a
    checkpoint signed by the log (the leaf hash is the root of a tree of size 1)."""
    log.index += 1
    integrated = int(datetime.now(UTC).timestamp()) - 60
    promise = {
        "body": _b64(body),
        "integratedTime": integrated,
        "logID": log.log_id.hex(),
        "logIndex": log.index,
    }
    set_ = log.key.sign(rfc8785.dumps(promise), ec.ECDSA(hashes.SHA256()))
    root = hashlib.sha256(b"\x00" + body).digest()
    note = f"kubeward.test - log\n1\n{_b64(root)}\n"
    note_sig = log.key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
    checkpoint = note + f"\n\u2014 kubeward.test {_b64(log.log_id[:4] + note_sig)}\n"
    return {
        "logIndex": str(log.index),
        "logId": {"keyId": _b64(log.log_id)},
        "kindVersion": {"kind": "dsse", "version": "0.0.1"},
        "integratedTime": str(integrated),
        "inclusionPromise": {"signedEntryTimestamp": _b64(set_)},
        "inclusionProof": {
            "logIndex": "0",
            "rootHash": _b64(root),
            "treeSize": "1",
            "hashes": [],
            "checkpoint": {"envelope": checkpoint},
        },
        "canonicalizedBody": _b64(body),
    }


def _sign_keyless_bundle(
    client: RegistryClient,
    log: Log,
    ref: ImageRef,
    digest: str,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
) -> None:
    """What cosign v3 attaches: a v0.3 bundle, DSSE over a cosign/sign/v1 statement."""
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": ref.repository, "digest": {"sha256": digest.removeprefix("sha256:")}}],
        "predicateType": "https://sigstore.dev/cosign/sign/v1",
        "predicate": {},
    }
    payload = json.dumps(statement).encode()
    payload_type = "application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type.encode(), len(payload), payload)
    signature = key.sign(pae, ec.ECDSA(hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    body = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
            "signatures": [{"signature": _b64(signature), "verifier": _b64(pem)}],
        },
    }
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))},
            "tlogEntries": [_log_entry(log, json.dumps(body).encode())],
        },
        "dsseEnvelope": {
            "payload": _b64(payload),
            "payloadType": payload_type,
            "signatures": [{"sig": _b64(signature), "keyid": ""}],
        },
    }
    attach_bundle(client, ref, digest, json.dumps(bundle).encode())


Signer = Callable[
    [RegistryClient, Log, ImageRef, str, ec.EllipticCurvePrivateKey, x509.Certificate], None
]
FORMATS: dict[str, Signer] = {"legacy-sig": _sign_keyless, "bundle-referrer": _sign_keyless_bundle}


@dataclass(frozen=True)
class World:
    fulcio: Fulcio
    ct: CTLog
    log: Log
    root: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    fulcio, ct, log = Fulcio(), CTLog(), Log()
    path = tmp_path_factory.mktemp("keyless") / "trusted_root.json"
    return World(fulcio, ct, log, _trusted_root(path, fulcio, ct, log))


class ImpostorLog(Log):
    """Claims the trusted log's id but signs with another key."""

    def __init__(self, trusted: Log) -> None:
        super().__init__()
        self.log_id = trusted.log_id


def _case(
    registry: Registry,
    world: World,
    name: str,
    fmt: str = "legacy-sig",
    *,
    ct: CTLog | None = None,
    log: Log | None = None,
    **issue: Any,
) -> str:
    client = pusher(registry)
    ref = ImageRef(registry.host, f"keyless/{fmt}/{name}", "1")
    digest = _push_image(client, ref, f"keyless-{fmt}-{name}")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = world.fulcio.issue(key, ct or world.ct, **issue)
    FORMATS[fmt](client, log or world.log, ref, digest, key, cert)
    return f"{registry.host}/{ref.repository}:1"


def _verify(
    registry: Registry, world: World, image: str, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    rc = main(
        [
            "verify",
            image,
            "--registry-ca",
            str(registry.ca_file),
            "--trusted-root",
            str(world.root),
            "--format",
            "json",
            *(args or ("--certificate-identity", IDENTITY, "--certificate-oidc-issuer", ISSUER)),
        ]
    )
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    result: dict[str, Any] = json.loads(captured.out)["results"][0]
    return rc, result


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_keyless_signature_verifies(
    registry_env: Registry, world: World, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    image = _case(registry_env, world, "good", fmt)
    rc, result = _verify(registry_env, world, image, capsys)
    assert rc == 0, result["reasons"]
    [verified] = result["verified"]
    assert (verified["signer"], verified["issuer"]) == (IDENTITY, ISSUER)
    assert verified["times"][0].startswith("transparency log ")
    where = "referrers tag sha256-" if fmt == "bundle-referrer" else "sha256-"
    assert verified["where"].startswith(where), verified["where"]
    assert verified["where"].endswith(".sig layer 0") == (fmt == "legacy-sig")

    rc, result = _verify(
        registry_env,
        world,
        image,
        capsys,
        "--certificate-identity-regexp",
        r"^https://github\.com/acme/shop/.*@refs/tags/v.*$",
        "--certificate-oidc-issuer-regexp",
        r"https://token\.actions\.githubusercontent\.com",
    )
    assert rc == 0, result["reasons"]


NEGATIVES = {
    "expired": (
        {"not_before": datetime.now(UTC) - timedelta(hours=2)},
        "signing certificate was not valid at the signing time",
    ),
    "unknown-ct-log": ({"ct": CTLog()}, "SCT from unknown CT log"),
    "unknown-rekor-key": ({"log": Log()}, "transparency log the trusted root does not know"),
    "wrong-identity": (
        {"identity": "https://github.com/evil/shop/.github/workflows/release.yml@refs/heads/x"},
        "is not the expected 'https://github.com/acme/shop/",
    ),
    "wrong-issuer": (
        {"issuer": "https://accounts.google.com"},
        "certificate issuer 'https://accounts.google.com' is not the expected",
    ),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("name", sorted(NEGATIVES))
def test_keyless_negatives(
    registry_env: Registry, world: World, name: str, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    options, expected = NEGATIVES[name]
    image = _case(registry_env, world, name, fmt, **options)
    rc, result = _verify(registry_env, world, image, capsys)
    assert rc == 1
    assert result["verdict"] == "fail" and not result["verified"]
    assert any(expected in r for r in result["reasons"]), result["reasons"]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_set_signed_by_an_impostor_of_the_trusted_log(
    registry_env: Registry, world: World, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    image = _case(registry_env, world, "impostor-log", fmt, log=ImpostorLog(world.log))
    rc, result = _verify(registry_env, world, image, capsys)
    assert rc == 1
    assert any("Rekor signed entry timestamp does not verify" in r for r in result["reasons"])


def test_identity_regexp_is_unanchored_as_in_cosign(
    registry_env: Registry, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """cosign matches `--certificate-identity-regexp` with Go's `MatchString`: anywhere in the
    identity, so a prefix matches and only `^...$` pins the whole identity."""
    image = _case(registry_env, world, "regexp")
    rc, result = _verify(
        registry_env,
        world,
        image,
        capsys,
        "--certificate-identity-regexp",
        "github.com/acme/shop/",
        "--certificate-oidc-issuer",
        ISSUER,
    )
    assert rc == 0, result["reasons"]
    rc, result = _verify(
        registry_env,
        world,
        image,
        capsys,
        "--certificate-identity-regexp",
        "^https://github.com/acme/shop/$",
        "--certificate-oidc-issuer",
        ISSUER,
    )
    assert rc == 1
    assert any("does not match /^https://github.com/acme/shop/$/" in r for r in result["reasons"])
