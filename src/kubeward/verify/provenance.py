"""SLSA provenance verification with slsa-verifier's semantics (`verify-provenance`).

The signature is verified offline like any other Sigstore material; then the statement must
name every artifact digest as a subject, the builder must be trusted (or the one asked
for), and the source repository, branch, tag, versioned tag and workflow inputs must match.
Errors carry slsa-verifier's error names as their `kind`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from kubeward.verify._bundle import parse_bundle, parse_envelope
from kubeward.verify._core import certificate_extension, verify_evidence
from kubeward.verify._errors import InputError, VerificationError
from kubeward.verify._model import Evidence, IdentityPolicy
from kubeward.verify._slsa_builders import (
    BUILD_TYPES_V02,
    BUILD_TYPES_V1,
    BYOB_BUILD_TYPE_V0,
    CONTAINER_GENERATOR,
    DEFAULT_ARTIFACT_BUILDERS,
    DELEGATOR_BUILDERS,
    E2E_TEST_REPOSITORY,
    GENERATOR_WORKFLOWS,
    JRELEASER_REPOSITORY,
    NPM_CLI_BUILD_TYPE_V1,
    PROVENANCE_V02,
    PROVENANCE_V1,
    TRUSTED_BUILDER_REPOSITORY,
    BuilderID,
    branch_from_ref,
    loads_json,
    normalize_git_uri,
    parse_git_ref,
    parse_git_uri_and_ref,
    tag_from_ref,
    valid_builder_tag,
    valid_jreleaser_tag,
    verify_versioned_tag,
)
from kubeward.verify._statement import Statement, parse_statement
from kubeward.verify._trust import TrustedRoot

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
_GITHUB = "https://github.com/"
_FULCIO = "1.3.6.1.4.1.57264.1."
# verifiers/internal/gha/verifier.go: artifacts trust the generators and the BYOB delegators,
# images the container generator, GitHub attestations only the builder asked for.
DEFAULT_TRUSTED_BUILDERS: Mapping[str, frozenset[str]] = {
    "artifact": DEFAULT_ARTIFACT_BUILDERS | DELEGATOR_BUILDERS,
    "image": frozenset({CONTAINER_GENERATOR}),
    "github_attestation": frozenset(),
}


class ArtifactKind(enum.Enum):
    """Which of slsa-verifier's commands the check mirrors (it picks the default builders)."""

    ARTIFACT = "artifact"
    IMAGE = "image"
    GITHUB_ATTESTATION = "github_attestation"


@dataclass(frozen=True)
class ProvenanceRequest:
    """What the provenance must say; None means "do not check"."""

    source: str
    """Source repository without scheme, e.g. `github.com/org/repo`."""
    kind: ArtifactKind = ArtifactKind.ARTIFACT
    builder_id: str | None = None
    """Expected builder, optionally with `@vX.Y.Z` or `@refs/tags/vX.Y.Z`; `""` trusts none."""
    branch: str | None = None
    tag: str | None = None
    versioned_tag: str | None = None
    workflow_inputs: Mapping[str, str] = field(default_factory=dict)
    testing: bool = False
    """slsa-verifier's testing mode: builders referenced at `refs/heads/main` are accepted."""


@dataclass(frozen=True)
class ProvenanceResult:
    builder_id: str
    source: str
    ref: str | None
    predicate_type: str


def _err(kind: str, reason: str) -> VerificationError:
    return VerificationError(reason, kind=kind)


