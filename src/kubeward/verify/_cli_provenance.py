"""`kubeward verify-provenance`: slsa-verifier's checks for an artifact (file or digest)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kubeward.verify._errors import InputError, VerificationError

if TYPE_CHECKING:
    from kubeward.verify._trust import TrustedRoot
    from kubeward.verify.provenance import (
        ProvenanceRequest,
        ProvenanceResult,
    )


ARTIFACT_KINDS = ("artifact", "image", "github_attestation")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:

    p = subparsers.add_parser(
        "verify-provenance",
        help="verify SLSA provenance for artifacts, as slsa-verifier does",
        description="Verify SLSA provenance (Sigstore bundle or DSSE envelope) for one or more "
        "artifacts given as files or sha256:<hex>. Exit 0 when verified.",
    )
    p.add_argument("--provenance-path", type=Path, help="provenance file (artifacts)")
    p.add_argument(
        "--image",
        help="verify provenance for this image: the attestation attached to it, or the one "
        "given with --provenance-path (slsa-verifier verify-image; Google Cloud Build images)",
    )
    p.add_argument("--registry-ca", type=Path, help="CA bundle for registry TLS")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST:PORT")
    p.add_argument(
        "--registry-config",
        type=Path,
        metavar="FILE",
        help="Docker config.json (or its directory) with registry logins and credential helpers",
    )
    p.add_argument("--source-uri", required=True, help="expected source, e.g. github.com/o/r")
    p.add_argument("--builder-id", help="expected builder (name[@vX.Y.Z]); default: trusted list")
    p.add_argument("--source-branch")
    p.add_argument("--source-tag")
    p.add_argument("--source-versioned-tag")
    p.add_argument(
        "--build-workflow-input",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="expected workflow_dispatch input (repeatable)",
    )
    p.add_argument(
        "--kind",
        # kubeward.verify.provenance.ArtifactKind's values, spelled out so that building the
        # parser does not import the verification engine.
        choices=list(ARTIFACT_KINDS),
        default="artifact",
        help="what was built (selects the default trusted builders)",
    )
    p.add_argument("--trusted-root", type=Path, help="trusted_root.json (default: production)")
    p.add_argument(
        "--testing",
        action="store_true",
        help="slsa-verifier testing mode: accept builders at refs/heads/main",
    )
    p.add_argument("artifacts", nargs="*", help="artifact files or sha256:<hex>")
    p.set_defaults(func=run)

    from kubeward.verify import _cli_npm_vsa

    _cli_npm_vsa.register(subparsers)


def _inputs(pairs: list[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise InputError(f"--build-workflow-input {pair!r} is not NAME=VALUE")
        result[name] = value
    return result


def _verify_image(
    args: argparse.Namespace, request: ProvenanceRequest, root: TrustedRoot
) -> ProvenanceResult:
    from kubeward.verify._cosign import legacy_attestations, referrer_bundles
    from kubeward.verify.provenance import verify_provenance
    from kubeward.verify.registry import RegistryClient, RegistryOptions, parse_image_ref

    client = RegistryClient(
        RegistryOptions(
            ca_file=args.registry_ca,
            insecure=frozenset(args.insecure_registry),
            docker_config=args.registry_config,
        )
    )
    ref = parse_image_ref(args.image)
    manifest = client.get_manifest(ref)
    if manifest is None:
        raise InputError(f"{args.image}: manifest not found")
    digest = bytes.fromhex(manifest.digest.removeprefix("sha256:"))
    found = legacy_attestations(client, ref, manifest.digest) + referrer_bundles(
        client, ref, manifest.digest
    )
    errors: list[VerificationError] = []
    for item in found:
        if item.evidence is None:
            errors.append(InputError(f"{item.where}: {item.problem}"))
            continue
        try:
            return verify_provenance(item.evidence, digests=[digest], request=request, root=root)
        except VerificationError as exc:
            errors.append(exc)
    if not errors:
        raise VerificationError(f"{args.image}: no attestation found", kind="ErrorNoValidSignature")
    # Prefer the error of an attestation whose signature verified: it says what is wrong.
    errors.sort(key=lambda e: e.kind in ("ErrorInvalidSignature", "invalid-input"))
    raise errors[0]


def _verifier_for(builder_id: str | None) -> str:
    """getVerifier (slsa-verifier verifiers/verifier.go): GHA unless the builder ID says."""
    from kubeward.verify._slsa_builders import BuilderID
    from kubeward.verify._slsa_gcb import GCB_BUILDER

    if not builder_id:
        return "gha"
    name = BuilderID.parse(builder_id, need_version=False).name
    if name.startswith("https://github.com/"):
        return "gha"
    if name == GCB_BUILDER:
        return "gcb"
    raise VerificationError(
        f"no verifier for builder {builder_id!r} (GitHub workflows and {GCB_BUILDER})",
        kind="ErrorVerifierNotSupported",
    )


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from exc


def _verify_image_file(
    args: argparse.Namespace, request: ProvenanceRequest, verifier: str
) -> ProvenanceResult:
    """`verify-image IMAGE --provenance-path FILE`: the provenance comes from the file."""
    from kubeward.verify.provenance import ProvenanceResult

    digest = _image_digest(args)
    data = _read(args.provenance_path, "provenance")
    if verifier == "gcb":
        from kubeward.verify._slsa_gcb import verify_gcb_provenance

        result = verify_gcb_provenance(
            data,
            digest=digest.hex(),
            source=request.source,
            builder_id=request.builder_id,
            branch=request.branch,
            tag=request.tag,
            versioned_tag=request.versioned_tag,
        )
        return ProvenanceResult(
            builder_id=result.builder_id,
            source=request.source,
            ref=None,
            predicate_type=str(result.statement.get("predicateType")),
        )
    from kubeward.verify._trust import load_trusted_root
    from kubeward.verify.provenance import load_provenance, verify_provenance

    root = load_trusted_root(args.trusted_root)
    errors: list[VerificationError] = []
    for evidence in load_provenance(data):
        try:
            return verify_provenance(evidence, digests=[digest], request=request, root=root)
        except VerificationError as exc:
            errors.append(exc)
    raise errors[0]


def _image_digest(args: argparse.Namespace) -> bytes:
    from kubeward.verify.registry import RegistryClient, RegistryOptions, parse_image_ref

    ref = parse_image_ref(args.image)
    if ref.digest is None:
        client = RegistryClient(
            RegistryOptions(
                ca_file=args.registry_ca,
                insecure=frozenset(args.insecure_registry),
                docker_config=args.registry_config,
            )
        )
        manifest = client.get_manifest(ref)
        if manifest is None:
            raise InputError(f"{args.image}: manifest not found")
        return bytes.fromhex(manifest.digest.removeprefix("sha256:"))
    return bytes.fromhex(ref.digest.removeprefix("sha256:"))


def run(args: argparse.Namespace) -> int:
    from kubeward.verify._trust import load_trusted_root
    from kubeward.verify.bundle import artifact_from_input
    from kubeward.verify.provenance import (
        ArtifactKind,
        ProvenanceRequest,
        load_provenance,
        verify_provenance,
    )

    try:
        request = ProvenanceRequest(
            source=args.source_uri,
            kind=ArtifactKind(args.kind),
            builder_id=args.builder_id,
            branch=args.source_branch,
            tag=args.source_tag,
            versioned_tag=args.source_versioned_tag,
            workflow_inputs=_inputs(args.build_workflow_input),
            testing=args.testing,
        )
        verifier = _verifier_for(args.builder_id)
        if args.image is not None:
            if args.artifacts:
                raise InputError("--image takes no artifacts")
            if args.kind == ArtifactKind.ARTIFACT.value:
                request = replace(request, kind=ArtifactKind.IMAGE)
            if args.provenance_path is not None:
                results = [_verify_image_file(args, request, verifier)]
            elif verifier == "gcb":
                raise InputError(
                    "Cloud Build provenance is read from --provenance-path (the output of "
                    "`gcloud artifacts docker images describe IMAGE --show-provenance "
                    "--format=json`)"
                )
            else:
                results = [_verify_image(args, request, load_trusted_root(args.trusted_root))]
        else:
            if verifier == "gcb":
                raise VerificationError(
                    "Cloud Build provenance is verified for images only (--image)",
                    kind="ErrorNotSupported",
                )
            if args.provenance_path is None or not args.artifacts:
                raise InputError("give --provenance-path and artifacts, or --image")
            root = load_trusted_root(args.trusted_root)
            digests = [artifact_from_input(a).sha256 for a in args.artifacts]
            text = _read(args.provenance_path, "provenance")
            results = [
                verify_provenance(ev, digests=digests, request=request, root=root)
                for ev in load_provenance(text)
            ]
    except VerificationError as exc:
        print(f"FAILED: {exc.kind}: {exc.reason}", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback for the user
        print(f"FAILED: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for result in results:
        print(f"PASSED: verified SLSA provenance; builder ID: {result.builder_id}")
    return 0
