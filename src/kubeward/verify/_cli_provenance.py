"""`kubeward verify-provenance`: slsa-verifier's checks for an artifact (file or digest)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kubeward.verify._errors import InputError, VerificationError
from kubeward.verify._trust import load_trusted_root
from kubeward.verify.bundle import artifact_from_input
from kubeward.verify.provenance import (
    ArtifactKind,
    ProvenanceRequest,
    load_provenance,
    verify_provenance,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "verify-provenance",
        help="verify SLSA provenance for artifacts, as slsa-verifier does",
        description="Verify SLSA provenance (Sigstore bundle or DSSE envelope) for one or more "
        "artifacts given as files or sha256:<hex>. Exit 0 when verified.",
    )
    p.add_argument("--provenance-path", required=True, type=Path)
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
        choices=[k.value for k in ArtifactKind],
        default=ArtifactKind.ARTIFACT.value,
        help="what was built (selects the default trusted builders)",
    )
    p.add_argument("--trusted-root", type=Path, help="trusted_root.json (default: production)")
    p.add_argument(
        "--testing",
        action="store_true",
        help="slsa-verifier testing mode: accept builders at refs/heads/main",
    )
    p.add_argument("artifacts", nargs="+", help="artifact files or sha256:<hex>")
    p.set_defaults(func=run)


def _inputs(pairs: list[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise InputError(f"--build-workflow-input {pair!r} is not NAME=VALUE")
        result[name] = value
    return result


def run(args: argparse.Namespace) -> int:
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
        digests = [artifact_from_input(a).sha256 for a in args.artifacts]
        try:
            text = args.provenance_path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {args.provenance_path}: {exc.strerror}") from exc
        root = load_trusted_root(args.trusted_root)
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
