"""`verify-npm-package`: npm package attestations, with slsa-verifier's semantics.

A port of slsa-framework/slsa-verifier @ aaf98fd `verifiers/internal/gha/npm.go`,
`verifier.go` (`verifyNpmEnvAndCert`), `provenance.go` (`VerifyNpmPackageProvenance`) and
`provenance_forgeable.go`. The attestations file (what the npm registry serves for a version)
holds a SLSA provenance bundle signed by the publishing workflow's Fulcio certificate and a
publish attestation signed by the npm registry's key. The registry key comes from Sigstore's
TUF target `registry.npmjs.org/keys.json`; kubeward ships a copy (data/npm_keys.json, source
cited there) and accepts a fresher one with `--npm-registry-keys`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_der_public_key

from kubeward.verify._core import verify_evidence
from kubeward.verify._errors import InputError, VerificationError
from kubeward.verify._model import Evidence, IdentityPolicy, KeyPolicy
from kubeward.verify._slsa_builders import (
    DELEGATOR_BUILDERS,
    LOWPERMS_DELEGATOR,
    NPM_CLI_HOSTED_BUILDER,
    NPM_CLI_LEGACY_BUILDER,
    NPM_CLI_SELF_HOSTED_BUILDER,
    PROVENANCE_V02,
    PROVENANCE_V1,
    BuilderID,
    err,
    loads_json,
)
from kubeward.verify._slsa_vsa import ssh_sha256_fingerprint
from kubeward.verify._statement import Statement, parse_statement
from kubeward.verify._trust import TrustedRoot
from kubeward.verify.provenance import (
    GITHUB_ISSUER,
    ArtifactKind,
    GhaProvenance,
    ProvenanceRequest,
    WorkflowIdentity,
    parse_provenance_bundle,
    verify_builder_identity,
    verify_certificate_source,
    verify_common,
    workflow_identity,
)

PUBLISH_PREDICATE_PREFIX = "https://github.com/npm/attestation/tree/main/specs/publish/"
ATTESTATION_KEY_USAGE = "npm:attestations"
_STATEMENT_TYPES = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")


@dataclass(frozen=True)
class NpmRequest:
    source: str
    builder_id: str | None
    package_name: str | None = None
    package_version: str | None = None
    branch: str | None = None
    tag: str | None = None
    versioned_tag: str | None = None
    workflow_inputs: Mapping[str, str] | None = None


@dataclass(frozen=True)
class NpmResult:
    builder_id: str


def load_registry_keys(path: Path | None = None) -> list[dict[str, Any]]:
    """The npm registry's keys, in the format of Sigstore's TUF target keys.json."""
    if path is None:
        text = resources.files("kubeward").joinpath("data", "npm_keys.json").read_text("utf-8")
    else:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise InputError(f"cannot read npm registry keys {path}: {exc.strerror}") from exc
    try:
        keys = json.loads(text).get("keys")
    except (ValueError, AttributeError) as exc:
        raise InputError(f"npm registry keys are not a keys.json document: {exc}") from exc
    if not isinstance(keys, list):
        raise InputError("npm registry keys file has no `keys` list")
    return [k for k in keys if isinstance(k, dict)]


def _registry_key(keys: Sequence[Mapping[str, Any]], key_id: str) -> PublicKeyTypes:
    for key in keys:
        if key.get("keyId") == key_id and key.get("keyUsage") == ATTESTATION_KEY_USAGE:
            public = key.get("publicKey")
            raw = public.get("rawBytes") if isinstance(public, dict) else None
            try:
                public_key = load_der_public_key(base64.b64decode(str(raw), validate=True))
            except (binascii.Error, ValueError) as exc:
                raise InputError(f"npm registry key {key_id} is not a DER public key") from exc
            # npm's key IDs are the key's OpenSSH SHA256 fingerprint: a wrong pairing in a
            # keys file must not lend the ID to another key.
            if ssh_sha256_fingerprint(public_key) != key_id:
                raise InputError(f"npm registry key {key_id} is not that key's fingerprint")
            return public_key
    raise err(
        "ErrorInvalidSignature",
        f"no npm registry key {key_id!r} with usage {ATTESTATION_KEY_USAGE}",
    )


def _attestations(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """extractAttestations: the provenance and the publish attestation's bundles."""
    doc = loads_json(data, what="npm attestations", kind="invalid-input")
    items = doc.get("attestations") if isinstance(doc, dict) else None
    if not isinstance(items, list) or len(items) < 2:
        raise InputError("npm attestations: expected a provenance and a publish attestation")
    provenance = publish = None
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("bundle"), dict):
            continue
        predicate_type = str(item.get("predicateType"))
        if predicate_type in (PROVENANCE_V02, PROVENANCE_V1):
            provenance = item["bundle"]
        if predicate_type.startswith(PUBLISH_PREDICATE_PREFIX):
            publish = item["bundle"]
    if provenance is None or publish is None:
        raise InputError("npm attestations: no provenance or no publish attestation")
    return provenance, publish


