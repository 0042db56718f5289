"""`kubeward gate --config gate.yaml`: serve the admission gate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "gate",
        help="serve the admission gate (ImagePolicyWebhook backend and admission webhooks)",
        description="Serve ImageReview (/imagereview) and AdmissionReview (/validate, /mutate) "
        "over TLS, enforcing the ClusterImagePolicy documents the configuration names.",
    )
    p.add_argument("--config", type=Path, required=True, help="gate.yaml")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--check",
        action="store_true",
        help="load the configuration, policies and trust material, then exit (0 when usable)",
    )
    p.set_defaults(func=run)


def _check_tls(cert_file: Path, key_file: Path) -> None:
    """Load the serving certificate once before serving, for a one-line error."""
    import ssl

    from kubeward.gate.config import ConfigError
    from kubeward.gate.server import CertificateReloader

    try:
        CertificateReloader(cert_file, key_file)
    except ssl.SSLError as exc:  # before OSError, its base class
        raise ConfigError(
            f"{cert_file} and {key_file} are not a PEM certificate and its key: {exc.reason}"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {exc.filename or cert_file}: {exc.strerror}") from exc


def run(args: argparse.Namespace) -> int:
    from kubeward.gate._verifier import load_verifier
    from kubeward.gate.config import ConfigError, load_config
    from kubeward.gate.model import GateError
    from kubeward.gate.server import serve

    try:
        config = load_config(args.config)
        if args.check:
            verifier = load_verifier(config)
            print(f"{args.config}: {len(verifier.policies)} policies, trust material loaded")
            return 0
        if config.cert_file is None or config.key_file is None:
            raise ConfigError(f"{args.config}: tls.certFile and tls.keyFile are required")
        _check_tls(config.cert_file, config.key_file)
        serve(config, args.config, workers=args.workers)
    except (ConfigError, GateError) as exc:
        print(f"kubeward gate: {exc.reason}", file=sys.stderr)
        return 2
    return 0
