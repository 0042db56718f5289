"""Google Cloud Build image provenance, with slsa-verifier's semantics.

A port of slsa-framework/slsa-verifier @ aaf98fd `verifiers/internal/gcb/` (provenance.go,
verifier.go, slsaprovenance/v0.1 and v1.0): the file is what `gcloud artifacts docker images
describe --show-provenance --format=json` prints. One of its provenance entries must carry a
DSSE envelope signed by a Cloud Build key (regional `builtByGCB` keys sign the SHA-256 of the
payload; the global keys sign the DSSE PAE); then builder, subject, source, metadata, image
summary, the unsigned text copy of the statement, and tag are checked. The public keys are the
ones slsa-verifier ships (`src/kubeward/data/gcb_keys.json`, source cited there).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.verify._errors import VerificationError
from kubeward.verify._slsa_builders import BuilderID, err, loads_json, verify_versioned_tag

GCB_BUILDER = "https://cloudbuild.googleapis.com/GoogleHostedWorker"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_V01 = "https://slsa.dev/provenance/v0.1"
PREDICATE_V1 = "https://slsa.dev/provenance/v1"
# slsaprovenance/v0.1/provenance.go and v1.0/provenance.go
BUILDER_IDS_V01 = (GCB_BUILDER + "@v0.2", GCB_BUILDER + "@v0.3")
BUILDER_IDS_V1 = (GCB_BUILDER,)
BUILD_TYPE_V1 = "https://cloud.google.com/build/gcb-buildtypes/google-worker/v1"
_V03_RECIPES = (
    "https://cloudbuild.googleapis.com/CloudBuildYaml@",
    "https://cloudbuild.googleapis.com/CloudBuildSteps@",
)
# keys/keys.go
V1_GLOBAL_PAE_KEY_ID = (
    "projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/"
    "google-hosted-worker/cryptoKeyVersions/1"
)
V01_GLOBAL_PAE_KEY_ID = (
    "projects/verified-builder/locations/global/keyRings/attestor/cryptoKeys/"
    "provenanceSigner/cryptoKeyVersions/1"
)
_GLOBAL_KEY_NAMES = {
    V1_GLOBAL_PAE_KEY_ID: "global-pae-google-hosted-worker_1",
    V01_GLOBAL_PAE_KEY_ID: "global-pae-provenanceSigner_1",
}
_REGIONAL_KEY_ID = re.compile(
    r"^projects/verified-builder/locations/(.*)/keyRings/attestor/cryptoKeys/builtByGCB/"
    r"cryptoKeyVersions/1$"
)


@cache
def _keys() -> dict[str, str]:
    text = resources.files("kubeward").joinpath("data", "gcb_keys.json").read_text("utf-8")
    keys: dict[str, str] = json.loads(text)["keys"]
    return keys


def _public_key(name: str) -> ec.EllipticCurvePublicKey:
    pem = _keys().get(name)
    if pem is None:
        raise err("ErrorInvalidSignature", f"no Cloud Build key named {name!r}")
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def _pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def _decode_signature(text: str) -> bytes:
    """utils.DecodeSignature: standard, then URL-safe base64."""
    for altchars in (None, b"-_"):
        try:
            return base64.b64decode(text, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
    raise err("ErrorInvalidEncoding", "signature is not base64")


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


@dataclass(frozen=True)
class GcbResult:
    builder_id: str
    statement: dict[str, Any]


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise err("ErrorInvalidDssePayload", f"GCB provenance: {what} is not an object")
    return value


def _verified_statement(entry: dict[str, Any]) -> dict[str, Any]:
    """verifySignatures: the statement of the first signature a Cloud Build key verifies."""
    envelope = _mapping(entry.get("envelope"), "envelope")
    if envelope.get("payloadType") != INTOTO_PAYLOAD_TYPE:
        raise err("ErrorInvalidDssePayload", "envelope payload type is not in-toto")
    try:
        payload = _b64(str(envelope.get("payload") or ""))
    except (binascii.Error, ValueError) as exc:
        raise err("ErrorInvalidDssePayload", "envelope payload is not base64") from exc
    if not payload:
        raise err("ErrorInvalidFormat", "envelope payload is empty")
    signatures = envelope.get("signatures") or []
    if not isinstance(signatures, list) or not signatures:
        raise err("ErrorNoValidSignature", "envelope has no signatures")
    problems: list[str] = []
    for sig in signatures:
        if not isinstance(sig, dict):
            continue
        key_id = str(sig.get("keyid") or "")
        try:
            raw = _decode_signature(str(sig.get("sig") or ""))
            if key_id in _GLOBAL_KEY_NAMES:
                name = _GLOBAL_KEY_NAMES[key_id]
                message = _pae(INTOTO_PAYLOAD_TYPE, payload)
            elif (match := _REGIONAL_KEY_ID.match(key_id)) is not None:
                name = match.group(1)
                message = payload
            else:
                continue  # not a Cloud Build key: upstream skips it
            try:
                _public_key(name).verify(raw, message, ec.ECDSA(hashes.SHA256()))
            except InvalidSignature as exc:
                raise err(
                    "ErrorInvalidSignature", f"signature does not verify with {name}"
                ) from exc
        except VerificationError as exc:
            problems.append(exc.reason)
            continue
        try:
            statement = _mapping(
                loads_json(payload, what="payload", kind="ErrorInvalidDssePayload"), "statement"
            )
        except VerificationError as exc:
            problems.append(exc.reason)
            continue
        want = PREDICATE_V1 if key_id == V1_GLOBAL_PAE_KEY_ID else PREDICATE_V01
        if (
            statement.get("_type")
            not in (
                "https://in-toto.io/Statement/v0.1",
                "https://in-toto.io/Statement/v1",
            )
            or statement.get("predicateType") != want
        ):
            problems.append(f"statement is not an in-toto statement of {want}")
            continue
        return statement
    raise err("ErrorNoValidSignature", "; ".join(problems) or "no Cloud Build signature")


def _subjects(statement: dict[str, Any]) -> list[dict[str, Any]]:
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise err("ErrorInvalidDssePayload", "statement has no subjects")
    return [_mapping(s, "subject") for s in subjects]


class _Statement:
    """The verified statement, read as slsaprovenance/v0.1 or v1.0 reads it."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.v1 = doc.get("predicateType") == PREDICATE_V1
        self.pred = _mapping(doc.get("predicate"), "predicate")

    def builder_id(self) -> str:
        if self.v1:
            details = _mapping(self.pred.get("runDetails") or {}, "runDetails")
            return str(_mapping(details.get("builder") or {}, "builder").get("id") or "")
        return str(_mapping(self.pred.get("builder") or {}, "builder").get("id") or "")

    def build_type(self) -> str:
        if self.v1:
            definition = _mapping(self.pred.get("buildDefinition") or {}, "buildDefinition")
            return str(definition.get("buildType") or "")
        return str(_mapping(self.pred.get("recipe") or {}, "recipe").get("type") or "")

    def _config_source(self, key: str) -> str:
        definition = _mapping(self.pred.get("buildDefinition") or {}, "buildDefinition")
        external = _mapping(definition.get("externalParameters"), "externalParameters")
        if "buildConfigSource" not in external:
            raise err("ErrorNotPresent", "externalParameters has no buildConfigSource")
        value = _mapping(external["buildConfigSource"], "buildConfigSource").get(key)
        if not isinstance(value, str):
            raise err("ErrorInvalidDssePayload", f"buildConfigSource has no {key}")
        return value

    def source_uri(self) -> str:
        if self.v1:
            return f"{self._config_source('repository')}@{self._config_source('ref')}"
        materials = self.pred.get("materials") or []
        if not isinstance(materials, list) or not materials:
            raise err("ErrorInvalidDssePayload", "provenance has no materials")
        uri = _mapping(materials[0], "material").get("uri")
        if not isinstance(uri, str) or not uri:
            raise err("ErrorMalformedURI", "first material has no URI")
        return uri

    def tag(self) -> str:
        if self.v1:
            definition = _mapping(self.pred.get("buildDefinition") or {}, "buildDefinition")
            internal = definition.get("internalParameters")
            subs = internal.get("systemSubstitutions") if isinstance(internal, dict) else None
            name = subs.get("TAG_NAME") if isinstance(subs, dict) else None
            if not isinstance(name, str):
                raise err("ErrorSubstitution", "no TAG_NAME substitution")
            if "refs/tags/" + name != self._config_source("ref"):
                raise err("ErrorInvalidDssePayload", "TAG_NAME and the config source ref differ")
            return name
        recipe = _mapping(self.pred.get("recipe") or {}, "recipe")
        arguments = recipe.get("arguments")
        subs = arguments.get("substitutions") if isinstance(arguments, dict) else None
        name = subs.get("TAG_NAME") if isinstance(subs, dict) else None
        if not isinstance(name, str):
            raise err("ErrorSubstitution", "no TAG_NAME substitution")
        return name