def _verified_payload(
    evidence: Evidence, root: TrustedRoot, policy: IdentityPolicy | KeyPolicy
) -> Statement:
    try:
        signature = verify_evidence(evidence, root=root, policy=policy, artifact=None)
    except VerificationError as exc:
        raise err("ErrorInvalidSignature", exc.reason) from exc
    assert signature.payload_type is not None and signature.payload is not None
    try:
        return parse_statement(signature.payload_type, signature.payload)
    except VerificationError as exc:
        raise err("ErrorInvalidDssePayload", exc.reason) from exc


def verify_npm_package(
    data: bytes,
    *,
    tarball_sha512: bytes,
    request: NpmRequest,
    root: TrustedRoot,
    registry_keys: Sequence[Mapping[str, Any]],
) -> NpmResult:
    """GHAVerifier.VerifyNpmPackage; raises `VerificationError` with slsa-verifier's kinds."""
    provenance_doc, publish_doc = _attestations(data)
    provenance_ev = parse_provenance_bundle(provenance_doc)
    if provenance_ev.certificate is None:
        raise err("ErrorInvalidSignature", "the provenance bundle has no signing certificate")
    github = IdentityPolicy(identity_regexp=r"https://github\.com/.+", issuer=GITHUB_ISSUER)
    provenance = _verified_payload(provenance_ev, root, github)

    builder = _verify_builder(provenance, provenance_ev, request, tarball_sha512)

    publish_ev = parse_provenance_bundle(publish_doc)
    hint = _key_hint(publish_doc)
    key = _registry_key(registry_keys, hint)
    publish = _verified_payload(publish_ev, root, KeyPolicy(keys=(key,), name=f"npm {hint}"))

    # verifyPublishAttestationSubjectDigest
    if not any(
        name == "sha512" and value == tarball_sha512.hex()
        for subject in publish.subjects
        for name, value in subject.digests
    ):
        raise err("ErrorMismatchHash", "the tarball's sha512 is not the publish attestation's")
    # verifyIntotoHeaders
    if provenance.predicate_type not in (PROVENANCE_V02, PROVENANCE_V1):
        raise err("ErrorInvalidDssePayload", "provenance predicate type")
    if not publish.predicate_type.startswith(PUBLISH_PREDICATE_PREFIX):
        raise err("ErrorInvalidDssePayload", "publish attestation predicate type")
    for statement in (provenance, publish):
        if statement.type not in _STATEMENT_TYPES:
            raise err("ErrorInvalidDssePayload", f"statement type {statement.type!r}")

    prov = GhaProvenance.create(builder.name, provenance)
    if request.package_name is not None:
        _verify_name(prov, publish, request.package_name)
    if request.package_version is not None:
        _verify_version(prov, publish, request.package_version)
    return NpmResult(builder_id=str(builder))


def _key_hint(bundle: Mapping[str, Any]) -> str:
    material = bundle.get("verificationMaterial")
    public = material.get("publicKey") if isinstance(material, dict) else None
    hint = public.get("hint") if isinstance(public, dict) else None
    if not isinstance(hint, str) or not hint:
        raise err("ErrorInvalidSignature", "the publish attestation names no registry key")
    return hint