def load_provenance(text: str | bytes) -> list[Evidence]:
    """A `.intoto.jsonl` / `.sigstore.json`: bundles or bare DSSE envelopes, one per line."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    stripped = raw.strip()
    documents: list[Any] = []
    try:
        documents = [loads_json(stripped, what="provenance", kind="invalid-input")]
    except VerificationError:
        for line in stripped.splitlines():
            if line.strip():
                documents.append(loads_json(line, what="provenance line", kind="invalid-input"))
    evidence = []
    for doc in documents:
        if isinstance(doc, dict) and "mediaType" in doc:
            evidence.append(parse_provenance_bundle(doc))
        elif isinstance(doc, dict) and "payloadType" in doc:
            envelope = parse_envelope(doc)
            evidence.append(Evidence(certificate=_cert_from_envelope(doc), envelope=envelope))
        else:
            raise InputError("provenance is neither a Sigstore bundle nor a DSSE envelope")
    if not evidence:
        raise InputError("provenance file is empty")
    return evidence


def parse_provenance_bundle(doc: dict[str, Any]) -> Evidence:
    """A Sigstore bundle, read as slsa-verifier reads it: only the leaf of a certificate chain.

    slsa-verifier (verifiers/internal/gha/bundle.go `getLeafCertFromBundle`) takes the first
    certificate of a v0.1/v0.2 `x509CertificateChain` and builds the chain from the trusted
    root; npm's v0.1 bundles carry the whole chain, root included.
    """
    material = doc.get("verificationMaterial")
    if isinstance(material, dict) and isinstance(material.get("x509CertificateChain"), dict):
        chain: dict[str, Any] = material["x509CertificateChain"]
        certs = chain.get("certificates")
        if isinstance(certs, list) and len(certs) > 1:
            leaf = {**chain, "certificates": certs[:1]}
            doc = {**doc, "verificationMaterial": {**material, "x509CertificateChain": leaf}}
    return parse_bundle(json.dumps(doc))


def _cert_from_envelope(doc: Mapping[str, Any]) -> x509.Certificate | None:
    # slsa-github-generator puts the PEM certificate in the signature's `cert` field.
    for sig in doc.get("signatures") or []:
        pem = sig.get("cert") if isinstance(sig, dict) else None
        if isinstance(pem, str) and pem:
            try:
                return x509.load_pem_x509_certificate(pem.encode())
            except ValueError:
                return None
    return None


def verify_provenance(
    evidence: Evidence,
    *,
    digests: list[bytes],
    request: ProvenanceRequest,
    root: TrustedRoot,
) -> ProvenanceResult:
    """Verify signature and contents; raise `VerificationError` with a slsa-verifier kind."""
    if evidence.certificate is None:
        raise _err("ErrorInvalidSignature", "provenance has no signing certificate")
    if not evidence.tlog_entries:
        raise _err(
            "ErrorRekorSearch",
            "provenance carries no transparency log entry; slsa-verifier would search "
            "rekor.sigstore.dev for it, kubeward verifies offline and cannot establish a "
            "trusted signing time for the short-lived certificate",
        )
    policy = IdentityPolicy(identity_regexp=r"^https://github\.com/.+", issuer=GITHUB_ISSUER)
    try:
        signature = verify_evidence(evidence, root=root, policy=policy, artifact=None)
    except VerificationError as exc:
        raise _err("ErrorInvalidSignature", exc.reason) from exc
    assert signature.payload_type is not None and signature.payload is not None
    statement = parse_statement(signature.payload_type, signature.payload)
    return check_statement(statement, evidence.certificate, digests=digests, request=request)


@dataclass(frozen=True)
class WorkflowIdentity:
    """What the Fulcio certificate says about the GitHub workflow run (builder.go)."""

    issuer: str
    workflow: str
    """The certificate SAN: `https://github.com/org/repo/path@ref` of the signing workflow."""
    source_repository: str
    """`org/repo` that triggered the run."""
    source_sha1: str
    hosted: str | None
    """Runner environment: `github-hosted`, `self-hosted` or None when absent."""
    build_trigger: str = ""
    source_ref: str | None = None
    source_id: str | None = None
    source_owner_id: str | None = None
    subject_sha1: str | None = None
    build_config_path: str | None = None
    run_id: str | None = None
    """`<run id>/attempts/<attempt>` from the run invocation URI."""

    @property
    def workflow_name(self) -> str:
        return self.workflow.rpartition("@")[0] if "@" in self.workflow else self.workflow

    @property
    def workflow_ref(self) -> str:
        return self.workflow.rpartition("@")[2] if "@" in self.workflow else ""


def _claim(cert: x509.Certificate, deprecated: str, current: str) -> str:
    old = certificate_extension(cert, _FULCIO + deprecated) or ""
    new = certificate_extension(cert, _FULCIO + current) or ""
    if old and new and old != new:
        raise _err("ErrorInvalidFormat", f"certificate claims {old!r} and {new!r} differ")
    if not old and not new:
        raise _err("ErrorInvalidFormat", f"certificate has neither claim {deprecated}/{current}")
    return new or old


def workflow_identity(cert: x509.Certificate) -> WorkflowIdentity:
    """GetWorkflowInfoFromCertificate (verifiers/internal/gha/builder.go), the parts used."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    if not uris:
        raise _err("ErrorInvalidFormat", "the certificate has no URI (workflow) identity")
    trigger = _claim(cert, "2", "20")
    sha1 = _claim(cert, "3", "13")
    config_sha1 = _ext(cert, "19")
    if sha1 and config_sha1 and sha1 != config_sha1:
        raise _err("ErrorInvalidFormat", "certificate source and build config digests differ")
    issuer = _claim(cert, "1", "8")
    deprecated_repo = certificate_extension(cert, _FULCIO + "5") or ""
    source_uri = _ext(cert, "12")
    if deprecated_repo and source_uri and _GITHUB + deprecated_repo != source_uri:
        raise _err("ErrorInvalidFormat", "certificate source repository claims differ")
    repository = source_uri.removeprefix(_GITHUB) or deprecated_repo
    runner = _ext(cert, "11")
    config_path = None
    if config_uri := _ext(cert, "18"):
        parts = config_uri.split("@")
        prefix = f"https://github.com/{repository}/"
        if len(parts) != 2 or not parts[0].startswith(prefix):
            raise _err("ErrorInvalidFormat", f"certificate build config URI {config_uri!r}")
        config_path = parts[0].removeprefix(prefix) or None
    run_id = _ext(cert, "21").removeprefix(f"https://github.com/{repository}/actions/runs/")
    return WorkflowIdentity(
        issuer=issuer,
        workflow=str(uris[0]),
        source_repository=repository,
        source_sha1=sha1,
        hosted=runner if runner in ("github-hosted", "self-hosted") else None,
        build_trigger=trigger,
        source_ref=_ext(cert, "14") or None,
        source_id=_ext(cert, "15") or None,
        source_owner_id=_ext(cert, "17") or None,
        subject_sha1=_ext(cert, "10") or None,
        build_config_path=config_path,
        run_id=run_id or None,
    )


