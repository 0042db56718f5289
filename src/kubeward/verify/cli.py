"""CLI wiring for `verify`, `verify-bundle` and `verify-provenance`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kubeward.verify._errors import InputError, VerificationError

if TYPE_CHECKING:
    from kubeward.verify._model import SignerPolicy


ENGINES = ("auto", "sigstore", "own")
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the verification subcommands to the top-level parser."""
    _register_verify_bundle(subparsers)
    from kubeward.verify import _cli_image, _cli_provenance

    _cli_provenance.register(subparsers)
    _cli_image.register(subparsers)


def _register_verify_bundle(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    p = subparsers.add_parser(
        "verify-bundle",
        help="verify a Sigstore bundle (Sigstore conformance client protocol)",
        description="Verify a Sigstore bundle for a file or a sha256:<hex> digest. "
        "Exit 0 when verified.",
    )
    p.add_argument("--bundle", required=True, type=Path, help="the .sigstore.json bundle")
    p.add_argument("--certificate-identity", help="expected certificate SAN (exact)")
    p.add_argument("--certificate-identity-regexp", help="expected SAN as a regular expression")
    p.add_argument("--certificate-oidc-issuer", help="expected OIDC issuer (exact)")
    p.add_argument("--certificate-oidc-issuer-regexp", help="expected issuer as a regexp")
    p.add_argument("--key", type=Path, help="PEM public key, for key-based bundles")
    p.add_argument(
        "--trusted-root",
        type=Path,
        help="trusted_root.json (default: the production root shipped with sigstore, offline)",
    )
    p.add_argument(
        "--engine",
        # The values of kubeward.verify.bundle.Engine, spelled out so that building the
        # parser does not import the verification engine (and cryptography, sigstore).
        choices=list(ENGINES),
        default="auto",
        help="auto: sigstore-python where it supports the bundle, else kubeward's own engine",
    )
    p.add_argument("artifact", help="file path, or sha256:<hex>")
    p.set_defaults(func=_run_verify_bundle)


def signer_policy_from_args(args: argparse.Namespace) -> SignerPolicy:
    """`--key` or identity/issuer flags; raises InputError when neither or both are given."""
    from kubeward.verify._crypto import load_public_key_pem
    from kubeward.verify._model import IdentityPolicy, KeyPolicy

    key_path: Path | None = getattr(args, "key", None)
    has_identity = bool(
        getattr(args, "certificate_identity", None)
        or getattr(args, "certificate_identity_regexp", None)
    )
    if key_path is not None:
        if has_identity:
            raise InputError("give either --key or --certificate-identity, not both")
        try:
            data = key_path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read key {key_path}: {exc.strerror}") from exc
        return KeyPolicy(
            keys=(load_public_key_pem(data, source=str(key_path)),), name=str(key_path)
        )
    if not has_identity:
        raise InputError(
            "no signer policy: give --key FILE, or --certificate-identity[-regexp] with "
            "--certificate-oidc-issuer[-regexp]"
        )
    issuer = getattr(args, "certificate_oidc_issuer", None)
    issuer_regexp = getattr(args, "certificate_oidc_issuer_regexp", None)
    if not issuer and not issuer_regexp:
        raise InputError("--certificate-oidc-issuer (or -regexp) is required with an identity")
    identity_regexp = getattr(args, "certificate_identity_regexp", None)
    _check_regexp("--certificate-identity-regexp", identity_regexp)
    _check_regexp("--certificate-oidc-issuer-regexp", issuer_regexp)
    return IdentityPolicy(
        identity=args.certificate_identity,
        identity_regexp=identity_regexp,
        issuer=issuer,
        issuer_regexp=issuer_regexp,
    )


def _check_regexp(flag: str, pattern: str | None) -> None:
    """A pattern Go's RE2 rejects is a usage error, as in cosign, not a silent non-match."""
    from kubeward.policy.identity import InvalidRegexp, compile_regexp

    if pattern is None:
        return
    try:
        compile_regexp(pattern)
    except InvalidRegexp as exc:
        raise InputError(f"{flag}: {exc}") from exc


def _run_verify_bundle(args: argparse.Namespace) -> int:
    from kubeward.verify.bundle import Engine, artifact_from_input, verify_bundle

    try:
        _check_regexp("--certificate-identity-regexp", args.certificate_identity_regexp)
        _check_regexp("--certificate-oidc-issuer-regexp", args.certificate_oidc_issuer_regexp)
    except InputError as exc:
        print(f"kubeward verify-bundle: {exc.reason}", file=sys.stderr)
        return EXIT_USAGE
    try:
        policy = signer_policy_from_args(args)
        artifact = artifact_from_input(args.artifact)
        try:
            bundle_json = args.bundle.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read bundle {args.bundle}: {exc.strerror}") from exc
        verdict = verify_bundle(
            bundle_json=bundle_json,
            artifact=artifact,
            policy=policy,
            trusted_root=args.trusted_root,
            engine=Engine(args.engine),
        )
    except VerificationError as exc:
        print(f"verification FAILED: {exc.reason}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # never a traceback for the user
        print(
            f"verification FAILED: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return EXIT_FAILED
    sig = verdict.signature
    print(f"OK: verified signature by {sig.signer} ({verdict.engine.value} engine)")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (`python -m kubeward.verify.cli`), for tests and debugging."""
    parser = argparse.ArgumentParser(prog="kubeward")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