def _verify_builder(
    provenance: Statement, evidence: Evidence, request: NpmRequest, tarball_sha512: bytes
) -> BuilderID:
    """verifyNpmEnvAndCert: the signer is the BYOB delegator, or npm CLI on a GitHub runner."""
    assert evidence.certificate is not None
    workflow = workflow_identity(evidence.certificate)
    trusted: BuilderID | None
    try:
        # The signing identity of delegator-based builders is always the delegator workflow.
        trusted, byob = verify_builder_identity(
            workflow,
            LOWPERMS_DELEGATOR,
            DELEGATOR_BUILDERS,
            testing=False,
        )
    except VerificationError as exc:
        if exc.kind != "ErrorUntrustedReusableWorkflow":
            raise
        trusted, byob = None, False
    verify_certificate_source(workflow, request.source)
    if request.builder_id is None:
        raise err("ErrorInvalidBuilderID", "verify-npm-package needs --builder-id")
    expected = request.builder_id
    if trusted is not None:
        if not byob:
            raise err("ErrorInternal", "a trusted npm builder that is not BYOB")
        if workflow.hosted is not None and workflow.hosted != "github-hosted":
            raise err("ErrorMismatchBuilderID", "the reusable workflow ran on a self-hosted runner")
        builder = trusted
    else:
        # npm CLI, or a reusable workflow outside BYOB: it must call itself the GitHub runner.
        if workflow.hosted is None:
            raise err("ErrorNotSupported", "the certificate does not say where the runner is")
        if expected in (NPM_CLI_LEGACY_BUILDER, NPM_CLI_HOSTED_BUILDER):
            if workflow.hosted != "github-hosted":
                raise err("ErrorMismatchBuilderID", "the workflow ran on a self-hosted runner")
        elif expected == NPM_CLI_SELF_HOSTED_BUILDER:
            if workflow.hosted != "self-hosted":
                raise err("ErrorMismatchBuilderID", "the workflow ran on a GitHub-hosted runner")
        else:
            raise err(
                "ErrorNotSupported",
                f"builder {expected!r}: expected {NPM_CLI_SELF_HOSTED_BUILDER} or "
                f"{NPM_CLI_HOSTED_BUILDER}",
            )
        builder = BuilderID.parse(expected, need_version=False)
    # VerifyNpmPackageProvenance
    prov = GhaProvenance.create(builder.name, provenance)
    try:
        prov.builder().matches(expected, full=False, allow_ref=True)
    except VerificationError:
        # Older provenance names the runner without the hosting suffix.
        suffix = "/github-hosted"
        other = expected.removesuffix(suffix) if expected.endswith(suffix) else expected + suffix
        prov.builder().matches(other, full=False, allow_ref=True)
    verify_common(
        prov,
        ProvenanceRequest(
            source=request.source,
            kind=ArtifactKind.ARTIFACT,
            builder_id=expected,
            branch=request.branch,
            tag=request.tag,
            versioned_tag=request.versioned_tag,
            workflow_inputs=request.workflow_inputs or {},
        ),
        [tarball_sha512],
    )
    if trusted is None:
        _verify_matches_certificate(prov, workflow)
    return builder


def _package_name_and_version(name: str) -> tuple[str, str]:
    rest = name[1:] if name.startswith("@") else name
    parts = rest.split("@")
    if len(parts) > 2:
        raise err("ErrorInvalidPackageName", f"package {name!r}")
    package = ("@" if name.startswith("@") else "") + parts[0]
    return package, parts[1] if len(parts) == 2 else ""


def _provenance_subject(prov: GhaProvenance) -> str:
    subjects = prov.statement.subjects
    if len(subjects) != 1:
        raise err("ErrorInvalidSubject", f"the provenance has {len(subjects)} subjects, not 1")
    prefix = "pkg:npm/"
    if not subjects[0].name.startswith(prefix):
        raise err("ErrorInvalidPackageName", f"subject {subjects[0].name!r} is not a pkg:npm")
    return unquote_plus(subjects[0].name[len(prefix) :])


def _publish_predicate(publish: Statement) -> tuple[str, str]:
    predicate = publish.predicate if isinstance(publish.predicate, dict) else {}
    name, version = predicate.get("name", ""), predicate.get("version", "")
    if not isinstance(name, str) or not isinstance(version, str):
        raise err("ErrorInvalidDssePayload", "publish predicate name/version are not strings")
    return name, version