def _ext(cert: x509.Certificate, suffix: str) -> str:
    return certificate_extension(cert, _FULCIO + suffix) or ""


def verify_builder_identity(
    workflow: WorkflowIdentity,
    expected: str | None,
    defaults: frozenset[str],
    *,
    testing: bool,
) -> tuple[BuilderID, bool]:
    """VerifyBuilderIdentity: the signing workflow is trusted; returns it and "is BYOB"."""
    if workflow.issuer != GITHUB_ISSUER:
        raise _err("ErrorInvalidOIDCIssuer", f"certificate issuer {workflow.issuer!r}")
    name, ref = workflow.workflow_name, workflow.workflow_ref
    if not name or not ref:
        raise _err("ErrorMalformedURI", f"workflow URI {workflow.workflow!r} has no ref")
    builder = BuilderID.parse(f"{name}@{ref}", need_version=True)
    if not expected:
        if name not in defaults:
            raise _err(
                "ErrorUntrustedReusableWorkflow",
                f"builder {builder} is not a trusted builder and no --builder-id was given",
            )
        byob = _is_trusted_delegator(builder, defaults)
    elif _is_trusted_delegator(builder, defaults):
        byob = True
    else:
        try:
            builder.matches(expected, full=False, allow_ref=True)
        except VerificationError as exc:
            raise _err("ErrorUntrustedReusableWorkflow", exc.reason) from exc
        byob = False
    if workflow.source_repository in (TRUSTED_BUILDER_REPOSITORY, E2E_TEST_REPOSITORY) and testing:
        if ref != "refs/heads/main":
            valid_builder_tag(ref, testing=True)
    else:
        valid_builder_tag(ref, testing=False)
    return builder, byob


