"""`kubeward fix`: show (or, with --write, make) the edits that pin images and actions."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from kubeward.fix import _edits
from kubeward.fix._errors import FixError
from kubeward.report._escape import visible

if TYPE_CHECKING:
    from kubeward.fix.plan import Pin, Resolver

EXIT_OK, EXIT_UNFIXED, EXIT_USAGE = 0, 1, 2
_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "fix",
        help="pin images to tag@digest and actions to commit SHAs (a diff; --write applies)",
        description="Pin each image a scan finds by tag to tag@digest (asking its registry) and "
        "each action ref to the commit SHA an --actions-lock file maps it to, with the ref as "
        "a comment. Prints a unified diff; --write edits the files. Only the pinned spans "
        "change. Actions are pinned offline only: no forge API is asked.",
    )
    p.add_argument("paths", nargs="*", type=Path, default=[Path(".")])
    p.add_argument("--write", action="store_true", help="edit the files instead of a diff")
    p.add_argument(
        "--platform",
        metavar="OS/ARCH[/VARIANT]",
        help="pin an image index's manifest for this platform (default: the index digest)",
    )
    p.add_argument(
        "--actions-lock",
        type=Path,
        metavar="FILE",
        help="YAML/JSON map of owner/repo@ref to a 40-hex SHA (or {sha:, version: vX.Y.Z}); "
        "without it, actions are not pinned",
    )
    p.add_argument("--no-images", action="store_true", help="do not pin images")
    p.add_argument(
        "--sarif",
        type=Path,
        metavar="FILE",
        help="also write the findings with their fixes as SARIF 2.1.0 (result.fixes)",
    )
    p.add_argument("--registry-ca", type=Path, help="CA bundle for registry TLS")
    p.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="reach this loopback registry over plain HTTP",
    )
    p.add_argument(
        "--registry-config",
        type=Path,
        metavar="FILE",
        help="Docker config.json (or its directory) with registry logins",
    )
    p.set_defaults(func=cmd_fix)


def _resolver(args: argparse.Namespace) -> Resolver:
    from kubeward.verify.registry import (
        RegistryClient,
        RegistryError,
        RegistryOptions,
        parse_image_ref,
    )

    client = RegistryClient(
        RegistryOptions(
            ca_file=args.registry_ca,
            insecure=frozenset(args.insecure_registry),
            docker_config=args.registry_config,
        )
    )
    platform = tuple(args.platform.split("/")) if args.platform else None
    cache: dict[str, str] = {}

    def resolve(text: str) -> str:
        if text in cache:
            return cache[text]
        try:
            ref = parse_image_ref(text)
            manifest = client.get_manifest(ref)
            if manifest is None:
                raise FixError(f"{text}: not found in its registry")
            digest = manifest.digest
            if platform is not None and manifest.media_type in _INDEX_TYPES:
                digest = _platform_digest(text, manifest.json, platform)
        except RegistryError as e:
            raise FixError(f"{text}: {e}") from None
        cache[text] = digest
        return digest

    return resolve


def _platform_digest(text: str, index: dict[str, object], platform: tuple[str, ...]) -> str:
    entries = index.get("manifests")
    for m in entries if isinstance(entries, list) else []:
        p = m.get("platform") if isinstance(m, dict) else None
        if not isinstance(p, dict):
            continue
        have = (
            p.get("os"),
            p.get("architecture"),
            *((p.get("variant"),) if p.get("variant") else ()),
        )
        if have[: len(platform)] == platform and len(platform) >= 2:
            digest = m.get("digest")
            if isinstance(digest, str) and _DIGEST.fullmatch(digest):
                return digest
    raise FixError(f"{text}: its index has no manifest for {'/'.join(platform)}")


def cmd_fix(args: argparse.Namespace) -> int:
    from kubeward.fix.plan import load_actions_lock, plan

    if args.platform is not None and not re.fullmatch(
        r"[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?", args.platform
    ):
        print(
            f"kubeward: error: --platform {args.platform!r}: expected OS/ARCH[/VARIANT]",
            file=sys.stderr,
        )
        return EXIT_USAGE
    for p in args.paths:
        if not p.exists():
            print(f"kubeward: error: {p}: no such file or directory", file=sys.stderr)
            return EXIT_USAGE
    actions: dict[str, Pin] | None = None
    if args.actions_lock is not None:
        try:
            data = yaml.safe_load(args.actions_lock.read_text(encoding="utf-8"))
            actions = load_actions_lock(data, str(args.actions_lock))
        except OSError as e:
            print(f"kubeward: error: {args.actions_lock}: {e.strerror}", file=sys.stderr)
            return EXIT_USAGE
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            reason = str(e).splitlines()[0]
            print(f"kubeward: error: {args.actions_lock}: not YAML: {reason}", file=sys.stderr)
            return EXIT_USAGE
        except FixError as e:
            print(f"kubeward: error: {e}", file=sys.stderr)
            return EXIT_USAGE
    resolve = None if args.no_images else _resolver(args)
    got = plan(args.paths, resolve=resolve, actions=actions)
    by_file: dict[str, list[_edits.Edit]] = {}
    for edit in got.edits:
        by_file.setdefault(edit.path, []).append(edit)
    for path in sorted(by_file):
        ft = got.files[path]
        after = _edits.apply(ft.text, by_file[path])
        if args.write:
            try:
                ft.write(after)
            except OSError as e:
                print(
                    f"kubeward: error: cannot write {visible(path)}: {e.strerror}", file=sys.stderr
                )
                return EXIT_USAGE
        else:
            text = _edits.diff(path, ft.text, after)
            if sys.stdout.isatty():  # a terminal gets no escape sequence from the repository
                text = "".join(visible(ln) + "\n" for ln in text.splitlines())
            sys.stdout.write(text)
    if args.sarif is not None:
        from kubeward.fix import sarif

        try:
            args.sarif.write_text(sarif.render(got), encoding="utf-8")
        except OSError as e:
            print(f"kubeward: error: cannot write {args.sarif}: {e.strerror}", file=sys.stderr)
            return EXIT_USAGE
    for note in got.notes:
        print(f"kubeward: not fixed: {visible(note)}", file=sys.stderr)
    if args.write and by_file:
        n = sum(1 for edit in got.edits if edit.old)
        print(f"kubeward: pinned {n} reference(s) in {len(by_file)} file(s)", file=sys.stderr)
    return EXIT_UNFIXED if got.notes else EXIT_OK
