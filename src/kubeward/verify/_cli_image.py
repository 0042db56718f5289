"""`kubeward verify IMAGE...` and the `--verify-images` options of `kubeward scan`.

The CLI edge: arguments become typed inputs here (`PolicySet`, `Trust`, `RegistryOptions`,
the scan's `VerifyImagesStage`), and nothing below this module sees `argparse`.
"""

from __future__ import annotations

import argparse
import enum
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

from kubeward.verify._errors import InputError, VerificationError

if TYPE_CHECKING:
    from kubeward.verify._inputs import PolicySet, Trust
    from kubeward.verify.image import ImageVerdict, VerificationReport
    from kubeward.verify.registry import RegistryOptions
    from kubeward.verify.scan_hook import VerifyImagesStage

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_UNCHECKED = 0, 1, 2, 3, 4
"""`kubeward verify` exit codes: 0 every image passed; 1 at least one image was checked and
failed; 4 none failed but at least one could not be checked (registry unreachable or refusing,
deadline passed, malformed registry answers: an ERROR verdict, where retrying may help);
2 usage; 3 internal error. A FAIL outranks an ERROR: a known failure is the answer to act on."""

# Options of `add_policy_arguments` that only mean something with `scan --verify-images`.
_SCAN_OPTION_DESTS = (
    "key",
    "certificate_identity",
    "certificate_identity_regexp",
    "certificate_oidc_issuer",
    "certificate_oidc_issuer_regexp",
    "policy",
    "trusted_root",
    "registry_ca",
    "slsa_builder_id",
    "slsa_source_repo",
    "slsa_ref",
    "attestation",
    "insecure_registry",
    "registry_config",
)