def _is_trusted_delegator(builder: BuilderID, trusted: frozenset[str]) -> bool:
    return builder.name in DELEGATOR_BUILDERS and builder.name in trusted


def verify_certificate_source(workflow: WorkflowIdentity, source: str) -> None:
    expected = source.removeprefix("git+https://").removeprefix("github.com/")
    if workflow.source_repository != expected:
        raise _err(
            "ErrorMismatchSource",
            f"certificate source {workflow.source_repository!r} is not {expected!r}",
        )


def check_statement(
    statement: Statement,
    certificate: x509.Certificate,
    *,
    digests: list[bytes],
    request: ProvenanceRequest,
) -> ProvenanceResult:
    """The provenance checks proper (verifyEnvAndCert), after the signature verified."""
    workflow = workflow_identity(certificate)
    defaults = DEFAULT_TRUSTED_BUILDERS[request.kind.value]
    builder, byob = verify_builder_identity(
        workflow, request.builder_id, defaults, testing=request.testing
    )
    verify_certificate_source(workflow, request.source)
    prov = GhaProvenance.create(builder.name, statement)
    if byob:
        _valid_delegator_builder_id(prov, testing=request.testing)
        if request.builder_id is None:
            expected = _builder_in_generator_repository(prov)
        else:
            expected = request.builder_id
        prov.builder().matches(expected, full=False, allow_ref=True)
    else:
        prov.builder().matches(str(builder), full=True, allow_ref=True)
    verify_common(prov, request, digests)
    if byob:
        builder = BuilderID.parse(prov.builder_id(), need_version=True)
    facts = provenance_facts(statement)
    return ProvenanceResult(
        builder_id=str(builder),
        source=facts.source,
        ref=facts.ref,
        predicate_type=statement.predicate_type,
    )


def _builder_in_generator_repository(prov: GhaProvenance) -> str:
    name = prov.builder().name
    if not name.startswith(GENERATOR_WORKFLOWS):
        raise _err(
            "ErrorInvalidBuilderID",
            f"BYOB builder {name!r} is not under {GENERATOR_WORKFLOWS} and no --builder-id "
            "was given",
        )
    return name


def _valid_delegator_builder_id(prov: GhaProvenance, *, testing: bool) -> None:
    """isValidDelegatorBuilderID: the builder the delegator ran is pinned at a release."""
    builder_id = prov.builder_id()
    parts = builder_id.split("@")
    if len(parts) != 2:
        raise _err("ErrorInvalidBuilderID", f"provenance builder {builder_id!r} has no version")
    if parts[0].startswith(JRELEASER_REPOSITORY):
        valid_jreleaser_tag(parts[1])
        return
    uri, _ = parse_git_uri_and_ref(prov.source_uri())
    e2e = normalize_git_uri(_GITHUB + E2E_TEST_REPOSITORY)
    if normalize_git_uri(uri) == e2e and testing and parts[1] == "refs/heads/main":
        return
    valid_builder_tag(parts[1], testing=False)


def verify_common(prov: GhaProvenance, request: ProvenanceRequest, digests: list[bytes]) -> None:
    """VerifyProvenanceCommonOptions: source, subjects, branch, tag, versioned tag, inputs."""
    verify_source_uri(prov, request.source)
    for digest in digests:
        # verifyDigest: the algorithm follows from the digest's length (sha256, sha512).
        algo = f"sha{len(digest) * 8}"
        if not any(
            name == algo and value == digest.hex()
            for subject in prov.statement.subjects
            for name, value in subject.digests
        ):
            raise _err(
                "ErrorMismatchHash", f"{algo}:{digest.hex()} is not a subject of the provenance"
            )
    if request.branch is not None:
        branch = branch_from_ref(prov.branch())
        if branch != request.branch:
            raise _err("ErrorMismatchBranch", f"branch {branch!r} is not {request.branch!r}")
    if request.tag is not None:
        tag = tag_from_ref(prov.tag())
        if tag != request.tag:
            raise _err("ErrorMismatchTag", f"tag {tag!r} is not {request.tag!r}")
    if request.versioned_tag is not None:
        verify_versioned_tag(tag_from_ref(prov.tag()), request.versioned_tag)
    if request.workflow_inputs:
        inputs = prov.workflow_inputs()
        for name, value in request.workflow_inputs.items():
            have = inputs.get(name)
            if not isinstance(have, str):
                raise _err("ErrorMismatchWorkflowInputs", f"workflow input {name!r} is absent")
            if have != value:
                raise _err(
                    "ErrorMismatchWorkflowInputs",
                    f"workflow input {name!r} is {have!r}, expected {value!r}",
                )


