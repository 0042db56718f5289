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
    p.add_argument("--image", help="verify the SLSA attestation attached to this image instead")
    p.add_argument("--registry-ca", type=Path, help="CA bundle for registry TLS")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST:PORT")
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
        RegistryOptions(ca_file=args.registry_ca, insecure=frozenset(args.insecure_registry))
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
        root = load_trusted_root(args.trusted_root)
        if args.image is not None:
            if args.provenance_path is not None or args.artifacts:
                raise InputError("--image takes neither --provenance-path nor artifacts")
            if args.kind == ArtifactKind.ARTIFACT.value:
                request = replace(request, kind=ArtifactKind.IMAGE)
            results = [_verify_image(args, request, root)]
        else:
            if args.provenance_path is None or not args.artifacts:
                raise InputError("give --provenance-path and artifacts, or --image")
            digests = [artifact_from_input(a).sha256 for a in args.artifacts]
            try:
                text = args.provenance_path.read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read {args.provenance_path}: {exc.strerror}") from exc
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
