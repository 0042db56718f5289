"""`kubeward policy generate PATH...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_USAGE = 0, 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = subparsers.add_parser("policy", help="admission policies from what the scan found")
    sub = policy.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "generate",
        help="emit the admission policy for the images in use and the pipelines that sign them",
        description="Scan PATH, and write a Kyverno ClusterPolicy and policy-controller "
        "ClusterImagePolicy documents that admit exactly the images its workloads run, each "
        "signed keyless by the pipeline the scan found signing it (enforcing, digests "
        "verified). Images with no signing pipeline in the scan are left out and listed, in "
        "a comment and on stderr.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument(
        "--repository",
        metavar="[HOST/]OWNER/REPO",
        help="where the repository lives (github.com or gitlab.com); default: the git "
        "remote 'origin' of the first PATH",
    )
    p.add_argument(
        "--engine",
        choices=("kyverno", "policy-controller", "both"),
        default="both",
        help="which admission controller to write for (default: both)",
    )
    p.add_argument("--name", default="kubeward-verify-images", help="policy name (prefix)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"kubeward policy generate: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    from kubeward.policygen import ENGINES, PlanError, Repository, generate, git_remote, render

    missing = [p for p in args.paths if not p.exists()]
    if missing:
        return _fail(f"{missing[0]}: no such file or directory")
    try:
        remote = args.repository or git_remote(args.paths[0])
        if remote is None:
            return _fail(
                "no --repository and no git remote 'origin' to take OWNER/REPO from; "
                "keyless identities name the repository"
            )
        repository = Repository.parse(remote)
    except PlanError as exc:
        return _fail(str(exc))
    plan, errors = generate(args.paths, repository=repository)
    engines = ENGINES if args.engine == "both" else (args.engine,)
    text = render(
        plan, source=", ".join(str(p) for p in args.paths), engines=engines, name=args.name
    )
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            return _fail(f"cannot write {args.output}: {exc.strerror}")
    else:
        sys.stdout.write(text)
    for u in plan.uncovered:
        line = f"not covered: {u.repository} ({', '.join(u.uses)}): {u.reason}"
        # names and paths from the scanned repository: no terminal control characters
        print("".join(c if c.isprintable() else "?" for c in line), file=sys.stderr)
    if errors:
        print(f"{errors} files could not be scanned (kubeward scan lists them)", file=sys.stderr)
    if not plan.covered:
        print("no image could be covered: no policy written", file=sys.stderr)
    return EXIT_OK