def verify_source_uri(prov: GhaProvenance, expected_source: str) -> None:
    """verifySourceURI: the trigger and the first material are the expected repository."""
    source = normalize_git_uri(expected_source)
    if not source.startswith("git+https://github.com/"):
        raise _err("ErrorMalformedURI", f"expected source {source!r} is not on github.com")
    full_trigger = prov.trigger_uri()
    trigger, trigger_ref = parse_git_uri_and_ref(full_trigger)
    if trigger != source:
        raise _err("ErrorMismatchSource", f"provenance trigger {full_trigger!r} is not {source!r}")
    if not trigger_ref:
        raise _err("ErrorMalformedURI", f"provenance trigger {full_trigger!r} has no ref")
    full_source = prov.source_uri()
    material, material_ref = parse_git_uri_and_ref(full_source)
    if material != source:
        raise _err("ErrorMismatchSource", f"provenance source {full_source!r} is not {source!r}")
    if not material_ref:
        # npm packages built before GA, and BYOB builders that commit during the release,
        # record the source without a ref (provenance.go).
        if prov.build_type() in (NPM_CLI_BUILD_TYPE_V1, BYOB_BUILD_TYPE_V0):
            return
        raise _err("ErrorMalformedURI", f"provenance source {full_source!r} has no ref")
    if full_trigger != full_source:
        raise _err(
            "ErrorInvalidDssePayload",
            f"provenance trigger {full_trigger!r} and source {full_source!r} differ",
        )


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _err("ErrorInvalidDssePayload", f"provenance {what} is not an object")
    return value


def _string(env: Mapping[str, Any], key: str) -> str:
    if key not in env:
        raise _err("ErrorInvalidDssePayload", f"provenance has no {key}")
    value = env[key]
    if not isinstance(value, str):
        raise _err("ErrorInvalidDssePayload", f"provenance {key} is not a string")
    return value