def _verify_name(prov: GhaProvenance, publish: Statement, expected: str) -> None:
    name, _ = _package_name_and_version(_provenance_subject(prov))
    published, _ = _publish_predicate(publish)
    for have in (name, _package_name_and_version(published)[0], published):
        if have != expected:
            raise err("ErrorMismatchPackageName", f"package name {have!r} is not {expected!r}")


def _verify_version(prov: GhaProvenance, publish: Statement, expected: str) -> None:
    _, version = _package_name_and_version(_provenance_subject(prov))
    _, published = _publish_predicate(publish)
    for have in (version, published):
        if have != expected:
            raise err(
                "ErrorMismatchPackageVersion", f"package version {have!r} is not {expected!r}"
            )


# --- provenance_forgeable.go: for builders outside BYOB, the provenance may only claim what
# the certificate vouches for. -----------------------------------------------------------------
_SYSTEM_PARAMETERS = frozenset(
    {
        "GITHUB_EVENT_NAME",
        "GITHUB_REF",
        "GITHUB_REPOSITORY",
        "GITHUB_REPOSITORY_ID",
        "GITHUB_REPOSITORY_OWNER_ID",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_RUN_ID",
        "GITHUB_SHA",
        "GITHUB_WORKFLOW_REF",
        "GITHUB_WORKFLOW_SHA",
    }
)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _equal(expected: str | None, actual: str, what: str) -> None:
    if expected is None:
        raise err("ErrorMismatchCertificate", f"the certificate has no {what} to compare")
    if actual != expected:
        raise err(
            "ErrorMismatchCertificate", f"{what}: provenance {actual!r}, certificate {expected!r}"
        )


def _parameter(params: Mapping[str, Any], name: str, cert_value: str | None) -> None:
    if name not in params:
        return
    value = params[name]
    if not isinstance(value, str):
        raise err("ErrorInvalidDssePayload", f"provenance {name} is not a string")
    _equal(cert_value, value, name)


def _run_ids(workflow: WorkflowIdentity) -> tuple[str, str]:
    if workflow.run_id is None:
        return "", ""
    parts = workflow.run_id.split("/")
    if len(parts) != 3:
        raise err("ErrorInvalidFormat", f"certificate run ID {workflow.run_id!r}")
    return parts[0], parts[2]


def _verify_matches_certificate(prov: GhaProvenance, workflow: WorkflowIdentity) -> None:
    params, _ = prov.env()
    if prov.shape == "npm":
        github = params.get("github")
        if not isinstance(github, dict):
            raise err("ErrorInvalidFormat", "provenance has no github parameters")
        supported = {
            "event_name": workflow.build_trigger,
            "repository_id": workflow.source_id,
            "repository_owner_id": workflow.source_owner_id,
        }
        for name in github:
            if name not in supported:
                raise err("ErrorMismatchCertificate", f"unknown github parameter {name!r}")
            _parameter(github, name, supported[name])
    else:
        for name in params:
            if name not in _SYSTEM_PARAMETERS:
                raise err("ErrorMismatchCertificate", f"unknown parameter {name!r}")
        _parameter(params, "GITHUB_EVENT_NAME", workflow.build_trigger)
        _parameter(params, "GITHUB_REPOSITORY", workflow.source_repository)
        _parameter(params, "GITHUB_REF", workflow.source_ref)
        _parameter(params, "GITHUB_REPOSITORY_ID", workflow.source_id)
        _parameter(params, "GITHUB_REPOSITORY_OWNER_ID", workflow.source_owner_id)
        _parameter(params, "GITHUB_SHA", workflow.source_sha1)
        path = workflow.workflow.removeprefix("https://github.com").lstrip("/")
        _parameter(params, "GITHUB_WORKFLOW_REF", path)
        _parameter(params, "GITHUB_WORKFLOW_SHA", workflow.subject_sha1)
        if "GITHUB_RUN_ID" in params or "GITHUB_RUN_ATTEMPT" in params:
            if workflow.run_id is None:
                raise err("ErrorMismatchCertificate", "the certificate has no run ID")
            run_id, attempt = _run_ids(workflow)
            _parameter(params, "GITHUB_RUN_ID", run_id)
            _parameter(params, "GITHUB_RUN_ATTEMPT", attempt)
    pred = prov.statement.predicate if isinstance(prov.statement.predicate, dict) else {}
    invocation = _obj(pred.get("invocation"))
    if not prov.v1 and invocation.get("parameters") not in (None, {}):
        raise err("ErrorNonVerifiableClaim", "the provenance claims invocation parameters")
    _verify_metadata(prov, pred, workflow)
    subjects = prov.statement.subjects
    if len(subjects) != 1 or "sha512" not in dict(subjects[0].digests):
        raise err("ErrorNonVerifiableClaim", "the provenance must have one sha512 subject")
    trigger_path = _build_trigger_path(prov, pred)
    if trigger_path is not None:
        _equal(workflow.build_config_path, trigger_path, "trigger workflow")
    if prov.v1:
        definition = pred.get("buildDefinition") or {}
        materials = definition.get("resolvedDependencies") if isinstance(definition, dict) else []
    else:
        materials = pred.get("materials")
    if not isinstance(materials, list) or len(materials) != 1:
        raise err("ErrorNonVerifiableClaim", "the provenance must name exactly one material")
    if not prov.v1 and pred.get("buildConfig") not in (None, {}):
        raise err("ErrorNonVerifiableClaim", "the provenance claims a build configuration")


