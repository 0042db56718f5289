"""Where cosign keeps evidence in a registry, and how to turn it into `Evidence`.

Legacy tags `sha256-<hex>.sig|.att|.sbom` (layers with cosign's annotations), and Sigstore
bundles attached as OCI 1.1 referrers, with the `sha256-<hex>` index fallback.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from kubeward.verify._bundle import parse_bundle, parse_envelope
from kubeward.verify._errors import InputError
from kubeward.verify._json import json_int, load_json
from kubeward.verify._model import Evidence, TlogEntry
from kubeward.verify.registry import ImageRef, RegistryClient, RegistryError

ANN_SIGNATURE = "dev.cosignproject.cosign/signature"
ANN_CERTIFICATE = "dev.sigstore.cosign/certificate"
ANN_CHAIN = "dev.sigstore.cosign/chain"
ANN_BUNDLE = "dev.sigstore.cosign/bundle"
ANN_RFC3161 = "dev.sigstore.cosign/rfc3161timestamp"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_LAYER = "application/vnd.dsse.envelope.v1+json"
BUNDLE_ARTIFACT_TYPES = frozenset(
    {
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
    }
)
_MAX_LAYERS = 32
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Found:
    """One piece of evidence and where it came from."""

    where: str
    evidence: Evidence | None
    payload: bytes | None = None
    """The signed simple-signing payload (legacy `.sig`)."""
    problem: str | None = None
    """Why this item could not be parsed (reported, never silently dropped)."""


def tag_for(digest: str, suffix: str) -> str:
    return digest.replace(":", "-") + suffix


def legacy_tlog_entry(annotation: str) -> TlogEntry:
    """cosign's `dev.sigstore.cosign/bundle` annotation: a SET over the entry's Payload."""
    try:
        doc = load_json(annotation, f"{ANN_BUNDLE} annotation")
        payload = doc["Payload"]
        body = base64.b64decode(payload["body"], validate=True)
        kind = load_json(body, "the log entry body of the annotation")
        return TlogEntry(
            log_index=json_int(payload["logIndex"], "logIndex"),
            log_id=bytes.fromhex(payload["logID"]),
            kind=str(kind.get("kind", "")),
            version=str(kind.get("apiVersion", "")),
            body=body,
            integrated_time=json_int(payload["integratedTime"], "integratedTime"),
            signed_entry_timestamp=base64.b64decode(doc["SignedEntryTimestamp"], validate=True),
            inclusion_proof=None,
        )
    except InputError as exc:
        raise InputError(f"malformed {ANN_BUNDLE} annotation: {exc.reason}") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"malformed {ANN_BUNDLE} annotation: {exc}") from exc


def _legacy_evidence(
    annotations: dict[str, str], *, signature: bytes | None, envelope: Any
) -> Evidence:
    cert = None
    pem = annotations.get(ANN_CERTIFICATE)
    if pem:
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
        except ValueError as exc:
            raise InputError(f"malformed {ANN_CERTIFICATE} annotation") from exc
    entries: tuple[TlogEntry, ...] = ()
    if annotations.get(ANN_BUNDLE):
        entries = (legacy_tlog_entry(annotations[ANN_BUNDLE]),)
    timestamps: tuple[bytes, ...] = ()
    if annotations.get(ANN_RFC3161):
        try:
            raw = load_json(annotations[ANN_RFC3161], ANN_RFC3161)["SignedRFC3161Timestamp"]
            timestamps = (base64.b64decode(raw, validate=True),)
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"malformed {ANN_RFC3161} annotation") from exc
    return Evidence(
        certificate=cert,
        message_signature=signature,
        envelope=envelope,
        tlog_entries=entries,
        timestamps=timestamps,
        require_inclusion_promise=bool(entries),
        origin="legacy",
    )


def _layers(client: RegistryClient, ref: ImageRef, tag: str) -> tuple[list[dict[str, Any]], str]:
    manifest = client.get_manifest(ref, tag)
    if manifest is None:
        return [], ""
    return _dicts(manifest.json.get("layers"))[:_MAX_LAYERS], manifest.digest


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a manifest's array field (nothing when it is not an array)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _annotations(layer: dict[str, Any]) -> dict[str, str]:
    """A layer's annotations; OCI annotations are strings, anything else is dropped."""
    value = layer.get("annotations")
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _digest_of(descriptor: dict[str, Any], what: str) -> str:
    digest = descriptor.get("digest")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InputError(f"{what} descriptor has no sha256 digest")
    return digest