@dataclass(frozen=True)
class GhaProvenance:
    """A SLSA v0.2 or v1 predicate read the way slsa-verifier reads it for its builder.

    `shape` is the builder/buildType's reading (see `_slsa_builders.BUILD_TYPES_V02/V1`).
    """

    statement: Statement
    v1: bool
    shape: str

    @classmethod
    def create(cls, builder_name: str, statement: Statement) -> GhaProvenance:
        if statement.predicate_type == PROVENANCE_V02:
            table, v1 = BUILD_TYPES_V02, False
        elif statement.predicate_type == PROVENANCE_V1:
            table, v1 = BUILD_TYPES_V1, True
        else:
            raise _err(
                "ErrorInvalidDssePayload", f"unexpected predicate type {statement.predicate_type!r}"
            )
        _mapping(statement.predicate, "predicate")
        types = table.get(builder_name)
        if types is None:
            raise _err("ErrorInvalidBuilderID", f"no provenance format for builder {builder_name}")
        prov = cls(statement, v1, "")
        shape = types.get(prov.build_type())
        if shape is None:
            raise _err(
                "ErrorInvalidBuildType",
                f"build type {prov.build_type()!r} is not one of builder {builder_name}",
            )
        return cls(statement, v1, shape)

    @property
    def _pred(self) -> dict[str, Any]:
        return _mapping(self.statement.predicate, "predicate")

    def _definition(self) -> dict[str, Any]:
        return _mapping(self._pred.get("buildDefinition") or {}, "buildDefinition")

    def builder_id(self) -> str:
        if self.v1:
            details = _mapping(self._pred.get("runDetails") or {}, "runDetails")
            builder = _mapping(details.get("builder") or {}, "builder")
        else:
            builder = _mapping(self._pred.get("builder") or {}, "builder")
        return str(builder.get("id") or "")

    def builder(self) -> BuilderID:
        return BuilderID.parse(self.builder_id(), need_version=False)

    def build_type(self) -> str:
        if self.v1:
            return str(self._definition().get("buildType") or "")
        return str(self._pred.get("buildType") or "")

    def source_uri(self) -> str:
        if self.v1:
            materials = self._definition().get("resolvedDependencies") or []
        else:
            materials = self._pred.get("materials") or []
        if not isinstance(materials, list) or not materials:
            raise _err("ErrorInvalidDssePayload", "provenance has no materials")
        uri = _mapping(materials[0], "material").get("uri")
        if not isinstance(uri, str) or not uri:
            raise _err("ErrorMalformedURI", "provenance's first material has no URI")
        return uri

    def env(self) -> tuple[dict[str, Any], bool]:
        """The GitHub context and whether its keys are upper case (GITHUB_REF)."""
        if self.v1:
            return _mapping(self._definition().get("internalParameters"), "parameters"), True
        invocation = _mapping(self._pred.get("invocation") or {}, "invocation")
        return _mapping(invocation.get("environment"), "environment"), self.shape == "byob"

    def trigger_uri(self) -> str:
        if self.shape in ("npm", "attest"):
            external = _mapping(self._definition().get("externalParameters"), "parameters")
            workflow = external.get("workflow")
            if not isinstance(workflow, dict):
                raise _err("ErrorInvalidFormat", "provenance has no workflow parameters")
            repository, ref = workflow.get("repository"), workflow.get("ref")
            if not isinstance(repository, str) or not isinstance(ref, str):
                raise _err("ErrorInvalidFormat", "workflow parameters lack repository or ref")
            return f"git+{repository}@{ref}"
        if self.v1:
            env, _ = self.env()
            workflow_ref = _string(env, "GITHUB_WORKFLOW_REF")
            parts = workflow_ref.split("@")
            if len(parts) != 2:
                raise _err("ErrorInvalidFormat", f"GITHUB_WORKFLOW_REF {workflow_ref!r}")
            path = parts[0].split("/")
            if len(path) < 2:
                raise _err("ErrorInvalidFormat", f"GITHUB_WORKFLOW_REF {workflow_ref!r}")
            repository, ref = "/".join(path[:2]), parts[1]
            if not repository or not ref:
                raise _err("ErrorMalformedURI", "provenance trigger has no repository or ref")
            return f"git+https://github.com/{repository}@{ref}"
        invocation = _mapping(self._pred.get("invocation") or {}, "invocation")
        config = _mapping(invocation.get("configSource") or {}, "configSource")
        uri = config.get("uri")
        if not isinstance(uri, str) or not uri:
            raise _err("ErrorMalformedURI", "provenance has no configSource URI")
        return uri

    def _byob_ref(self) -> tuple[str, str]:
        source = self.source_uri()
        _, ref = parse_git_uri_and_ref(source)
        if not ref:
            raise _err("ErrorInvalidDssePayload", f"provenance source {source!r} has no ref")
        ref_type, _ = parse_git_ref(ref)
        if ref_type not in ("heads", "tags"):
            raise _err("ErrorInvalidDssePayload", f"unknown ref type of {ref!r}")
        return ref_type, ref

    def branch(self) -> str:
        if self.shape == "byob":
            ref_type, ref = self._byob_ref()
            if ref_type == "heads":
                return ref
            env, _ = self.env()
            return github_branch(env, upper=True)
        env, upper = self.env()
        return github_branch(env, upper=upper)

    def tag(self) -> str:
        if self.shape == "byob":
            ref_type, ref = self._byob_ref()
            return ref if ref_type == "tags" else ""
        env, upper = self.env()
        return github_tag(env, upper=upper)

    def workflow_inputs(self) -> dict[str, Any]:
        env, upper = self.env()
        event = _string(env, _key("github_event_name", upper))
        if event != "workflow_dispatch":
            raise _err(
                "ErrorMismatchWorkflowInputs", f"the build was triggered by {event!r}, not inputs"
            )
        payload = _event_payload(env, upper)
        if "inputs" not in payload:
            raise _err("ErrorInvalidDssePayload", "event payload has no inputs")
        return _mapping(payload["inputs"], "inputs")