def _header(doc: dict[str, Any]) -> Any:
    subjects = doc.get("subject")
    return (
        doc.get("_type", ""),
        doc.get("predicateType", ""),
        [
            (s.get("name", ""), s.get("digest") or {}) if isinstance(s, dict) else s
            for s in (subjects if isinstance(subjects, list) else [])
        ],
    )


def _v01_fields(pred: Any) -> Any:
    """The fields slsa-verifier's typed v0.1 predicate keeps (it compares those)."""
    if not isinstance(pred, dict):
        return None
    builder = _obj(pred.get("builder"))
    recipe = _obj(pred.get("recipe"))
    metadata = pred.get("metadata")
    meta: Any = None
    if isinstance(metadata, dict):
        complete = metadata.get("completeness")
        complete = complete if isinstance(complete, dict) else {}
        meta = (
            metadata.get("buildStartedOn"),
            metadata.get("buildFinishedOn"),
            tuple(bool(complete.get(k)) for k in ("arguments", "environment", "materials")),
            bool(metadata.get("reproducible")),
        )
    materials = pred.get("materials")
    return (
        builder.get("id", ""),
        (
            recipe.get("type", ""),
            recipe.get("definedInMaterial"),
            recipe.get("entryPoint", ""),
            recipe.get("arguments"),
            recipe.get("environment"),
        ),
        meta,
        [
            (m.get("uri", ""), m.get("digest") or {}) if isinstance(m, dict) else m
            for m in (materials if isinstance(materials, list) else [])
        ],
    )


