"""The command line. Thin: parse arguments, call the engine, render, choose the exit code.

Exit codes:
  0  nothing at or above --fail-on (default: high), and no file errors when --fail-on-errors
  1  findings at or above --fail-on, or file errors with --fail-on-errors
  2  usage or configuration error
  3  internal error (a bug in kubeward; KUBEWARD_DEBUG=1 shows the traceback)
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from kubeward import __version__, safe_read
from kubeward.config import MAX_FILE_SIZE_LIMIT, Config, ConfigError, find_config, load_config
from kubeward.engine import (
    ScanOptions,
    Stage,
    UnknownRuleError,
    check_baseline_target,
    read_baseline,
    scan_with_context,
    write_baseline,
)
from kubeward.registry import Severity, iter_rules, load_rules
from kubeward.render import RenderOptions
from kubeward.report import Format, render
from kubeward.results import Report
from kubeward.scan_context import ScanContext

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"kubeward: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kubeward", description="Secure the Kubernetes software supply chain.")
    p.add_argument("--version", action="version", version=f"kubeward {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("scan", help="scan files and directories offline")
    s.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    s.add_argument(
        "-f",
        "--format",
        action="append",
        default=[],
        metavar="FORMAT[=FILE]",
        help=(
            "text, json, sarif, junit, markdown, html, github (workflow annotations) or "
            "gitlab-sast; repeat for several; FORMAT=FILE writes a file"
        ),
    )
    s.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="FILE",
        help="file for the next --format given without =FILE ('-' is stdout)",
    )
    s.add_argument(
        "--fail-on",
        type=str,
        default=None,
        metavar="SEVERITY",
        help="lowest severity that fails the run (default: high; 'never' to disable)",
    )
    s.add_argument(
        "--fail-on-errors",
        action="store_true",
        help="fail the run when any file could not be read or parsed",
    )
    s.add_argument(
        "--config",
        type=Path,
        help="configuration file (default: .kubeward.yaml in the first PATH, never a parent)",
    )
    s.add_argument(
        "--git-allowed-signers",
        type=Path,
        metavar="FILE",
        help="ssh allowed-signers file that verifies commit signatures",
    )
    s.add_argument(
        "--git-gnupghome",
        type=Path,
        metavar="DIR",
        help="GnuPG home whose keyring verifies commit signatures",
    )
    s.add_argument(
        "--git-dir",
        type=Path,
        metavar="DIR",
        help="git directory to check commits in (a bare mirror) instead of the enclosing one",
    )
    s.add_argument("--exclude", action="append", default=[], metavar="GLOB")
    s.add_argument(
        "--rule",
        action="append",
        default=None,
        metavar="ID",
        help="run only this rule (repeatable)",
    )
    s.add_argument(
        "-j", "--jobs", type=int, default=0, help="worker processes (default: all cores)"
    )
    s.add_argument("--baseline", type=Path, help="suppress findings recorded in this baseline")
    s.add_argument(
        "--write-baseline",
        type=Path,
        metavar="FILE",
        help="record the current findings as the baseline",
    )
    s.add_argument("--max-file-size", type=int, default=None, metavar="BYTES")
    s.add_argument(
        "--helm-values",
        action="append",
        default=[],
        metavar="FILE",
        help="values file every chart is also rendered with (repeatable; as helm -f)",
    )
    s.add_argument(
        "--set",
        action="append",
        default=[],
        dest="helm_set",
        metavar="KEY=VALUE",
        help="a value every chart is also rendered with (repeatable; as helm --set)",
    )
    s.add_argument(
        "--no-render",
        action="store_true",
        help="do not render Helm charts (read templates as text)",
    )
    s.add_argument(
        "--max-results",
        type=int,
        default=None,
        metavar="N",
        help="show at most N results, the most severe (ties: by path, line, column, rule id); "
        "the exit code still judges every finding",
    )
    s.add_argument(
        "--sarif-category",
        default=None,
        metavar="CATEGORY",
        help="SARIF runs[].automationDetails.id, GitHub code scanning's category "
        "(default: kubeward/scan; a trailing / is added)",
    )
    s.add_argument(
        "--min-severity",
        default=None,
        metavar="SEVERITY",
        help="show only results at or above SEVERITY (a display filter: the exit code follows "
        "--fail-on over every finding)",
    )
    s.add_argument(
        "--summary",
        action="store_true",
        help="text report: only the per-rule counts and the summary",
    )
    s.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="nothing on stdout and no progress bar (files from FORMAT=FILE and --output are "
        "still written; errors still on stderr); the exit code tells",
    )
    s.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="auto (the default): off when NO_COLOR is set and not empty, else on when "
        "FORCE_COLOR is set and not empty, else on for a terminal",
    )
    s.add_argument("--no-progress", action="store_true")
    from kubeward.verify._cli_image import add_scan_arguments

    add_scan_arguments(s)  # --verify-images and its policy and registry options
    from kubeward.cluster.cli import add_cluster_arguments

    add_cluster_arguments(s)  # --cluster, --kubeconfig, --admission-ledger (docs/cluster.md)
    s.set_defaults(func=cmd_scan)

    r = sub.add_parser("rules", help="list the rules")
    r.add_argument("--format", choices=("text", "json"), default="text")
    r.set_defaults(func=cmd_rules)

    one = sub.add_parser("rule", help="show one rule's documentation")
    one.add_argument("id")
    one.set_defaults(func=cmd_rule)

    try:
        from kubeward.verify.cli import register
    except ImportError:
        pass
    else:
        register(sub)  # type: ignore[arg-type]
    from kubeward.fix.cli import register as register_fix

    register_fix(sub)  # type: ignore[arg-type]
    from kubeward.gate.cli import register as register_gate

    register_gate(sub)  # type: ignore[arg-type]
    from kubeward.policygen.cli import register as register_policy

    register_policy(sub)  # type: ignore[arg-type]
    return p


def _outputs(args: argparse.Namespace) -> list[tuple[Format, str]]:
    pairs: list[tuple[Format, str]] = []
    fmts = args.format or ["text"]
    outs = list(args.output)
    for spec in fmts:
        name, _, path = spec.partition("=")
        try:
            fmt = Format(name.strip().lower())
        except ValueError:
            known = ", ".join(f.value for f in Format)
            raise ValueError(f"unknown format {name!r} ({known})") from None
        # FORMAT=FILE names its own file; other formats take the --output options in order.
        target = path or (outs.pop(0) if outs else "-")
        pairs.append((fmt, target))
    if outs:
        raise ValueError("more --output than --format options without a file")
    to_stdout = [fmt.value for fmt, target in pairs if target == "-"]
    if len(to_stdout) > 1:
        raise ValueError(
            f"several formats to stdout ({', '.join(to_stdout)}): give all but one a file "
            "(FORMAT=FILE or --output FILE)"
        )
    return pairs


def _scanned_trees(paths: Sequence[Path]) -> list[Path]:
    """The directories an attacker who controls the scanned repository controls: each root
    (a file's directory) and the work tree holding it."""
    trees = []
    for p in paths:
        d = (p if p.is_dir() else p.parent).absolute()
        trees.append(d)
        top = next((f for f in (d, *d.parents) if os.path.lexists(f / ".git")), None)
        if top is not None:
            trees.append(top)
    return trees


def _load_config(args: argparse.Namespace) -> Config:
    """The configuration: `--config`, else the `.kubeward.yaml` of the first scan root (never
    a parent directory's), with the command line's git options on top.

    A `--config` file inside the scanned tree is the repository's own configuration, as much as
    the one found in the root: it may not choose what vouches for the repository's commits."""
    if args.config is not None:
        if not os.path.exists(args.config):
            raise ConfigError(f"{args.config}: no such configuration file")
        inside = any(safe_read.inside(str(args.config), str(t)) for t in _scanned_trees(args.paths))
        config = load_config(args.config, trusted=not inside)
    else:
        # A cluster dump is not a repository: only a PATH has a `.kubeward.yaml`.
        config = load_config(find_config(args.paths[0]) if args.paths else None)
    host = {
        "git-allowed-signers": args.git_allowed_signers,
        "git-gnupghome": args.git_gnupghome,
        "git-dir": args.git_dir,
    }
    return config.with_host_paths({k: v for k, v in host.items() if v is not None})


def use_color(choice: str, to_tty: bool, environ: dict[str, str] | None = None) -> bool:
    """`--color`, then NO_COLOR (no-color.org), then FORCE_COLOR (force-color.org), each
    counted when set and not empty, whatever its value; then whether the output is a terminal.
    An explicit `--color always|never` overrides both variables, as both conventions ask."""
    env = os.environ if environ is None else environ
    if choice != "auto":
        return choice == "always"
    if env.get("NO_COLOR", ""):
        return False
    if env.get("FORCE_COLOR", ""):
        return True
    return to_tty


def cmd_scan(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    # A one-shot process holding millions of parsed nodes: the cyclic collector would re-walk
    # them on every full collection while reports are rendered (see engine._no_cyclic_gc).
    gc.disable()
    try:
        outputs = _outputs(args)
        for p in args.paths:
            if not os.path.lexists(p):
                raise ValueError(f"{p}: no such file or directory")
        config = _load_config(args)
        fail_spec = args.fail_on
        fail_on: Severity | None
        if fail_spec is None:
            fail_on = config.fail_on or Severity.HIGH
        elif fail_spec.lower() == "never":
            fail_on = None
        else:
            fail_on = Severity.parse(fail_spec)
        baseline = read_baseline(args.baseline) if args.baseline else None
        if args.write_baseline is not None:
            check_baseline_target(args.write_baseline)
        # The configuration's bound (2 GiB): a larger one is a typo; 10**30 overflowed the read.
        if args.max_file_size is not None and not 1 <= args.max_file_size <= MAX_FILE_SIZE_LIMIT:
            raise ValueError(
                f"--max-file-size must be between 1 and {MAX_FILE_SIZE_LIMIT} bytes, "
                f"not {args.max_file_size}"
            )
        if args.jobs < 0:
            raise ValueError("--jobs must be 0 (all cores) or more")
        if args.max_results is not None and args.max_results < 1:
            raise ValueError("--max-results must be 1 or more")
        min_severity = Severity.parse(args.min_severity) if args.min_severity else None
        if args.sarif_category is not None and not args.sarif_category.strip("/ "):
            raise ValueError("--sarif-category must not be empty")
        from kubeward.cluster.cli import check_args, cluster_input

        check_args(args)
        from kubeward.verify._cli_image import scan_stage_from_args

        stage = scan_stage_from_args(args)  # --verify-images: a stage of the engine
    except (ConfigError, ValueError) as e:
        print(f"kubeward: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    from kubeward.cluster.live import LiveReadError

    try:
        with cluster_input(args) as cluster:
            stages: list[Stage] = [stage] if stage is not None else []
            if stage is not None and cluster is not None:
                from kubeward.cluster.verify_stage import RunningImagesStage

                # The running digests, verified with the same policy, trust and client.
                stages.append(RunningImagesStage(stage.policy, stage.trust, stage.client))
            options = ScanOptions(
                config=config,
                exclude=args.exclude,
                jobs=args.jobs,
                only_rules=args.rule,
                baseline=baseline,
                max_file_size=args.max_file_size,
                stages=stages,
                cluster=cluster,
                render=RenderOptions(
                    enabled=not args.no_render,
                    values_files=args.helm_values,
                    set_values=args.helm_set,
                ),
            )
            report, _ = _run_with_progress(args, options)
    except LiveReadError as e:
        print(f"kubeward: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except UnknownRuleError as e:
        print(
            f"kubeward: error: unknown rule id {e.args[0]} (see `kubeward rules`)", file=sys.stderr
        )
        return EXIT_USAGE
    from kubeward.report.display import shown, uri_base

    display = shown(report, min_severity=min_severity, max_results=args.max_results)
    if args.max_results is not None and not args.quiet:
        eligible = len(shown(report, min_severity=min_severity, max_results=None).results)
        if eligible > len(display.results):
            print(
                f"kubeward: showing the {len(display.results)} most severe of {eligible} "
                "results (--max-results)",
                file=sys.stderr,
            )
    base = uri_base(args.paths) if args.paths else None
    for fmt, target in outputs:
        if target == "-" and args.quiet:
            continue
        color = use_color(args.color, target == "-" and sys.stdout.isatty())
        text = render(
            display,
            fmt,
            color=color,
            base=base,
            summary=args.summary,
            started=started,
            category=args.sarif_category,
        )
        if fmt is Format.SARIF and not args.quiet:
            _warn_github_limits(text, target)
        if target == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            try:
                Path(target).write_text(text, encoding="utf-8")
            except OSError as e:
                print(f"kubeward: error: cannot write {target}: {e.strerror}", file=sys.stderr)
                return EXIT_USAGE
    if args.write_baseline:
        try:
            write_baseline(report, args.write_baseline)
        except ValueError as e:
            print(f"kubeward: error: {e}", file=sys.stderr)
            return EXIT_USAGE
    failed = fail_on is not None and any(r.severity.rank >= fail_on.rank for r in report.results)
    if args.fail_on_errors and report.errors:
        failed = True
    return EXIT_FINDINGS if failed else EXIT_OK


def _warn_github_limits(text: str, target: str) -> None:
    import json

    from kubeward.report.sarif import github_limit_warnings

    where = "SARIF on stdout" if target == "-" else target
    for w in github_limit_warnings(json.loads(text), len(text.encode("utf-8"))):
        print(f"kubeward: warning: {where}: {w}", file=sys.stderr)


def _run_with_progress(
    args: argparse.Namespace, options: ScanOptions
) -> tuple[Report, ScanContext]:
    if args.no_progress or args.quiet or not sys.stderr.isatty():
        return scan_with_context(args.paths, options)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
        console=None,
    ) as bar:
        task = bar.add_task("scan", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return scan_with_context(args.paths, options, progress=tick)


def cmd_rules(args: argparse.Namespace) -> int:
    rules = list(iter_rules())
    if args.format == "json":
        import json

        data = [
            {
                "id": r.id,
                "layer": int(r.layer),
                "severity": r.severity.value,
                "title": r.title,
                "help_uri": r.help_uri,
            }
            for r in rules
        ]
        print(json.dumps(data, indent=2))
        return EXIT_OK
    width = max((len(r.id) for r in rules), default=10)
    print(f"{'ID':<{width}}  LAYER                   SEVERITY  TITLE")
    for r in rules:
        layer = f"{int(r.layer)} {r.layer.title}"
        print(f"{r.id:<{width}}  {layer:<22}  {r.severity.value:<8}  {r.title}")
    return EXIT_OK


def cmd_rule(args: argparse.Namespace) -> int:
    from kubeward.docs import rule_page

    r = load_rules().get(args.id)
    if r is None:
        print(
            f"kubeward: error: unknown rule id {args.id!r} (see `kubeward rules`)", file=sys.stderr
        )
        return EXIT_USAGE
    print(rule_page(r))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # a bug of ours: say so plainly; the traceback only on request
        if os.environ.get("KUBEWARD_DEBUG"):
            raise
        print(
            f"kubeward: internal error: {type(e).__name__}: {e}\n"
            "This is a bug in kubeward; set KUBEWARD_DEBUG=1 for the traceback and report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