def _key(name: str, upper: bool) -> str:
    return name.upper() if upper else name


def _event_payload(env: Mapping[str, Any], upper: bool) -> dict[str, Any]:
    key = _key("github_event_payload", upper)
    if key not in env:
        raise _err("ErrorInvalidDssePayload", "provenance has no event payload")
    return _mapping(env[key], "event payload")


def github_tag(env: Mapping[str, Any], *, upper: bool) -> str:
    """common.GetTag: the tag ref, or "" when the build ran on a branch."""
    ref_type = _string(env, _key("github_ref_type", upper))
    if ref_type == "branch":
        return ""
    if ref_type == "tag":
        return _string(env, _key("github_ref", upper))
    raise _err("ErrorInvalidDssePayload", f"unknown ref type {ref_type!r}")


def github_branch(env: Mapping[str, Any], *, upper: bool) -> str:
    """common.GetBranch: the branch ref, or the one a tag was pushed from."""
    ref_type = _string(env, _key("github_ref_type", upper))
    if ref_type == "branch":
        return _string(env, _key("github_ref", upper))
    if ref_type != "tag":
        raise _err("ErrorInvalidDssePayload", f"unknown ref type {ref_type!r}")
    base_ref = _string(env, _key("github_base_ref", upper))
    if base_ref:
        return base_ref
    event = _string(env, _key("github_event_name", upper))
    payload = _event_payload(env, upper)
    if event == "push":
        if "base_ref" not in payload:
            raise _err("ErrorInvalidDssePayload", "push event payload has no base_ref")
        value = payload["base_ref"]
        return value if isinstance(value, str) else ""
    if event == "release":
        release = _mapping(payload.get("release"), "release payload")
        return "refs/heads/" + _string(release, "target_commitish")
    return ""


@dataclass(frozen=True)
class ProvenanceFacts:
    source: str
    ref: str | None
    base_ref: str | None
    inputs: Mapping[str, Any]


def provenance_facts(statement: Statement) -> ProvenanceFacts:
    predicate = statement.predicate if isinstance(statement.predicate, dict) else {}
    if "invocation" in predicate:  # SLSA v0.2, slsa-github-generator
        invocation = predicate.get("invocation") or {}
        uri = str((invocation.get("configSource") or {}).get("uri", ""))
        env = invocation.get("environment") or {}
        payload = env.get("github_event_payload") or {}
        ref = env.get("github_ref") or (uri.partition("@")[2] or None)
        return ProvenanceFacts(
            source=uri.partition("@")[0].removeprefix("git+"),
            ref=ref,
            base_ref=payload.get("base_ref") if isinstance(payload, dict) else None,
            inputs=(payload.get("inputs") if isinstance(payload, dict) else None) or {},
        )
    definition = predicate.get("buildDefinition") or {}
    external = definition.get("externalParameters") or {}
    workflow = external.get("workflow") or {}
    source = external.get("source")
    if not workflow and isinstance(source, dict) and isinstance(source.get("uri"), str):
        # The container-based builder (v1.8+) keeps the source in externalParameters.source.
        uri, _, ref = str(source["uri"]).partition("@")
        return ProvenanceFacts(
            source=uri.removeprefix("git+"),
            ref=ref or None,
            base_ref=None,
            inputs=external.get("inputs") or {},
        )
    return ProvenanceFacts(
        source=str(workflow.get("repository", "")).removeprefix("git+"),
        ref=workflow.get("ref"),
        base_ref=None,
        inputs=external.get("inputs") or {},
    )


def versioned_tag_matches(expected: str, tag: str) -> bool:
    """slsa-verifier's versioned tags: `v13` and `v13.0` match `v13.0.30`; `v14.2.1` not `v14.2`.

    The components given in `expected` must equal the tag's; the tag's missing minor or
    patch count as 0.
    """
    try:
        verify_versioned_tag(tag, expected)
    except VerificationError:
        return False
    return True