def _v1_fields(pred: Any) -> Any:
    if not isinstance(pred, dict):
        return None
    return (pred.get("buildDefinition"), pred.get("runDetails"))


def verify_gcb_provenance(
    data: bytes,
    *,
    digest: str,
    source: str,
    builder_id: str | None,
    branch: str | None = None,
    tag: str | None = None,
    versioned_tag: str | None = None,
) -> GcbResult:
    """GCBVerifier.VerifyImage; `digest` is the image's sha256 hex. Raises VerificationError."""
    doc = _mapping(
        loads_json(data, what="GCB provenance", kind="ErrorInvalidDssePayload"), "document"
    )
    summary = doc.get("provenance_summary")
    entries = summary.get("provenance") if isinstance(summary, dict) else None
    if not isinstance(entries, list) or not entries:
        raise err("ErrorInvalidDssePayload", "GCB provenance has no provenance entries")
    problems: list[str] = []
    found: tuple[dict[str, Any], dict[str, Any]] | None = None
    for entry in entries:
        try:
            found = (_mapping(entry, "entry"), _verified_statement(_mapping(entry, "entry")))
            break
        except VerificationError as exc:
            problems.append(exc.reason)
    if found is None:
        raise err("ErrorNoValidSignature", "; ".join(problems))
    entry, doc_statement = found
    statement = _Statement(doc_statement)

    builder = _verify_builder(statement, builder_id)
    # VerifySubjectDigest
    for subject in _subjects(doc_statement):
        digests = subject.get("digest")
        if not isinstance(digests, dict) or "sha256" not in digests:
            raise err("ErrorInvalidDssePayload", "a subject has no sha256 digest")
        if digests["sha256"] == digest:
            break
    else:
        raise err("ErrorMismatchHash", f"sha256:{digest} is not a subject of the provenance")
    _verify_source(statement, source, builder)
    # VerifyMetadata
    if entry.get("kind") != "BUILD":
        raise err("ErrorInvalidFormat", f"provenance kind is {entry.get('kind')!r}, not BUILD")
    if not str(entry.get("resourceUri") or "").endswith("@sha256:" + digest):
        raise err("ErrorMismatchHash", f"resourceUri {entry.get('resourceUri')!r} is not the image")
    # VerifySummary
    image = _obj(doc.get("image_summary"))
    if image.get("digest") != "sha256:" + digest:
        raise err("ErrorMismatchHash", f"image summary digest {image.get('digest')!r}")
    if not str(image.get("fully_qualified_digest") or "").endswith("sha256:" + digest):
        raise err("ErrorMismatchHash", "image summary's fully qualified digest is not the image")
    _verify_text(entry, statement)
    if branch is not None:
        raise err("ErrorNotSupported", "Cloud Build provenance does not record the branch")
    if tag is not None:
        try:
            have = statement.tag()
        except VerificationError as exc:
            raise err("ErrorMismatchTag", exc.reason) from exc
        if have != tag:
            raise err("ErrorMismatchTag", f"tag {have!r} is not {tag!r}")
    if versioned_tag is not None:
        try:
            have = statement.tag()
        except VerificationError as exc:
            raise err("ErrorMismatchVersionedTag", exc.reason) from exc
        verify_versioned_tag(have, versioned_tag)
    return GcbResult(builder_id=str(builder), statement=doc_statement)


