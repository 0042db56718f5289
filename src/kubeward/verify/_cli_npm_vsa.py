"""`kubeward verify-npm-package` and `kubeward verify-vsa`, shaped like slsa-verifier's."""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

from kubeward.verify._errors import InputError, VerificationError

_SHA512 = re.compile(r"^sha512:[0-9a-fA-F]{128}$")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    npm = subparsers.add_parser(
        "verify-npm-package",
        help="verify an npm package's provenance and publish attestations, as slsa-verifier does",
        description="Verify the npm registry attestations of a package tarball (given as a file "
        "or sha512:<hex>). Exit 0 when verified.",
    )
    npm.add_argument("--attestations-path", type=Path, required=True, help="attestations JSON")
    npm.add_argument("--source-uri", required=True, help="expected source, e.g. github.com/o/r")
    npm.add_argument("--builder-id", help="expected builder (required, as in slsa-verifier)")
    npm.add_argument("--package-name", help="expected package name, e.g. @scope/name")
    npm.add_argument("--package-version", help="expected package version")
    npm.add_argument("--source-branch")
    npm.add_argument("--source-tag")
    npm.add_argument("--source-versioned-tag")
    npm.add_argument("--build-workflow-input", action="append", default=[], metavar="NAME=VALUE")
    npm.add_argument("--trusted-root", type=Path, help="trusted_root.json (default: production)")
    npm.add_argument(
        "--npm-registry-keys",
        type=Path,
        help="npm registry keys (Sigstore TUF target registry.npmjs.org/keys.json); default: "
        "the copy kubeward ships",
    )
    npm.add_argument("tarballs", nargs="+", help="package tarball files or sha512:<hex>")
    npm.set_defaults(func=run_npm)

    vsa = subparsers.add_parser(
        "verify-vsa",
        help="verify a SLSA Verification Summary Attestation, as slsa-verifier does",
        description="Verify a VSA (DSSE envelope) with a public key. Exit 0 when verified.",
    )
    vsa.add_argument("--attestation-path", type=Path, required=True, help="the VSA envelope")
    vsa.add_argument(
        "--subject-digest", action="append", default=[], help="<type>:<value> (repeatable)"
    )
    vsa.add_argument("--verifier-id", help="expected verifier ID")
    vsa.add_argument("--resource-uri", help="expected resource URI")
    vsa.add_argument(
        "--verified-level", action="append", default=[], help="expected level (repeatable)"
    )
    vsa.add_argument("--public-key-path", type=Path, required=True, help="PEM public key")
    vsa.add_argument("--public-key-id", default="", help="the key ID signatures must name")
    vsa.add_argument("--print-attestation", action="store_true", help="print the VSA statement")
    vsa.set_defaults(func=run_vsa)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from exc


def _tarball_sha512(text: str) -> bytes:
    """npm attestations record the tarball's SHA-512: a file, or sha512:<hex>."""
    path = Path(text)
    if _SHA512.match(text) and not path.exists():
        return bytes.fromhex(text.removeprefix("sha512:"))
    if text.startswith("sha256:") and not path.exists():
        raise InputError(
            f"{text}: npm attestations record the tarball's sha512; give the file or sha512:<hex>"
        )
    return hashlib.sha512(_read(path, "tarball")).digest()


def run_npm(args: argparse.Namespace) -> int:
    from kubeward.verify._cli_provenance import _inputs
    from kubeward.verify._slsa_npm import NpmRequest, load_registry_keys, verify_npm_package
    from kubeward.verify._trust import load_trusted_root

    builder = ""
    try:
        request = NpmRequest(
            source=args.source_uri,
            builder_id=args.builder_id,
            package_name=args.package_name,
            package_version=args.package_version,
            branch=args.source_branch,
            tag=args.source_tag,
            versioned_tag=args.source_versioned_tag,
            workflow_inputs=_inputs(args.build_workflow_input),
        )
        root = load_trusted_root(args.trusted_root)
        keys = load_registry_keys(args.npm_registry_keys)
        data = _read(args.attestations_path, "attestations")
        for tarball in args.tarballs:
            result = verify_npm_package(
                data,
                tarball_sha512=_tarball_sha512(tarball),
                request=request,
                root=root,
                registry_keys=keys,
            )
            builder = result.builder_id
    except VerificationError as exc:
        print(f"FAILED: {exc.kind}: {exc.reason}", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback for the user
        print(f"FAILED: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"PASSED: verified npm package attestations; builder ID: {builder}")
    return 0


def run_vsa(args: argparse.Namespace) -> int:
    import json

    from kubeward.verify._slsa_vsa import VsaRequest, load_public_key, verify_vsa

    try:
        key = load_public_key(_read(args.public_key_path, "public key"))
        statement = verify_vsa(
            _read(args.attestation_path, "VSA"),
            key=key,
            request=VsaRequest(
                subject_digests=args.subject_digest,
                verifier_id=args.verifier_id,
                resource_uri=args.resource_uri,
                verified_levels=args.verified_level,
                public_key_id=args.public_key_id,
            ),
        )
    except VerificationError as exc:
        print(f"FAILED: {exc.kind}: {exc.reason}", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback for the user
        print(f"FAILED: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.print_attestation:
        print(json.dumps(statement, sort_keys=True))
    print("PASSED: verified VSA")
    return 0