class OutputFormat(enum.Enum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


class VerifyImagesUsageError(ValueError):
    """The verification options are wrong (no policy, unreadable key...): a usage error."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "verify",
        help="verify images' signatures and attestations in their registries",
        description="Resolve each image to its digest and verify its cosign evidence against a "
        "policy: --key or --certificate-identity/--certificate-oidc-issuer, or --policy FILE "
        "with ClusterImagePolicy documents. Exit 0 when every image passes, 1 when one was "
        "checked and failed, 4 when none failed but one could not be checked (registry "
        "unreachable, deadline, malformed answers), 2 for usage errors.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE")
    add_policy_arguments(p)
    p.add_argument(
        "-f",
        "--format",
        action="append",
        default=[],
        metavar="FORMAT[=FILE]",
        help="text, json or sarif; repeat for several; FORMAT=FILE writes a file",
    )
    p.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="FILE",
        help="file for the next --format given without =FILE ('-' is stdout)",
    )
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
        "--type",
        dest="attestation",
        action="append",
        default=[],
        metavar="TYPE",
        help="require an attestation: slsaprovenance, slsaprovenance1, cyclonedx, spdx, vuln, "
        "custom or a predicate-type URI (repeatable; --type as in cosign verify-attestation)",
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
    p.add_argument(
        "--registry-config",
        type=Path,
        metavar="FILE",
        help="Docker config.json (or its directory) with registry logins and credential "
        "helpers (default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json)",
    )


def add_scan_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--verify-images` and the options of `kubeward verify` to the `scan` subparser."""
    group = parser.add_argument_group(
        "image verification",
        "With --verify-images, resolve every image the scanned files reference in its registry "
        "and verify its cosign signatures and attestations against the policy these options "
        "give (as `kubeward verify` does). Needs the network.",
    )
    group.add_argument(
        "--verify-images",
        action="store_true",
        help="verify referenced images in their registries; report unsigned, policy-failing "
        "and tag-drifted images as findings",
    )
    add_policy_arguments(group)


# --- arguments into typed inputs --------------------------------------------------------------


@dataclass(frozen=True)
class VerifyInputs:
    """What the policy, trust and registry options say."""

    policy: PolicySet
    trust: Trust
    registry: RegistryOptions


def policy_from_args(args: argparse.Namespace) -> PolicySet:
    """The policy set the options describe; raises `InputError` when they do not."""
    from kubeward.verify._inputs import PolicySet
    from kubeward.verify.cli import signer_policy_from_args
    from kubeward.verify.policy import AttestationRequirement, SlsaConditions, predicate_type_uri

    if args.policy is not None:
        if args.key or args.certificate_identity or args.certificate_identity_regexp:
            raise InputError("give either --policy or --key/--certificate-identity, not both")
        return PolicySet.from_file(args.policy)
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
    return PolicySet.for_signer(signer_policy_from_args(args), attestations=requirements)


def inputs_from_args(args: argparse.Namespace) -> VerifyInputs:
    """Policy, trust material and registry options; raises `VerificationError` (usage)."""
    from kubeward.verify._inputs import Trust
    from kubeward.verify.registry import RegistryClient, RegistryOptions

    policy = policy_from_args(args)
    trust = Trust.production() if args.trusted_root is None else Trust.from_file(args.trusted_root)
    registry = RegistryOptions(
        ca_file=args.registry_ca,
        insecure=frozenset(args.insecure_registry),
        timeout=args.registry_timeout,
        docker_config=args.registry_config,
    )
    RegistryClient(registry)  # refuses plain HTTP to a registry that is not loopback
    if args.registry_config is not None:
        from kubeward.verify._docker_config import CredentialError, DockerConfig

        try:  # a named file that is missing or not JSON is a usage error, found up front
            DockerConfig.load(args.registry_config)
        except CredentialError as exc:
            raise InputError(f"--registry-config: {exc.reason}") from exc
    return VerifyInputs(policy, trust, registry)


def scan_stage_from_args(args: argparse.Namespace) -> VerifyImagesStage | None:
    """The verification stage `scan --verify-images` asks for, or None without the flag.

    Raises `VerifyImagesUsageError` (before anything is scanned) for options that cannot work.
    """
    if not getattr(args, "verify_images", False):
        given = [d for d in _SCAN_OPTION_DESTS if getattr(args, d, None)]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise VerifyImagesUsageError(f"{flag} only applies with --verify-images")
        return None
    from kubeward.verify.registry import RegistryClient
    from kubeward.verify.scan_hook import VerifyImagesStage

    try:
        inputs = inputs_from_args(args)
    except VerificationError as exc:
        raise VerifyImagesUsageError(f"--verify-images: {exc.reason}") from exc
    return VerifyImagesStage(
        policy=inputs.policy, trust=inputs.trust, client=RegistryClient(inputs.registry)
    )


# --- the command ----------------------------------------------------------------------------


def render(report: VerificationReport, fmt: OutputFormat) -> str:
    if fmt is OutputFormat.TEXT:
        from kubeward.report import verify_text

        return verify_text.render(report)
    if fmt is OutputFormat.JSON:
        from kubeward.report import verify_json

        return verify_json.render(report)
    if fmt is OutputFormat.SARIF:
        from kubeward.report import verify_sarif

        return verify_sarif.render(report)
    assert_never(fmt)


def outputs_from_args(formats: list[str], outputs: list[str]) -> list[tuple[OutputFormat, str]]:
    """(format, target) pairs as `scan` reads them: `-f FORMAT=FILE`, or `-f FORMAT` taking
    the next `-o FILE` (stdout `-` without one). Raises `InputError` for an unknown format,
    a `-o` left over, or two formats on stdout."""
    names = ", ".join(f.value for f in OutputFormat)
    left = list(outputs)
    pairs = []
    for spec in formats or ["text"]:
        name, _, path = spec.partition("=")
        try:
            fmt = OutputFormat(name.strip().lower())
        except ValueError:
            raise InputError(f"unknown format {name!r} ({names})") from None
        pairs.append((fmt, path or (left.pop(0) if left else "-")))
    if left:
        raise InputError("more --output than --format options without a file")
    if sum(target == "-" for _, target in pairs) > 1:
        raise InputError("several formats to stdout: give all but one a file (FORMAT=FILE)")
    return pairs


def _check_images(images: list[str]) -> None:
    """An argument that is not an image reference is a usage error, not an unchecked image."""
    from kubeward.model.image import parse_image

    for text in images:
        parsed = parse_image(text)
        if parsed.error is not None or parsed.templated:
            reason = parsed.error or "a template"
            raise InputError(f"{text!r} is not a valid image reference: {reason}")


def exit_code(verdicts: tuple[ImageVerdict, ...]) -> int:
    """See `EXIT_UNCHECKED`."""
    from kubeward.verify.image import Verdict

    if any(v.verdict is Verdict.FAIL for v in verdicts):
        return EXIT_FAILED
    if any(v.verdict is Verdict.ERROR for v in verdicts):
        return EXIT_UNCHECKED
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    from kubeward import __version__
    from kubeward.verify.image import VerificationReport, verify_image
    from kubeward.verify.registry import RegistryClient

    try:
        outputs = outputs_from_args(args.format, args.output)
        _check_images(args.images)
        inputs = inputs_from_args(args)
        client = RegistryClient(inputs.registry)
    except VerificationError as exc:
        print(f"kubeward verify: {exc.reason}", file=sys.stderr)
        return EXIT_USAGE
    try:
        verdicts = tuple(
            verify_image(image, inputs.policy, client=client, trust=inputs.trust)
            for image in args.images
        )
    except Exception as exc:  # a bug of ours (verify_image turns failures into verdicts)
        print(
            f"kubeward verify: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in kubeward; please report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    report = VerificationReport(
        verdicts=verdicts,
        version=__version__,
        policy_source=inputs.policy.source,
        policy_digest=inputs.policy.digest,
        trust_source=inputs.trust.source,
        trust_digest=inputs.trust.digest,
    )
    for fmt, target in outputs:
        text = render(report, fmt)
        if target == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
            continue
        try:
            Path(target).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"kubeward verify: cannot write {target}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
    return exit_code(verdicts)