def _verify_metadata(
    prov: GhaProvenance, pred: Mapping[str, Any], workflow: WorkflowIdentity
) -> None:
    if prov.v1:
        details = _obj(pred.get("runDetails"))
        metadata = details.get("metadata") if isinstance(details, dict) else None
        metadata = metadata if isinstance(metadata, dict) else {}
        invocation_id = str(metadata.get("invocationID") or "")
        started, finished = metadata.get("startedOn"), metadata.get("finishedOn")
    else:
        metadata = _obj(pred.get("metadata"))
        invocation_id = str(metadata.get("buildInvocationId") or "")
        started, finished = metadata.get("buildStartedOn"), metadata.get("buildFinishedOn")
    if invocation_id:
        if prov.shape == "npm":
            parts = invocation_id.removeprefix("https://github.com/").split("/")
            if len(parts) != 7:
                raise err("ErrorInvalidFormat", f"invocation ID {invocation_id!r}")
            run_id, attempt = parts[-3], parts[-1]
        else:
            parts = invocation_id.split("-")
            if len(parts) != 2:
                raise err("ErrorInvalidFormat", f"invocation ID {invocation_id!r}")
            run_id, attempt = parts
        cert_run, cert_attempt = _run_ids(workflow)
        if run_id != cert_run or attempt != cert_attempt:
            raise err("ErrorMismatchCertificate", f"run {invocation_id!r} is not the certificate's")
    if started is not None or finished is not None:
        raise err("ErrorNonVerifiableClaim", "the provenance claims build start or finish times")
    if not prov.v1 and metadata:
        complete = metadata.get("completeness")
        complete = complete if isinstance(complete, dict) else {}
        if metadata.get("reproducible") or any(
            complete.get(k) for k in ("parameters", "environment", "materials")
        ):
            raise err("ErrorNonVerifiableClaim", "the provenance claims completeness")


def _build_trigger_path(prov: GhaProvenance, pred: Mapping[str, Any]) -> str | None:
    """GetBuildTriggerPath; None when the provenance does not say."""
    if not prov.v1:
        invocation = _obj(pred.get("invocation"))
        source = invocation.get("configSource") if isinstance(invocation, dict) else None
        entry = source.get("entryPoint") if isinstance(source, dict) else None
        return str(entry or "")
    definition = _obj(pred.get("buildDefinition"))
    external = definition.get("externalParameters") if isinstance(definition, dict) else None
    workflow = external.get("workflow") if isinstance(external, dict) else None
    path = workflow.get("path") if isinstance(workflow, dict) else None
    if not isinstance(path, str):
        raise err("ErrorInvalidDssePayload", "the provenance has no workflow path")
    return path