def legacy_signatures(client: RegistryClient, ref: ImageRef, digest: str) -> list[Found]:
    """Layers of `sha256-<hex>.sig`: simple-signing payloads signed by annotation."""
    found = []
    tag = tag_for(digest, ".sig")
    layers, _ = _layers(client, ref, tag)
    for index, layer in enumerate(layers):
        where = f"{tag} layer {index}"
        annotations = _annotations(layer)
        try:
            payload = client.get_blob(ref, _digest_of(layer, "layer"), limit=1024 * 1024)
            signature = base64.b64decode(annotations.get(ANN_SIGNATURE, ""), validate=True)
            if not signature:
                raise InputError("layer has no signature annotation")
            evidence = _legacy_evidence(annotations, signature=signature, envelope=None)
        except (InputError, RegistryError, ValueError) as exc:
            found.append(Found(where=where, evidence=None, problem=str(exc)))
            continue
        found.append(Found(where=where, evidence=evidence, payload=payload))
    return found


def legacy_attestations(client: RegistryClient, ref: ImageRef, digest: str) -> list[Found]:
    """Layers of `sha256-<hex>.att`: DSSE envelopes, certificate and SET by annotation."""
    found = []
    tag = tag_for(digest, ".att")
    layers, _ = _layers(client, ref, tag)
    for index, layer in enumerate(layers):
        where = f"{tag} layer {index}"
        try:
            blob = client.get_blob(ref, _digest_of(layer, "layer"), limit=16 * 1024 * 1024)
            envelope = parse_envelope(load_json(blob, "DSSE envelope"))
            evidence = _legacy_evidence(_annotations(layer), signature=None, envelope=envelope)
        except (InputError, RegistryError, ValueError) as exc:
            found.append(Found(where=where, evidence=None, problem=str(exc)))
            continue
        found.append(Found(where=where, evidence=evidence))
    return found


@dataclass(frozen=True)
class SbomLayer:
    """One SBOM layer of a `sha256-<hex>.sbom` tag (`cosign attach sbom`)."""

    where: str
    manifest_digest: str
    """The digest of the `.sbom` manifest: what `cosign sign --attachment sbom` signs."""
    media_type: str
    digest: str
    size: int


def legacy_sboms(client: RegistryClient, ref: ImageRef, digest: str) -> list[SbomLayer]:
    """The layers of `sha256-<hex>.sbom`: SBOMs attached unsigned beside the image."""
    tag = tag_for(digest, ".sbom")
    layers, manifest_digest = _layers(client, ref, tag)
    out = []
    for index, layer in enumerate(layers):
        size = layer.get("size")
        out.append(
            SbomLayer(
                where=f"{tag} layer {index}",
                manifest_digest=manifest_digest,
                media_type=str(layer.get("mediaType", "")),
                digest=str(layer.get("digest", "")),
                size=size if isinstance(size, int) else -1,
            )
        )
    return out


def referrer_bundles(client: RegistryClient, ref: ImageRef, digest: str) -> list[Found]:
    """Sigstore bundles attached to `digest` as referrers (API, else the tag fallback)."""
    descriptors = client.referrers(ref, digest)
    source = "referrers API"
    if descriptors is None:
        index = client.get_manifest(ref, tag_for(digest, ""))
        source = f"referrers tag {tag_for(digest, '')}"
        descriptors = _dicts(index.json.get("manifests")) if index is not None else []
    found = []
    for descriptor in descriptors[:_MAX_LAYERS]:
        artifact_type = descriptor.get("artifactType")
        if not isinstance(artifact_type, str) or artifact_type not in BUNDLE_ARTIFACT_TYPES:
            continue
        where = f"{source}: {str(descriptor.get('digest'))[:80]}"
        try:
            manifest = client.get_manifest(ref, _digest_of(descriptor, "referrer"))
            if manifest is None:
                raise RegistryError("referrer manifest is missing")
            doc = manifest.json
            subject = doc.get("subject")
            subject_digest = subject.get("digest") if isinstance(subject, dict) else None
            if subject_digest != digest:
                raise InputError(f"referrer's subject is {str(subject_digest)[:80]}, not {digest}")
            layers = _dicts(doc.get("layers"))
            if not layers:
                raise InputError("referrer has no layer")
            layer_digest = _digest_of(layers[0], "referrer layer")
            blob = client.get_blob(ref, layer_digest, limit=16 * 1024 * 1024)
            evidence = parse_bundle(blob)
        except (InputError, RegistryError, ValueError) as exc:
            found.append(Found(where=where, evidence=None, problem=str(exc)))
            continue
        found.append(Found(where=where, evidence=evidence))
    return found