def _verify_builder(statement: _Statement, expected: str | None) -> BuilderID:
    claimed = statement.builder_id()
    known = BUILDER_IDS_V1 if statement.v1 else BUILDER_IDS_V01
    if claimed not in known:
        raise err("ErrorInvalidBuilderID", f"provenance builder {claimed!r} is not Cloud Build's")
    builder = BuilderID.parse(claimed, need_version=not statement.v1)
    if expected is not None:
        builder.matches(expected, full=False, allow_ref=False)
    build_type = statement.build_type()
    if str(builder) in BUILDER_IDS_V01:
        if builder.version == "v0.2" and build_type != str(builder):
            raise err("ErrorInvalidRecipe", f"recipe {build_type!r} is not {builder}")
        if builder.version == "v0.3" and not build_type.startswith(_V03_RECIPES):
            raise err("ErrorInvalidRecipe", f"recipe {build_type!r} is not a Cloud Build recipe")
        recipe = statement.pred.get("recipe")
        arguments = recipe.get("arguments") if isinstance(recipe, dict) else None
        if not isinstance(arguments, dict):
            raise err("ErrorInvalidDssePayload", "recipe arguments is not an object")
        if "@type" not in arguments or not isinstance(arguments["@type"], str):
            raise err("ErrorInvalidDssePayload", "recipe arguments have no @type")
        if arguments["@type"] != "type.googleapis.com/google.devtools.cloudbuild.v1.Build":
            raise err("ErrorMismatchBuilderID", f"recipe arguments are {arguments['@type']!r}")
    elif build_type != BUILD_TYPE_V1:
        raise err("ErrorInvalidBuildType", f"build type {build_type!r}")
    return builder


def _verify_source(statement: _Statement, expected: str, builder: BuilderID) -> None:
    uri = statement.source_uri().removeprefix("git+")
    if uri.startswith("https://") and not expected.startswith("https://"):
        expected = "https://" + expected
    if statement.v1:
        parts = uri.split("@")
        if len(parts) != 2:
            raise err("ErrorInvalidFormat", f"source {uri!r} has no version")
        if parts[0] != expected:
            raise err("ErrorMismatchSource", f"source {parts[0]!r} is not {expected!r}")
        return
    if builder.version == "v0.2":
        if not uri.startswith((expected + "/commit/", expected + "#")):
            raise err("ErrorMismatchSource", f"source {uri!r} is not {expected!r}")
    elif builder.version == "v0.3":
        if uri != expected and not uri.startswith(expected + "#"):
            raise err("ErrorMismatchSource", f"source {uri!r} is not {expected!r}")
    else:
        raise err("ErrorInvalidBuilderID", f"builder version {builder.version!r}")


def _verify_text(entry: dict[str, Any], statement: _Statement) -> None:
    """VerifyTextProvenance: the unsigned copy gcloud prints equals the signed statement."""
    build = _obj(entry.get("build"))
    if statement.v1:
        text = build.get("inTotoSlsaProvenanceV1")
        text = text if isinstance(text, dict) else {}
        same = _header(text) == _header(statement.doc) and _v1_fields(
            text.get("predicate")
        ) == _v1_fields(statement.pred)
    else:
        text = build.get("intotoStatement")
        text = text if isinstance(text, dict) else {}
        same = _header(text) == _header(statement.doc) and _v01_fields(
            text.get("slsaProvenance")
        ) == _v01_fields(statement.pred)
    if not same:
        raise err(
            "ErrorMismatchIntoto", "the provenance's text statement differs from the signed one"
        )
