"""`kubeward verify IMAGE...`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kubeward.verify._errors import InputError, VerificationError

if TYPE_CHECKING:
    from kubeward.verify.image import ImageResult
    from kubeward.verify.policy import (
        ImagePolicy,
    )
    from kubeward.verify.registry import RegistryClient


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "verify",
        help="verify images' signatures and attestations in their registries",
        description="Resolve each image to its digest and verify its cosign evidence against a "
        "policy: --key or --certificate-identity/--certificate-oidc-issuer, or --policy FILE "
        "with ClusterImagePolicy documents. Exit 0 when every image passes.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE")
    add_policy_arguments(p)
    p.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    p.set_defaults(func=run)


def add_policy_arguments(p: argparse._ActionsContainer) -> None:
    """The policy, trust and registry options `verify` and `scan --verify-images` share."""
    p.add_argument("--key", type=Path, help="PEM public key (ECDSA, RSA or Ed25519)")
    p.add_argument("--certificate-identity")
    p.add_argument("--certificate-identity-regexp")
    p.add_argument("--certificate-oidc-issuer")
    p.add_argument("--certificate-oidc-issuer-regexp")
    p.add_argument(
        "--attestation",
        action="append",
        default=[],
        metavar="TYPE",
        help="require an attestation: slsaprovenance, slsaprovenance1, cyclonedx, spdx, vuln, "
        "custom or a predicate-type URI (repeatable)",
    )
    p.add_argument("--slsa-builder-id", help="SLSA provenance must name this builder")
    p.add_argument("--slsa-source-repo", help="SLSA provenance source, e.g. github.com/o/r")
    p.add_argument("--slsa-ref", help="SLSA provenance ref, e.g. refs/tags/v1.2.3")
    p.add_argument("--policy", type=Path, help="YAML with ClusterImagePolicy documents")
    p.add_argument("--trusted-root", type=Path, help="trusted_root.json (default: production)")
    p.add_argument("--registry-ca", type=Path, help="CA bundle for registry TLS")
    p.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="reach this loopback registry over plain HTTP",
    )
    p.add_argument("--registry-timeout", type=float, default=10.0, help="seconds per request")


def policies_from_args(args: argparse.Namespace) -> list[ImagePolicy]:
    """The image policies the options describe; raises `InputError` when they do not."""
    from kubeward.verify.cli import signer_policy_from_args
    from kubeward.verify.policy import (
        AttestationRequirement,
        SlsaConditions,
        command_line_policy,
        load_policy_file,
        predicate_type_uri,
    )

    if args.policy is not None:
        if args.key or args.certificate_identity or args.certificate_identity_regexp:
            raise InputError("give either --policy or --key/--certificate-identity, not both")
        return load_policy_file(args.policy)
    conditions = SlsaConditions(
        builder_id=args.slsa_builder_id, source_repository=args.slsa_source_repo, ref=args.slsa_ref
    )
    requirements = []
    for name in args.attestation:
        uri = predicate_type_uri(name)
        is_slsa = uri.startswith("https://slsa.dev/provenance/")
        if conditions and not is_slsa and len(args.attestation) == 1:
            raise InputError("--slsa-* conditions need an SLSA provenance --attestation")
        requirements.append(
            AttestationRequirement(
                name=name, predicate_type=uri, slsa=conditions if is_slsa else SlsaConditions()
            )
        )
    return [command_line_policy(signer_policy_from_args(args), requirements)]


def render_text(results: list[ImageResult]) -> str:
    lines = []
    for result in results:
        head = f"{result.verdict.value.upper():5} {result.image}"
        if result.digest:
            head += f" ({result.digest})"
        lines.append(head)
        for item in result.verified:
            what = item.predicate_type or "signature"
            by = item.signer + (f" [{item.issuer}]" if item.issuer else "")
            lines.append(f"      verified {item.kind} {what} by {by} from {item.where}")
        for sbom in result.sboms:
            state = f"signed by {sbom.signed_by}" if sbom.signed_by else "not signed"
            if sbom.problems:
                state = "signature not verified: " + "; ".join(sbom.problems)
            lines.append(
                f"      attached sbom {sbom.media_type} ({sbom.size} bytes) from {sbom.where}, "
                f"{state}"
            )
        lines += [f"      - {reason}" for reason in result.reasons]
    return "\n".join(lines)


def render_json(results: list[ImageResult]) -> str:
    return json.dumps(
        {"version": 1, "tool": "kubeward verify", "results": [r.to_json() for r in results]},
        indent=2,
    )


def client_from_args(args: argparse.Namespace) -> RegistryClient:
    from kubeward.verify.registry import RegistryClient, RegistryOptions

    return RegistryClient(
        RegistryOptions(
            ca_file=args.registry_ca,
            insecure=frozenset(args.insecure_registry),
            timeout=args.registry_timeout,
        )
    )


_SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_SARIF_LEVEL = {"pass": "none", "fail": "error"}  # by Verdict value


def render_sarif(results: list[ImageResult]) -> str:
    """SARIF 2.1.0: one result per image checked (kind pass or fail) at a logical location
    naming the image; images that could not be checked are tool execution notifications."""
    from kubeward import __version__
    from kubeward.registry import RULES
    from kubeward.verify.image import Verdict
    from kubeward.verify.rules import NETWORK_RULES  # noqa: F401  (registers the rule)

    rule = RULES["image-signature-unverified"]
    descriptor = {
        "id": rule.id,
        "name": "".join(w.capitalize() for w in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.summary or rule.title},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "tags": ["security", "supply-chain", f"layer-{int(rule.layer)}"],
            "security-severity": rule.severity.security_severity,
        },
    }
    sarif_results = []
    notifications = []
    for result in results:
        location = {"logicalLocations": [{"fullyQualifiedName": result.image, "kind": "image"}]}
        if result.verdict is Verdict.ERROR:
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": f"{result.image}: {'; '.join(result.reasons)}"},
                    "locations": [location],
                }
            )
            continue
        passed = result.verdict is Verdict.PASS
        summary = "verified" if passed else "is not verified"
        text = f"{result.image} ({result.digest}) {summary}"
        if result.reasons:
            text += ": " + "; ".join(result.reasons)
        sarif_results.append(
            {
                "ruleId": rule.id,
                "ruleIndex": 0,
                "kind": "pass" if passed else "fail",
                "level": _SARIF_LEVEL[result.verdict.value],
                "message": {"text": text},
                "locations": [location],
                "properties": result.to_json(),
            }
        )
    doc = {
        "$schema": _SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kubeward",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/kubeward/kubeward",
                        "rules": [descriptor],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not notifications,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(doc, indent=2)


def run(args: argparse.Namespace) -> int:
    from kubeward.verify._trust import load_trusted_root
    from kubeward.verify.image import Verdict, verify_images

    try:
        policies = policies_from_args(args)
        root = load_trusted_root(args.trusted_root)
        client = client_from_args(args)
        results = verify_images(args.images, policies=policies, client=client, root=root)
    except VerificationError as exc:
        print(f"kubeward verify: {exc.reason}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback for the user
        print(f"kubeward verify: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    renderers = {"json": render_json, "sarif": render_sarif, "text": render_text}
    print(renderers[args.format](results))
    return 0 if all(r.verdict is Verdict.PASS for r in results) else 1
