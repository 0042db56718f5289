"""Run the rules over a scan; apply suppressions, severity overrides and the baseline.

Files are parsed and the rules that need only one file are run, file by file (in worker
processes when asked and worth it); rules that read across documents run afterwards over the
whole scan. Results come out in a stable order whatever the number of workers.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import re
import stat
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kubeward import __version__
from kubeward.cluster import ClusterInput
from kubeward.config import Config
from kubeward.discover import Discovered, discover, display_path
from kubeward.group import all_absorbed, group_results, image_of_source
from kubeward.load import DEFAULT_MAX_FILE_SIZE, load_file, reparse
from kubeward.model.k8s import KubeObject
from kubeward.registry import (
    SECTION_BUILDERS,
    Finding,
    Rule,
    RuleContext,
    has_provider,
    instances_in,
    is_file_scoped,
    load_rules,
)
from kubeward.render import RenderOptions, is_rendered, render_scan
from kubeward.results import Report, Result, UnusedSuppression
from kubeward.scan_context import ScanContext
from kubeward.source import FileKind, ScanError, SourceFile, Span

ANNOTATION = "kubeward.dev/ignore"
_INLINE_RE = re.compile(r"kubeward:\s*ignore\[([^\]]*)\]")
PARALLEL_MIN_FILES = 64
MAX_FINDINGS_PER_FILE_RULE = 1000
"""Results one rule may report in one file; the rest are counted in one error entry, so a
hostile file cannot amplify the report (docs/limits.md)."""
STALL_SECONDS = 300  # no chunk finished for this long: finish the scan in one process

Progress = Callable[[int, int], None]  # (done, total)


class Stage(Protocol):
    """A scan-wide model that needs more than the files (the registries asked by `scan
    --verify-images`, `kubeward.verify.scan_hook`). It is built once the files are parsed,
    only when a rule over it is selected; its rules then run, and are judged, suppressed and
    ordered, like every other rule."""

    @property
    def target(self) -> type:
        """The model type it provides, which no file or scan provider builds."""
        ...

    def build(
        self, ctx: ScanContext, rule_ids: frozenset[str]
    ) -> tuple[Sequence[object], Sequence[ScanError]]:
        """The instances, and errors at the places they concern; `rule_ids` are the selected
        rules over `target`."""
        ...


@dataclass
class ScanOptions:
    config: Config = field(default_factory=Config)
    exclude: Sequence[str] = ()
    jobs: int = 0  # 0: auto (one process when cross-document rules run, else all cores)
    only_rules: Sequence[str] | None = None
    baseline: set[str] | None = None
    max_file_size: int | None = None
    stages: Sequence[Stage] = ()
    cluster: ClusterInput | None = None  # `--cluster` dumps / a live read, beside the paths
    render: RenderOptions = field(default_factory=RenderOptions)  # Helm charts (kubeward.render)


# --- per-file work (runs in workers) ---------------------------------------------------------

_RuleHit = tuple[str, Finding]


def _rule_params(rules: Sequence[Rule], config: Config) -> dict[str, dict[str, Any]]:
    return {r.id: config.params_for(r.id, r.params) for r in rules}


def _run_rule(
    r: Rule,
    objs: Iterable[object],
    ctx: RuleContext,
    hits: list[_RuleHit],
    errors: list[ScanError],
    where: str,
) -> None:
    try:
        for obj in objs:
            for finding in r.run(obj, ctx):
                hits.append((r.id, finding))
    except Exception as e:  # a rule bug must not lose the scan; it is reported, not hidden
        errors.append(ScanError(where, f"internal error in rule {r.id}: {type(e).__name__}: {e}"))


def _process_chunk(
    items: Sequence[Discovered],
    rule_ids: Sequence[str],
    params: Mapping[str, Mapping[str, Any]],
    max_size: int,
    keep_models: bool = True,
) -> list[tuple[SourceFile, list[_RuleHit], ScanError | None, list[ScanError]]]:
    with _no_cyclic_gc():
        return _process_items(items, rule_ids, params, max_size, keep_models)


def _process_items(
    items: Sequence[Discovered],
    rule_ids: Sequence[str],
    params: Mapping[str, Mapping[str, Any]],
    max_size: int,
    keep_models: bool,
) -> list[tuple[SourceFile, list[_RuleHit], ScanError | None, list[ScanError]]]:
    registry = load_rules()
    rules = [registry[i] for i in rule_ids]
    out = []
    for d in items:
        hits: list[_RuleHit] = []
        rule_errors: list[ScanError] = []
        try:
            f, err = load_file(d, max_size=max_size, notes=rule_errors)
        except Exception as e:  # a parser bug must not lose the scan either
            f = SourceFile(rel=d.rel, abspath=d.abspath, kind=d.kind)
            err = ScanError(d.rel, f"internal error while parsing: {type(e).__name__}: {e}")
        if err is None:
            _rules_on_file(f, rules, params, hits, rule_errors)
        if not keep_models:
            # Parsed trees cost more to pickle than to parse again (measured on argo-cd's
            # manifests: 2.3 s to parse, 3.5 s to pickle and 2.7 s to unpickle), so a worker
            # sends back the text and the parent re-parses only if cross-document rules run.
            f.models.clear()
            f.documents = []
            f.instructions = []
        out.append((f, hits, err, rule_errors))
    return out


def _rules_on_file(
    f: SourceFile,
    rules: Sequence[Rule],
    params: Mapping[str, Mapping[str, Any]],
    hits: list[_RuleHit],
    errors: list[ScanError],
) -> None:
    ctx_scan = ScanContext(files=[f])
    for r in rules:
        try:
            objs: list[Any] = instances_in(f, r.target)
        except Exception as e:
            errors.append(ScanError(f.rel, f"internal error reading {r.target.__name__}: {e}"))
            continue
        _run_rule(r, objs, RuleContext(params[r.id], ctx_scan), hits, errors, f.rel)


# --- the scan ----------------------------------------------------------------------------------


def scan(paths: Sequence[Path], options: ScanOptions, progress: Progress | None = None) -> Report:
    return scan_with_context(paths, options, progress)[0]


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector. A scan allocates millions of long-lived nodes and
    almost no cycles; every full collection re-walks them all. Measured on all of
    ../shared/corpora with one process: 14.5 s with the collector, 6.3 s without."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def scan_with_context(
    paths: Sequence[Path], options: ScanOptions, progress: Progress | None = None
) -> tuple[Report, ScanContext]:
    """The scan, and the read-only context it built (for follow-up work such as verifying the
    images it found against their registries)."""
    with _no_cyclic_gc():
        return _scan(paths, options, progress)


def _scan(
    paths: Sequence[Path], options: ScanOptions, progress: Progress | None
) -> tuple[Report, ScanContext]:
    started = time.monotonic()
    config = options.config
    registry = load_rules()
    # Rules over a model no provider builds (the registry checks of --verify-images) run only
    # when a stage provides it; leaving them out keeps their suppressions from being called
    # unused.
    staged = {s.target for s in options.stages}
    rules = [
        r
        for r in _selected_rules(registry, config, options.only_rules)
        if has_provider(r) or r.target in staged
    ]
    max_size = options.max_file_size or config.max_file_size or DEFAULT_MAX_FILE_SIZE
    items, errors = discover(paths, exclude=[*options.exclude, *config.ignore_paths])
    cluster = None
    if options.cluster is not None:  # the dumps join the scan as files (docs/cluster.md)
        items, cluster = options.cluster.prepare(items, errors, max_size=max_size)
    params = _rule_params(rules, config)
    file_rules = [r for r in rules if is_file_scoped(r)]
    scan_rules = [r for r in rules if not is_file_scoped(r)]

    files: list[SourceFile] = []
    hits: list[_RuleHit] = []
    # Cross-document rules need every parsed tree in one process. Shipping trees between
    # processes costs more than parsing them, so "auto" (0) uses one process when such rules
    # run and all cores otherwise; an explicit --jobs N is obeyed.
    needs_trees = bool(scan_rules) or bool(SECTION_BUILDERS)
    jobs = options.jobs or (1 if needs_trees else os.cpu_count() or 1)
    ids = [r.id for r in file_rules]
    parallel = jobs > 1 and len(items) >= PARALLEL_MIN_FILES
    workers = jobs if parallel else 1
    for f, h, err, rule_errors in _parse_all(items, ids, params, max_size, workers, progress):
        if parallel and needs_trees and err is None:
            reparse(f)
        files.append(f)
        hits.extend(h)
        errors.extend(rule_errors)
        if err is not None:
            errors.append(err)
    # Helm charts rendered: each rendered template is one more YAML file for every rule.
    rendered = render_scan(files, options.render, rules=rules)
    for rf in rendered.files:
        _rules_on_file(rf, file_rules, params, hits, errors)
    files.extend(rendered.files)
    errors.extend(rendered.errors)
    ctx = ScanContext(files=files, roots=list(paths), config=config.globals, cluster=cluster)
    for stage in options.stages:
        _build_stage(
            stage, ctx, frozenset(r.id for r in scan_rules if r.target is stage.target), errors
        )
    for r in scan_rules:
        try:
            scan_objs: list[Any] = ctx.instances(r.target)
        except Exception as e:  # a scan-level provider is guarded like a per-file one
            errors.append(
                ScanError(
                    "<scan>",
                    f"internal error reading {r.target.__name__} for rule {r.id}: "
                    f"{type(e).__name__}: {e}",
                )
            )
            continue
        _run_rule(r, scan_objs, RuleContext(params[r.id], ctx), hits, errors, "<scan>")
    for f in files:  # files read beside a scanned one (a chart's lock) that were refused
        errors.extend(f.read_errors)
    errors.extend(ctx.errors)  # a corrupt `.git`, the git budget spent

    roots = [display_path(p.as_posix()) for p in paths]
    roots += options.cluster.display_roots if options.cluster is not None else []
    report = Report(version=__version__, roots=roots, rules=rules, config=config.path)
    report.files_scanned = len(items)
    for build in SECTION_BUILDERS:
        try:
            report.sections.extend(build(ctx))
        except Exception as e:
            errors.append(ScanError("<scan>", f"internal error building a report section: {e}"))
    hits = rendered.apply(hits, registry)  # at the template or values line that produced them
    errors.extend(_apply(report, hits, registry, config, ctx, options.baseline))
    report.errors = sorted(set(errors), key=lambda e: (e.path, e.line or 0, e.reason))
    report.duration_s = time.monotonic() - started
    return report, ctx


class UnknownRuleError(KeyError):
    """`--rule` named a rule that does not exist (a usage error, not a bug)."""


def _build_stage(
    stage: Stage, ctx: ScanContext, rule_ids: frozenset[str], errors: list[ScanError]
) -> None:
    if not rule_ids:  # no selected rule reads it: no registry is asked
        return
    objs: Sequence[object] = ()
    try:
        objs, stage_errors = stage.build(ctx, rule_ids)
        errors.extend(stage_errors)
    except Exception as e:  # a stage bug must not lose the scan, as for a rule
        name = stage.target.__name__
        errors.append(
            ScanError("<scan>", f"internal error building {name}: {type(e).__name__}: {e}")
        )
    ctx.provide(stage.target, objs)


def _selected_rules(
    registry: Mapping[str, Rule], config: Config, only: Sequence[str] | None
) -> list[Rule]:
    if only:
        missing = [i for i in only if i not in registry]
        if missing:
            raise UnknownRuleError(", ".join(missing))
        chosen = [registry[i] for i in only]
    else:
        chosen = [r for r in registry.values() if config.rule(r.id).enabled]
    return sorted(chosen, key=lambda r: r.id)


def _parse_all(
    items: list[Discovered],
    rule_ids: list[str],
    params: Mapping[str, Mapping[str, Any]],
    max_size: int,
    jobs: int,
    progress: Progress | None,
) -> Iterable[tuple[SourceFile, list[_RuleHit], ScanError | None, list[ScanError]]]:
    total = len(items)
    if jobs <= 1:
        for i, d in enumerate(items):
            yield from _process_chunk([d], rule_ids, params, max_size)
            if progress:
                progress(i + 1, total)
        return
    # Balanced chunks: largest files first, dealt round-robin; results re-sorted by path.
    n_chunks = jobs * 8
    order = sorted(items, key=lambda d: -d.size)
    chunks = [order[i::n_chunks] for i in range(n_chunks)]
    done = 0
    results = []
    # Imported here: a one-process scan (the usual case) need not load multiprocessing.
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    # "spawn", not "fork": BuildKit's parser is Go, and a Go runtime does not survive fork()
    # (a forked worker deadlocks in its first Dockerfile parse). Spawned workers re-import the
    # caller's main module, so a script calling scan() with jobs > 1 needs the usual
    # `if __name__ == "__main__":` guard; without it, or if the workers stall, the remaining
    # chunks are processed here, in one process, rather than lost or waited on forever.
    pending_chunks = [c for c in chunks if c]
    finished: set[int] = set()
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"))
    try:
        futures = {
            pool.submit(_process_chunk, c, rule_ids, params, max_size, False): i
            for i, c in enumerate(pending_chunks)
        }
        waiting = set(futures)
        while waiting:
            done_now, waiting = wait(waiting, timeout=STALL_SECONDS, return_when=FIRST_COMPLETED)
            if not done_now:
                raise TimeoutError("worker processes stalled")
            for fut in done_now:
                part = fut.result()
                finished.add(futures[fut])
                results.extend(part)
                done += len(part)
                if progress:
                    progress(done, total)
    except (BrokenProcessPool, TimeoutError, OSError):
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        for i, c in enumerate(pending_chunks):
            if i not in finished:
                results.extend(_process_chunk(c, rule_ids, params, max_size))
    else:
        pool.shutdown(wait=True)
    results.sort(key=lambda r: r[0].rel)
    yield from results


# --- suppressions, severity, fingerprints -----------------------------------------------------


def fingerprint(rule_id: str, path: str, line_text: str, occurrence: int) -> str:
    """Stable across lines moving: the rule, the file and the content of the line."""
    h = hashlib.sha256(f"{rule_id}\0{path}\0{line_text.strip()}\0{occurrence}".encode())
    return h.hexdigest()[:32]


def _inline_comments(f: SourceFile) -> dict[int, tuple[str, ...]]:
    """1-based line -> rule ids of a `kubeward: ignore[...]` comment on that line."""
    out: dict[int, tuple[str, ...]] = {}
    if "kubeward:" not in f.text:
        return out
    for i, line in enumerate(f.text.split("\n"), start=1):
        if "#" not in line:
            continue
        m = _INLINE_RE.search(line[line.index("#") :])
        if m:
            out[i] = tuple(x.strip() for x in m.group(1).split(",") if x.strip())
    return out


def _annotation_scopes(f: SourceFile) -> list[tuple[Span, tuple[str, ...]]]:
    """Spans of Kubernetes objects with a `kubeward.dev/ignore` annotation, and its rule ids."""
    if f.kind is not FileKind.YAML or ANNOTATION not in f.text:
        return []
    scopes = []
    for obj in instances_in(f, KubeObject):
        value = obj.annotation(ANNOTATION)
        if value:
            ids = tuple(x.strip() for x in value.split(",") if x.strip())
            scopes.append((obj.span, ids))
    return scopes


class Judge:
    """Turns rule findings into results: the effective severity, a fingerprint, and whether
    an inline comment, an annotation or the baseline suppresses it. It remembers which
    suppressions were used, so the unused ones can be listed. The engine uses one per scan
    and leaves it on the `ScanContext`."""

    def __init__(self, ctx: ScanContext, config: Config, baseline: set[str] | None) -> None:
        self.ctx = ctx
        self.config = config
        self.baseline = baseline
        self.files = {f.rel: f for f in ctx.files}
        self._inline: dict[str, dict[int, tuple[str, ...]]] = {}
        self._scopes: dict[str, list[tuple[Span, tuple[str, ...]]]] = {}
        self._used: set[tuple[str, int, str]] = set()  # (path, line, rule id or "all")
        self._occurrences: dict[tuple[str, str, str], int] = defaultdict(int)

    def _comments(
        self, f: SourceFile
    ) -> tuple[dict[int, tuple[str, ...]], list[tuple[Span, tuple[str, ...]]]]:
        if f.rel not in self._inline:
            self._inline[f.rel] = _inline_comments(f)
            self._scopes[f.rel] = _annotation_scopes(f)
        return self._inline[f.rel], self._scopes[f.rel]

    def judge(self, r: Rule, finding: Finding) -> Result:
        rid = r.id
        path, line = finding.span.path, finding.span.start.line
        f = self.files.get(path)
        line_text = f.line_text(line) if f else ""
        occ_key = (rid, path, line_text.strip())
        fp = fingerprint(rid, path, line_text, self._occurrences[occ_key])
        self._occurrences[occ_key] += 1
        severity = self.config.rule(rid).severity or finding.severity or r.severity
        suppressed_by = None
        if f is not None:
            inline, scopes = self._comments(f)
            for ln in (line, line - 1):
                ids = inline.get(ln)
                if ids is not None and (rid in ids or "all" in ids):
                    suppressed_by = "inline"
                    self._used.add((path, ln, rid if rid in ids else "all"))
                    break
            if suppressed_by is None:
                suppressed_by = self._by_annotation(path, line, scopes, rid)
            # A finding moved to a Helm template: the rendered object's annotation counts too.
            for rel in finding.related if suppressed_by is None else ():
                g = self.files.get(rel.span.path) if is_rendered(rel.span.path) else None
                if g is not None:
                    suppressed_by = self._by_annotation(
                        g.rel, rel.span.start.line, self._comments(g)[1], rid
                    )
                    break
        if suppressed_by is None and self.baseline is not None and fp in self.baseline:
            suppressed_by = "baseline"
        return Result(r, finding, severity, fp, suppressed_by)

    def _by_annotation(
        self, path: str, line: int, scopes: list[tuple[Span, tuple[str, ...]]], rid: str
    ) -> str | None:
        for span, ids in scopes:
            if span.start.line <= line <= span.end.line and (rid in ids or "all" in ids):
                self._used.add((path, span.start.line, rid if rid in ids else "all"))
                return "annotation"
        return None

    def add(self, report: Report, r: Rule, finding: Finding) -> None:
        """Judge a finding and file it in the report (results or suppressed)."""
        self.file(report, self.judge(r, finding))

    def file(self, report: Report, result: Result) -> None:
        """File a judged finding in the report (results or suppressed)."""
        finding = result.finding
        if result.suppressed_by:
            report.suppressed.append(result)
            return
        report.results.append(result)
        f = self.files.get(finding.span.path)
        if f is not None:
            report.sources.setdefault(f.rel, f.text)

    def text_at(self, span: Span) -> str:
        """The text of a scanned file at `span` ('' when unknown)."""
        f = self.files.get(span.path)
        if f is None or span.start.offset < 0 or span.end.offset < span.start.offset:
            return ""
        return f.text[span.start.offset : span.end.offset]

    def unused(self, active: set[str]) -> list[UnusedSuppression]:
        """Suppressions that suppressed nothing. Only rules that ran (`active`) can be judged
        unused: a rule switched off proves nothing."""
        out: list[UnusedSuppression] = []
        for f in self.ctx.files:
            if "kubeward:" not in f.text or is_rendered(f.rel):  # the template's comments count
                continue
            inline, scopes = self._comments(f)
            for ln, ids in sorted(inline.items()):
                left = tuple(
                    i
                    for i in ids
                    if (i in active or i == "all") and (f.rel, ln, i) not in self._used
                )
                if left:
                    out.append(UnusedSuppression(f.line_span(ln), left, "inline"))
            for span, ids in scopes:
                left = tuple(
                    i
                    for i in ids
                    if (i in active or i == "all") and (f.rel, span.start.line, i) not in self._used
                )
                if left:
                    out.append(UnusedSuppression(span, left, "annotation"))
        return out


def _apply(
    report: Report,
    hits: list[_RuleHit],
    registry: Mapping[str, Rule],
    config: Config,
    ctx: ScanContext,
    baseline: set[str] | None,
) -> list[ScanError]:
    """File the findings in the report; returns the problems met (a finding the judge failed
    on, results cut by `MAX_FINDINGS_PER_FILE_RULE`)."""
    errors: list[ScanError] = []
    judge = Judge(ctx, config, baseline)
    hits.sort(key=lambda h: (h[1].span.path, h[1].span.start, h[0], h[1].message))
    seen: set[tuple[str, Span, str]] = set()
    filed: dict[tuple[str, str, bool], int] = defaultdict(int)  # (rule, path, suppressed)
    failed: set[str] = set()
    judged: list[Result] = []
    for rid, finding in hits:
        key = (rid, finding.span, finding.message)
        if key in seen:  # the same finding from two views of one object
            continue
        seen.add(key)
        try:
            result = judge.judge(registry[rid], finding)
        except Exception as e:  # the judge is guarded like the rules: one entry per rule
            if rid not in failed:
                failed.add(rid)
                errors.append(
                    ScanError(
                        finding.span.path,
                        f"internal error judging a finding of rule {rid}: {type(e).__name__}: {e}",
                    )
                )
            continue
        count_key = (rid, finding.span.path, result.suppressed_by is not None)
        filed[count_key] += 1
        if filed[count_key] > MAX_FINDINGS_PER_FILE_RULE:
            continue
        if result.suppressed_by:
            judge.file(report, result)
        else:
            judged.append(result)
    try:  # one root cause, one result; one image used many times, one result (kubeward.group)
        judged = group_results(judged, image_of=image_of_source(judge.text_at), roots=report.roots)
    except Exception as e:  # guarded like the judge: the ungrouped results are reported
        errors.append(ScanError("<scan>", f"internal error grouping results: {e}"))
    for result in judged:
        judge.file(report, result)
    for (rid, path, suppressed), n in sorted(filed.items()):
        if n > MAX_FINDINGS_PER_FILE_RULE:
            what = "suppressed findings" if suppressed else "findings"
            errors.append(
                ScanError(
                    path,
                    f"{n - MAX_FINDINGS_PER_FILE_RULE} more {what} of rule {rid} not reported "
                    f"(at most {MAX_FINDINGS_PER_FILE_RULE} per file and rule)",
                )
            )
    report.results.sort(key=Result.sort_key)
    report.suppressed.sort(key=Result.sort_key)
    try:
        report.unused_suppressions = judge.unused({r.id for r in report.rules})
    except Exception as e:
        errors.append(ScanError("<scan>", f"internal error listing unused suppressions: {e}"))
    return errors


# --- baseline -----------------------------------------------------------------------------------

BASELINE_VERSION = 1


MAX_BASELINE_BYTES = 256 * 1024 * 1024


def check_baseline_target(path: Path) -> None:
    """Raise ValueError, before the scan, if the baseline cannot be written at `path`."""
    if path.is_dir():
        raise ValueError(f"{path}: --write-baseline names a directory, not a file")
    if path.exists() and not path.is_file():
        raise ValueError(f"{path}: --write-baseline names something that is not a regular file")
    parent = path.parent
    if not parent.is_dir():
        raise ValueError(f"{path}: cannot write baseline: no directory {parent}")


def write_baseline(report: Report, path: Path) -> None:
    """Write the baseline; raises ValueError naming the file when it cannot."""
    entries = [  # a grouped result stands for each finding it absorbed: all are listed
        {"rule": x.rule.id, "path": x.span.path, "fingerprint": x.fingerprint}
        for r in report.results
        for x in (r, *all_absorbed(r))
    ]
    text = json.dumps({"kubeward_baseline": BASELINE_VERSION, "findings": entries}, indent=2)
    try:
        check_baseline_target(path)
        path.write_text(text + "\n", encoding="utf-8", errors="backslashreplace")
    except OSError as e:
        raise ValueError(f"{path}: cannot write baseline: {e.strerror or e}") from None


def read_baseline(path: Path) -> set[str]:
    """Fingerprints of a baseline file; raises ValueError naming the file on bad input."""
    where = os.fsdecode(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{where}: baseline is not a regular file")
        if st.st_size > MAX_BASELINE_BYTES:
            raise ValueError(
                f"{where}: baseline is {st.st_size} bytes, over {MAX_BASELINE_BYTES} bytes"
            )
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BASELINE_BYTES + 1)
        data = json.loads(raw.decode("utf-8"))
    except OSError as e:
        raise ValueError(f"{where}: cannot read baseline: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{where}: baseline is not UTF-8 (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: baseline is not valid JSON: {e}") from None
    except RecursionError:
        raise ValueError(f"{where}: baseline is nested too deeply to be a baseline") from None
    if not isinstance(data, dict) or data.get("kubeward_baseline") != BASELINE_VERSION:
        raise ValueError(f"{where}: not a kubeward baseline (version {BASELINE_VERSION})")
    findings = data.get("findings", [])
    if not isinstance(findings, list):
        raise ValueError(f"{where}: baseline 'findings' is not a list")
    out = set()
    for i, entry in enumerate(findings):
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            raise ValueError(
                f"{where}: baseline finding {i} is not an object with a 'fingerprint' string"
            )
        out.add(entry["fingerprint"])
    return out
