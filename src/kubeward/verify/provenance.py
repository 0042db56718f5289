"""SLSA provenance verification with slsa-verifier's semantics (`verify-provenance`).

The signature is verified offline like any other Sigstore material; then the statement must
name every artifact digest as a subject, the builder must be trusted (or the one asked
for), and the source repository, branch, tag, versioned tag and workflow inputs must match.
Errors carry slsa-verifier's error names as their `kind`.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from kubeward.verify._bundle import parse_bundle, parse_envelope
from kubeward.verify._core import certificate_identity, certificate_issuer, verify_evidence
from kubeward.verify._errors import InputError, VerificationError
from kubeward.verify._model import Evidence, IdentityPolicy
from kubeward.verify._statement import Statement, parse_statement
from kubeward.verify._trust import TrustedRoot

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
_GENERATOR = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"
DEFAULT_TRUSTED_BUILDERS: Mapping[str, frozenset[str]] = {
    "artifact": frozenset(
        _GENERATOR + name
        for name in (
            "generator_generic_slsa3.yml",
            "builder_go_slsa3.yml",
            "builder_container-based_slsa3.yml",
            "delegator_generic_slsa3.yml",
            "delegator_lowperms-generic_slsa3.yml",
        )
    ),
    "image": frozenset({_GENERATOR + "generator_container_slsa3.yml"}),
    "github_attestation": frozenset(),
}
_SEMVER_TAG = re.compile(r"^v(\d+)(?:\.(\d+))?(?:\.(\d+))?$")
_FULL_SEMVER = re.compile(r"^v\d+\.\d+\.\d+$")


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
        documents = [json.loads(stripped)]
    except ValueError:
        for line in stripped.splitlines():
            if line.strip():
                try:
                    documents.append(json.loads(line))
                except ValueError as exc:
                    raise InputError(f"provenance line is not JSON: {exc}") from exc
    evidence = []
    for doc in documents:
        if isinstance(doc, dict) and "mediaType" in doc:
            evidence.append(parse_bundle(json.dumps(doc)))
        elif isinstance(doc, dict) and "payloadType" in doc:
            envelope = parse_envelope(doc)
            evidence.append(Evidence(certificate=_cert_from_envelope(doc), envelope=envelope))
        else:
            raise InputError("provenance is neither a Sigstore bundle nor a DSSE envelope")
    if not evidence:
        raise InputError("provenance file is empty")
    return evidence


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


def check_statement(
    statement: Statement,
    certificate: x509.Certificate,
    *,
    digests: list[bytes],
    request: ProvenanceRequest,
) -> ProvenanceResult:
    """The provenance checks proper, after the signature has been verified."""
    for digest in digests:
        if not statement.has_sha256(digest):
            raise _err(
                "ErrorMismatchHash", f"sha256:{digest.hex()} is not a subject of the provenance"
            )
    builder = _check_builder(statement, certificate, request)
    facts = provenance_facts(statement)
    _check_source(facts, certificate, request)
    _check_inputs(facts, request)
    _check_refs(facts, request)
    return ProvenanceResult(
        builder_id=builder,
        source=facts.source,
        ref=facts.ref,
        predicate_type=statement.predicate_type,
    )


def _normalize_ref(ref: str) -> str:
    return ref.removeprefix("refs/tags/")


def _check_builder(
    statement: Statement, certificate: x509.Certificate, request: ProvenanceRequest
) -> str:
    identity = certificate_identity(certificate) or ""
    if certificate_issuer(certificate) != GITHUB_ISSUER:
        raise _err("ErrorInvalidBuilderID", "certificate was not issued for a GitHub workflow")
    name, _, ref = identity.partition("@")
    if request.builder_id is None:
        trusted = DEFAULT_TRUSTED_BUILDERS[request.kind.value]
        if name not in trusted:
            raise _err(
                "ErrorUntrustedReusableWorkflow",
                f"builder {identity} is not a trusted builder and no --builder-id was given",
            )
    else:
        want_name, _, want_ref = request.builder_id.partition("@")
        if want_name != name:
            raise _err(
                "ErrorUntrustedReusableWorkflow",
                f"builder {identity} is not the expected {request.builder_id or '(none)'}",
            )
        if want_ref and _normalize_ref(want_ref) != _normalize_ref(ref):
            raise _err(
                "ErrorUntrustedReusableWorkflow",
                f"builder ref {ref} is not the expected {want_ref}",
            )
    version = ref.removeprefix("refs/tags/")
    released = ref.startswith("refs/tags/") and _FULL_SEMVER.match(version) is not None
    if not released and not (request.testing and ref == "refs/heads/main"):
        raise _err(
            "ErrorInvalidRef", f"builder ref {ref!r} is not a release tag of the form vX.Y.Z"
        )
    claimed = _builder_from_predicate(statement)
    if claimed is not None and claimed != identity:
        raise _err(
            "ErrorInvalidBuilderID",
            f"provenance names builder {claimed} but the certificate was issued to {identity}",
        )
    return identity


def _builder_from_predicate(statement: Statement) -> str | None:
    predicate = statement.predicate if isinstance(statement.predicate, dict) else {}
    builder = predicate.get("builder") or (predicate.get("runDetails") or {}).get("builder")
    if isinstance(builder, dict) and isinstance(builder.get("id"), str):
        return str(builder["id"])
    return None


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
    return ProvenanceFacts(
        source=str(workflow.get("repository", "")).removeprefix("git+"),
        ref=workflow.get("ref"),
        base_ref=None,
        inputs=external.get("inputs") or {},
    )


def _check_source(
    facts: ProvenanceFacts, certificate: x509.Certificate, request: ProvenanceRequest
) -> None:
    expected = "https://" + request.source.removeprefix("https://").removeprefix("git+https://")
    if facts.source != expected:
        raise _err("ErrorMismatchSource", f"provenance source {facts.source!r} is not {expected!r}")


def _check_inputs(facts: ProvenanceFacts, request: ProvenanceRequest) -> None:
    for name, value in request.workflow_inputs.items():
        if name not in facts.inputs:
            raise _err("ErrorMismatchWorkflowInputs", f"workflow input {name!r} is absent")
        if str(facts.inputs[name]) != value:
            raise _err(
                "ErrorMismatchWorkflowInputs",
                f"workflow input {name!r} is {facts.inputs[name]!r}, expected {value!r}",
            )


def _check_refs(facts: ProvenanceFacts, request: ProvenanceRequest) -> None:
    ref = facts.ref or ""
    if request.branch is not None:
        if ref.startswith("refs/heads/"):
            branch = ref.removeprefix("refs/heads/")
        elif ref.startswith("refs/tags/") and facts.base_ref:
            branch = str(facts.base_ref).removeprefix("refs/heads/")
        else:
            raise _err("ErrorInvalidRef", f"the build ran on {ref or 'no ref'}, not on a branch")
        if branch != request.branch:
            raise _err("ErrorMismatchBranch", f"branch {branch!r} is not {request.branch!r}")
    if request.tag is None and request.versioned_tag is None:
        return
    if not ref.startswith("refs/tags/"):
        raise _err("ErrorInvalidRef", f"the build ran on {ref or 'no ref'}, not on a tag")
    tag = ref.removeprefix("refs/tags/")
    if request.tag is not None and tag != request.tag:
        raise _err("ErrorMismatchTag", f"tag {tag!r} is not {request.tag!r}")
    if request.versioned_tag is not None and not versioned_tag_matches(request.versioned_tag, tag):
        raise _err(
            "ErrorMismatchVersionedTag",
            f"tag {tag!r} does not match versioned tag {request.versioned_tag!r}",
        )


def versioned_tag_matches(expected: str, tag: str) -> bool:
    """slsa-verifier's versioned tags: `v13` and `v13.0` match `v13.0.30`; `v14.2.1` not `v14.2`.

    The components given in `expected` must equal the tag's; the tag's missing minor or
    patch count as 0.
    """
    want = _SEMVER_TAG.match(expected)
    have = _SEMVER_TAG.match(tag)
    if want is None or have is None:
        return False
    have_parts = [int(p) if p is not None else 0 for p in have.groups()]
    return all(int(w) == h for w, h in zip(want.groups(), have_parts, strict=True) if w is not None)
