"""`make bench`: kubeward against Checkov and the libyaml parse floor on the shared corpora.

Runs, one after the other on each tree of `../shared/corpora/` (the same files for every
contender), and writes `docs/benchmarks.md` (plus the raw figures in `bench/results.json`):

- kubeward with the default `--jobs` (all cores) and with `--jobs 1`;
- Checkov 3.3.30 from its own virtualenv `.bench-venv` (created and filled here), offline;
- the parse floor: read every file kubeward discovers and parse it with libyaml
  (`yaml.compose_all(..., Loader=CSafeLoader)`) or BuildKit's Dockerfile parser, in one
  process and in as many processes as kubeward's default `--jobs`.

Every contender runs as a child process under `/usr/bin/time`; wall time is measured around
it; memory is both `ru_maxrss` (`time`'s `%M`: the largest single process of the tree) and
the summed RSS of the whole process tree, sampled every 100 ms from `/proc`.

Usage: `python bench/run.py [--trees a,b] [--no-checkov] [--no-doc]`; `--floor` is the
internal entry point of the parse-floor child.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = (ROOT.parent / "shared" / "corpora").resolve()
BENCH_VENV = ROOT / ".bench-venv"
KUBEWARD = ROOT / ".venv" / "bin" / "kubeward"
PYTHON = Path(sys.executable)
CHECKOV_VERSION = "3.3.30"
DOC = ROOT / "docs" / "benchmarks.md"
RAW = ROOT / "bench" / "results.json"

# The trees of the run: together Checkov needs ~4 minutes here and the whole run ~10.
TREES = (
    "argo-cd",
    "charts",
    "checkov",
    "docker-library",
    "flux2",
    "gatekeeper-library",
    "kubernetes-examples",
    "kube-linter",
    "kyverno-policies",
    "zizmor",
)
CHECKOV_FRAMEWORKS = "kubernetes,dockerfile,github_actions,gitlab_ci,kustomize,helm"
# Directories Checkov never walks by default (CKV_IGNORED_DIRECTORIES; hidden ones are
# found per tree). `.github` is walked by its GitHub Actions runner, so it stays in.
CHECKOV_IGNORED_DIRS = ("node_modules", ".terraform", ".serverless")
CHECKOV_KEPT_HIDDEN = frozenset({".github"})
CHECKOV_TIMEOUT_S = 900
KUBEWARD_TIMEOUT_S = 180  # kubeward and the floor: far above any normal run here
CHECKOV_MEMORY_LIMIT_MB = 12 * 1024  # kill a contender whose tree grows past this
SAMPLE_INTERVAL_S = 0.1
TARGET_VS_CHECKOV = 10.0
TARGET_VS_FLOOR = 2.0


# --- measuring one process tree --------------------------------------------------------------


@dataclass
class Measure:
    """One contender on one tree."""

    tool: str
    tree: str
    files: int
    wall_s: float
    peak_tree_mb: float  # sampled sum over the process tree
    maxrss_mb: float  # ru_maxrss: the largest single process of the tree
    returncode: int
    note: str = ""
    load: float = 0.0  # 1-minute load average when the contender started
    extra: dict[str, object] = field(default_factory=dict)
    cpu_s: float = 0.0  # user + system, the whole tree

    @property
    def files_per_s(self) -> float:
        return self.files / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        return not self.note.startswith("FAILED")


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        rest = stat[stat.rfind(b")") + 2 :].split()
        kids.setdefault(int(rest[1]), []).append(int(name))
    return kids


_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _tree_rss_kb(pid: int) -> int:
    """Summed resident set size of `pid` and all its descendants (cheap: `statm` only)."""
    kids = _children_map()
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, ()))
        try:
            with open(f"/proc/{p}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * _PAGE_KB
        except (OSError, IndexError, ValueError):
            continue
    return total


TIME = Path("/usr/bin/time")


def run_measured(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdout: int | None = subprocess.DEVNULL,
    timeout_s: float = CHECKOV_TIMEOUT_S,
    memory_limit_mb: float = CHECKOV_MEMORY_LIMIT_MB,
) -> tuple[float, float, float, int, str, float]:
    """Run `cmd`; return (wall s, peak tree RSS MB, max RSS MB, return code, note, CPU s).

    CPU is user + system time of the process and every child it waited for (its workers).

    The command runs under `/usr/bin/time` when present: its `%M` is the child's own
    `ru_maxrss`, free of the high-water mark this (larger) Python process would leave in a
    child it forks directly. Without it, `wait4()`'s `ru_maxrss` is used instead.
    """
    peak = 0
    note = ""
    with tempfile.NamedTemporaryFile(prefix="bench-time-", delete=False) as tf:
        time_out = tf.name
    wrapped = list(cmd)
    if TIME.exists():
        wrapped = [str(TIME), "-f", "%M %U %S", "-o", time_out, *wrapped]
    started = time.perf_counter()
    proc = subprocess.Popen(
        wrapped, env=env, stdout=stdout, stderr=subprocess.PIPE, start_new_session=True
    )
    stop = threading.Event()
    stderr_chunks: list[bytes] = []

    def drain() -> None:
        assert proc.stderr is not None
        while chunk := proc.stderr.read(65536):
            stderr_chunks.append(chunk)

    def sample() -> None:
        nonlocal peak, note
        while True:
            kb = _tree_rss_kb(proc.pid)
            peak = max(peak, kb)
            elapsed = time.perf_counter() - started
            if kb / 1024 > memory_limit_mb or elapsed > timeout_s:
                note = f"FAILED: killed after {elapsed:.0f} s at {kb / 1024:.0f} MB"
                os.killpg(proc.pid, signal.SIGKILL)
                return
            if stop.wait(SAMPLE_INTERVAL_S):
                return

    t_err = threading.Thread(target=drain, daemon=True)
    t_mem = threading.Thread(target=sample, daemon=True)
    t_err.start()
    t_mem.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # interrupted: take the whole tree down with us
        os.killpg(proc.pid, signal.SIGKILL)
        stop.set()
        raise
    wall = time.perf_counter() - started
    stop.set()
    t_mem.join()
    t_err.join(timeout=5)
    rc = os.waitstatus_to_exitcode(status)
    proc.returncode = rc
    maxrss_kb = usage.ru_maxrss
    cpu = usage.ru_utime + usage.ru_stime
    try:
        with open(time_out) as fh:
            text = fh.read().strip().splitlines()
        last = text[-1].split() if text else []
        if len(last) == 3 and last[0].isdigit():
            maxrss_kb = int(last[0])
            cpu = float(last[1]) + float(last[2])
        if text and text[0].startswith("Command terminated by signal"):
            rc = -int(text[0].rsplit(" ", 1)[-1])
    except OSError:
        pass
    finally:
        os.unlink(time_out)
    if rc < 0 and not note:
        note = f"FAILED: killed by signal {-rc}"
    err = b"".join(stderr_chunks).decode("utf-8", "replace").strip()
    if err and rc not in (0, 1) and not note:
        note = "FAILED: " + err.splitlines()[-1][:200]
    return wall, peak / 1024, maxrss_kb / 1024, rc, note, cpu


# --- the contenders ------------------------------------------------------------------------------


def checkov_hidden_excludes(tree: Path) -> list[str]:
    """Names of the directories in `tree` that Checkov skips by default: kubeward and the
    floor are given them as `--exclude` so that every contender reads the same files."""
    names: set[str] = set()
    for _dirpath, dirnames, _ in os.walk(tree):
        for d in dirnames:
            if d in (".git", ".hg", ".svn"):
                continue
            if (d.startswith(".") and d not in CHECKOV_KEPT_HIDDEN) or d in CHECKOV_IGNORED_DIRS:
                names.add(d)
    return sorted(names)


def kubeward_cmd(tree: Path, excludes: Iterable[str], jobs: int | None) -> list[str]:
    cmd = [str(KUBEWARD), "scan", str(tree), "--format", "json", "--output", "/dev/null"]
    cmd += ["--fail-on", "never", "--no-progress"]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    for e in excludes:
        cmd += ["--exclude", e]
    return cmd


def checkov_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CKV_SKIP_PACKAGE_UPDATE_CHECK="true",
        BC_SKIP_MAPPING="TRUE",
        PATH=f"{BENCH_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("CKV_IGNORE_HIDDEN_DIRECTORIES", None)  # Checkov's default: skip hidden dirs
    return env


def checkov_cmd(tree: Path) -> list[str]:
    # No --quiet: passed checks are listed too, so the files Checkov reported on can be counted.
    return [
        str(BENCH_VENV / "bin" / "checkov"),
        "-d",
        str(tree),
        "--framework",
        CHECKOV_FRAMEWORKS,
        "--compact",
        "-o",
        "json",
        "--skip-download",
    ]


def checkov_summary(out: str) -> dict[str, object]:
    """Per framework: resources and files Checkov reported on, from its JSON output."""
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        return {"frameworks": {}, "files": 0, "unparsable_output": True}
    reports = data if isinstance(data, list) else [data]
    frameworks: dict[str, dict[str, int]] = {}
    all_files: set[str] = set()
    for r in reports:
        if not isinstance(r, dict) or "check_type" not in r:
            continue
        res = r.get("results") or {}
        files: set[str] = set()
        for key in ("passed_checks", "failed_checks", "skipped_checks"):
            for c in res.get(key, []):
                if c.get("file_path"):
                    files.add(str(c["file_path"]))
        errors = res.get("parsing_errors", []) or []
        summary = r.get("summary") or {}
        frameworks[str(r["check_type"])] = {
            "files": len(files),
            "resources": int(summary.get("resource_count", 0)),
            "parsing_errors": len(errors),
        }
        all_files |= files
        all_files |= {str(e) for e in errors}
    return {"frameworks": frameworks, "files": len(all_files)}


def ensure_checkov() -> str:
    """Create `.bench-venv` and install Checkov there when missing; return its version."""
    exe = BENCH_VENV / "bin" / "checkov"

    def version() -> str | None:
        if not exe.exists():
            return None
        r = subprocess.run(
            [str(exe), "--version"], env=checkov_env(), capture_output=True, text=True
        )
        return r.stdout.strip() if r.returncode == 0 else None

    found = version()
    if found == CHECKOV_VERSION:
        return found
    print(f"installing Checkov {CHECKOV_VERSION} into {BENCH_VENV.name} ...", flush=True)
    if not (BENCH_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    pip = [str(BENCH_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
    for args in (["--upgrade", "pip"], [f"checkov=={CHECKOV_VERSION}"]):
        r = subprocess.run(pip + args, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"pip install {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    found = version()
    if found != CHECKOV_VERSION:
        sys.exit(f"Checkov {CHECKOV_VERSION} did not install (got {found!r})")
    return found


# --- the parse floor (child process) -------------------------------------------------------------


def _parse_files(paths: Sequence[tuple[str, bool]]) -> tuple[int, int]:
    """Read and parse each (path, is_yaml) pair; return (parsed, failed)."""
    import dockerfile
    import yaml

    ok = bad = 0
    for path, is_yaml in paths:
        try:
            with open(path, "rb") as fh:
                text = fh.read().decode("utf-8-sig")
            if is_yaml:
                for _ in yaml.compose_all(text, Loader=yaml.CSafeLoader):
                    pass
            else:
                dockerfile.parse_string(text)
            ok += 1
        except Exception:
            bad += 1
    return ok, bad


def floor_main(tree: str, procs: int, excludes: Sequence[str]) -> None:
    """Discover with kubeward's own walk, then read and parse every YAML/JSON file and
    Dockerfile; other kinds (Helm templates, key material) are only read by kubeward too."""
    # Not kubeward.load: it imports `dockerfile`, whose Go runtime must not be running in a
    # process that forks workers (they deadlock on their first parse).
    from kubeward.discover import discover
    from kubeward.source import FileKind

    yaml_kinds = {
        k
        for k in FileKind
        if k not in (FileKind.DOCKERFILE, FileKind.HELM_TEMPLATE, FileKind.OTHER)
    }
    items, _ = discover([Path(tree)], exclude=list(excludes))
    work = [
        (d.abspath, d.kind in yaml_kinds, d.size)
        for d in items
        if d.kind in yaml_kinds or d.kind is FileKind.DOCKERFILE
    ]
    if procs <= 1:
        ok, bad = _parse_files([(p, y) for p, y, _ in work])
    else:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        # The same balancing as kubeward's engine: largest first, dealt round-robin.
        order = sorted(work, key=lambda w: -w[2])
        n_chunks = procs * 8
        chunks = [[(p, y) for p, y, _ in order[i::n_chunks]] for i in range(n_chunks)]
        with ProcessPoolExecutor(max_workers=procs, mp_context=get_context("fork")) as pool:
            parts = list(pool.map(_parse_files, [c for c in chunks if c]))
        ok = sum(p[0] for p in parts)
        bad = sum(p[1] for p in parts)
    print(json.dumps({"discovered": len(items), "parsed": ok, "parse_errors": bad}))


# --- one tree ----------------------------------------------------------------------------------


def bench_tree(name: str, jobs: int, with_checkov: bool) -> list[Measure]:
    tree = CORPORA / name
    excludes = checkov_hidden_excludes(tree)
    out: list[Measure] = []

    # The parse floor first: it also counts the files (kubeward's discovery, same excludes).
    floor_counts: dict[str, int] = {}
    for procs in (1, jobs):
        load = os.getloadavg()[0]
        with tempfile.TemporaryFile() as fh:
            cmd = [str(PYTHON), str(Path(__file__).resolve()), "--floor", str(tree)]
            cmd += ["--procs", str(procs), *[f"--exclude={e}" for e in excludes]]
            wall, pss, maxrss, rc, note, cpu = run_measured(
                cmd, stdout=fh.fileno(), timeout_s=KUBEWARD_TIMEOUT_S
            )
            fh.seek(0)
            raw = fh.read().decode()
        try:
            floor_counts = json.loads(raw.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            note = note or "FAILED: no output"
        label = "parse floor (1 process)" if procs == 1 else f"parse floor ({procs} processes)"
        out.append(
            Measure(
                label,
                name,
                floor_counts.get("discovered", 0),
                wall,
                pss,
                maxrss,
                rc,
                note,
                load,
                dict(floor_counts),
                cpu,
            )
        )
        if jobs == 1:
            break
    files = floor_counts.get("discovered", 0)

    runs: list[tuple[int | None, str]] = [
        (None, "kubeward (default --jobs)"),
        (1, "kubeward --jobs 1"),
    ]
    if jobs > 1:
        runs.append((jobs, f"kubeward --jobs {jobs}"))
    for j, label in runs:
        load = os.getloadavg()[0]
        wall, pss, maxrss, rc, note, cpu = run_measured(
            kubeward_cmd(tree, excludes, j), timeout_s=KUBEWARD_TIMEOUT_S
        )
        if rc not in (0,) and not note:
            note = f"FAILED: exit {rc}"
        out.append(Measure(label, name, files, wall, pss, maxrss, rc, note, load, cpu_s=cpu))

    if with_checkov:
        load = os.getloadavg()[0]
        with tempfile.TemporaryFile() as fh:
            wall, pss, maxrss, rc, note, cpu = run_measured(
                checkov_cmd(tree), env=checkov_env(), stdout=fh.fileno()
            )
            fh.seek(0)
            summary = checkov_summary(fh.read().decode("utf-8", "replace"))
        # Checkov exits 1 when it has failed checks: that is its ordinary result.
        m = Measure("Checkov", name, files, wall, pss, maxrss, rc, note, load, summary, cpu)
        out.append(m)
    if excludes:
        for m in out:
            m.extra["excluded_dirs"] = excludes
    return out


# --- the report ------------------------------------------------------------------------------


def _fmt_ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}×"


def ratios(rows: Sequence[Measure]) -> dict[str, float | None]:
    """The issue's two ratios on one tree (or the totals), from the measures of one tree.

    - `vs_checkov`: kubeward's throughput (default --jobs) over Checkov's on the same files
      (target ≥ 10).
    - `vs_floor_1` / `vs_floor_n`: kubeward's wall time over the parse floor's, --jobs 1
      against one process and --jobs N (all cores) against N processes (target ≤ 2).
    """
    by = {m.tool.split(" (")[0] if m.tool.startswith("parse floor") else m.tool: m for m in rows}
    floor1 = next((m for m in rows if m.tool == "parse floor (1 process)"), None)
    floor_n = next(
        (m for m in rows if m.tool.startswith("parse floor") and m is not floor1), floor1
    )
    kw_default = next((m for m in rows if m.tool == "kubeward (default --jobs)"), None)
    kw_1 = next((m for m in rows if m.tool == "kubeward --jobs 1"), None)
    kw_n = next((m for m in rows if m.tool.startswith("kubeward --jobs ") and m is not kw_1), kw_1)
    ck = by.get("Checkov")

    def div(a: Measure | None, b: Measure | None, *, time: bool) -> float | None:
        if a is None or b is None or not a.ok or not b.ok or a.wall_s <= 0 or b.wall_s <= 0:
            return None
        return a.wall_s / b.wall_s if time else b.wall_s / a.wall_s

    return {
        "vs_checkov": div(kw_default, ck, time=False),
        "vs_checkov_jobs1": div(kw_1, ck, time=False),
        "vs_floor_1": div(kw_1, floor1, time=True),
        "vs_floor_n": div(kw_n, floor_n, time=True),
        "vs_floor_1_cpu": (
            kw_1.cpu_s / floor1.cpu_s
            if kw_1 and floor1 and kw_1.ok and floor1.ok and floor1.cpu_s > 0
            else None
        ),
    }


def format_table(rows: Sequence[Measure]) -> str:
    """A Markdown table of the contenders on one tree (or the totals)."""
    lines = [
        "| contender | files | wall (s) | files/s | CPU (s) | max RSS (MB) | tree RSS (MB)"
        " | load | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m in rows:
        note = m.note
        load = f"{m.load:.1f}" if m.tree != "total" else ""
        if m.tool == "Checkov" and not note and "files" in m.extra:
            fw = m.extra.get("frameworks")
            items = sorted(fw.items()) if isinstance(fw, dict) else []
            parts = ", ".join(f"{k} {v['files']}" for k, v in items if isinstance(v, dict))
            note = f"reported on {m.extra['files']} files" + (f" ({parts})" if parts else "")
        lines.append(
            f"| {m.tool} | {m.files} | {m.wall_s:.2f} | {m.files_per_s:.0f} | {m.cpu_s:.2f} | "
            f"{m.maxrss_mb:.0f} | {m.peak_tree_mb:.0f} | {load} | {note} |"
        )
    return "\n".join(lines)


def totals(measures: Sequence[Measure]) -> list[Measure]:
    """Sum per contender over the trees where every contender of the tree succeeded."""
    trees: dict[str, list[Measure]] = {}
    for m in measures:
        trees.setdefault(m.tree, []).append(m)
    good = [t for t, ms in trees.items() if all(m.ok for m in ms)]
    out: dict[str, Measure] = {}
    for t in good:
        for m in trees[t]:
            acc = out.setdefault(m.tool, Measure(m.tool, "total", 0, 0.0, 0.0, 0.0, 0))
            acc.files += m.files
            acc.wall_s += m.wall_s
            acc.cpu_s += m.cpu_s
            acc.peak_tree_mb = max(acc.peak_tree_mb, m.peak_tree_mb)
            acc.maxrss_mb = max(acc.maxrss_mb, m.maxrss_mb)
    return list(out.values())


def _verdict(value: float | None, target: float, *, at_least: bool) -> str:
    if value is None:
        return "not measured"
    met = value >= target if at_least else value <= target
    return "met" if met else "**missed**"


def machine() -> dict[str, str]:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    kw = subprocess.run([str(KUBEWARD), "--version"], capture_output=True, text=True).stdout
    import yaml

    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "kubeward": kw.strip(),
        "kubectl": shutil.which("kubectl") or "absent here",
        "pyyaml": f"{yaml.__version__} (libyaml {'yes' if yaml.__with_libyaml__ else 'NO'})",
        "dockerfile": _dist_version("dockerfile"),
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


METHOD = """\
## How it is measured

- Each contender is a separate process started by `bench/run.py`, one at a time, one run
  each, on the trees of `../shared/corpora/` listed below. Wall time includes interpreter
  start-up for every contender.
- **files** is the same number for every contender of a tree: the files kubeward's own
  discovery (`kubeward.discover.discover`) finds, with the directories Checkov skips by
  default excluded for everybody (see *Same files* below). files/s = files / wall time.
- **kubeward**: `.venv/bin/kubeward scan TREE --format json --output /dev/null
  --fail-on never --no-progress [--exclude DIR ...]`, with the default `--jobs` (auto: one
  process when cross-document rules or report sections run, as they do now, else all
  cores), with `--jobs 1` and with `--jobs {nproc}` (all cores, spawned workers).
- **Checkov {checkov}** (own virtualenv `.bench-venv`): `checkov -d TREE --framework
  {frameworks} --compact -o json --skip-download` with `CKV_SKIP_PACKAGE_UPDATE_CHECK=true
  BC_SKIP_MAPPING=TRUE`, offline. `--quiet` is left out so that the files Checkov reported
  on (passed or failed checks, parse errors) can be counted from its JSON: the *note*
  column shows them per framework. Its `helm` framework switches itself off (no `helm`
  binary here); `kustomize` runs through `kubectl kustomize` when `kubectl` is on the PATH
  ({kubectl}).
- **Parse floor**: the same discovery, then every YAML/JSON file read and parsed with
  `yaml.compose_all(text, Loader=yaml.CSafeLoader)` and every Dockerfile with BuildKit's
  parser (`dockerfile.parse_string`), nothing else; in one process, and in {nproc} worker
  processes (fork, with the Go parser loaded only after the fork; largest files first,
  dealt round-robin, as kubeward's engine does). Helm templates and key-material files
  are only read, never parsed, by kubeward too; the floor skips them.
- **Memory**: *max RSS* is `ru_maxrss` as `/usr/bin/time -f %M` reports it: the peak of
  the single largest process of the contender's tree, not a sum. *tree RSS* is the peak of
  the summed RSS of the whole process tree (main process and workers), sampled every
  {interval} ms from `/proc/PID/statm`: it counts pages that forked workers share with
  their parent once per process, so it overstates a forking tool's real footprint, and a
  run shorter than one interval may show only its start.
- **CPU** is user + system time of the contender and all its workers (`/usr/bin/time`
  `%U + %S`): unlike wall time it barely moves when other work shares the machine.
- **load** is the 1-minute load average when the contender started. This machine has
  {nproc} cores shared with other work: a load above about 1 means the contender competed
  for CPU and its time is pessimistic.
- **Ratios**: *vs Checkov* = kubeward's files/s (default `--jobs`) / Checkov's on the
  same files; *vs floor* = kubeward's wall time / the parse floor's (`--jobs 1` against one
  process, `--jobs {nproc}` against {nproc} processes).
- **Same files**: Checkov skips hidden directories (`CKV_IGNORE_HIDDEN_DIRECTORIES`,
  default on; its GitHub Actions runner still reads `.github`) and `node_modules`,
  `.terraform`, `.serverless`. With hidden directories on, Checkov grew past 24 GB on
  `kyverno-policies/` and was killed, so it runs with its defaults here, and kubeward and
  the floor are given `--exclude` for the same directory names (listed under each tree).
  Checkov reports only on the files its frameworks recognise (the *note* column).
"""


def render_doc(
    measures: Sequence[Measure], info: dict[str, str], rules: int, elapsed: float
) -> str:
    trees: dict[str, list[Measure]] = {}
    for m in measures:
        trees.setdefault(m.tree, []).append(m)
    tot = totals(measures)
    r_tot = ratios(tot)
    ck = info.get("checkov", "not run")
    vs_ck = r_tot["vs_checkov"]
    vs_f1 = r_tot["vs_floor_1"]
    vs_fn = r_tot["vs_floor_n"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`bench/run.py`), which also writes the raw figures to",
        "`bench/results.json`; re-run it to update this page rather than editing it.",
        "",
        f"- Date: {info['date']}; the whole run took {elapsed / 60:.1f} min.",
        f"- Machine: {info['nproc']} cores ({info['cpu']}), {info['memory']} memory,",
        f"  {info['os']}.",
        f"- Python {info['python']}; {info['kubeward']} with {rules} rules; Checkov {ck};",
        f"  PyYAML {info['pyyaml']}; dockerfile {info['dockerfile']}.",
        "- Command: `make bench` (= `.venv/bin/python bench/run.py`).",
        "",
        "## Targets (issue 2)",
        "",
        "| target | measured over all trees | verdict |",
        "|---|---:|---|",
        "| kubeward ≥ 10× Checkov's throughput on the same files"
        f" | {_fmt_ratio(vs_ck)} (with --jobs 1: {_fmt_ratio(r_tot['vs_checkov_jobs1'])})"
        f" | {_verdict(vs_ck, TARGET_VS_CHECKOV, at_least=True)} |",
        f"| kubeward within 2× of the parse floor: --jobs {info['nproc']} vs as many processes"
        f" | {_fmt_ratio(vs_fn)} | {_verdict(vs_fn, TARGET_VS_FLOOR, at_least=False)} |",
        "| kubeward within 2× of the parse floor: --jobs 1 vs one process"
        f" | {_fmt_ratio(vs_f1)} | {_verdict(vs_f1, TARGET_VS_FLOOR, at_least=False)} |",
        "| the same in CPU time (less sensitive to other load on the machine)"
        f" | {_fmt_ratio(r_tot['vs_floor_1_cpu'])}"
        f" | {_verdict(r_tot['vs_floor_1_cpu'], TARGET_VS_FLOOR, at_least=False)} |",
        "",
        METHOD.format(
            checkov=ck,
            frameworks=CHECKOV_FRAMEWORKS,
            interval=f"{SAMPLE_INTERVAL_S * 1000:.0f}",
            kubectl=info.get("kubectl", "?"),
            nproc=info["nproc"],
        ),
        "## Totals",
        "",
        format_table(tot),
        "",
        _ratio_line(r_tot, info["nproc"]),
        "Memory in this table is the largest of any one tree.",
        "",
        "## Per tree",
        "",
    ]
    for name, rows in trees.items():
        r = ratios(rows)
        lines += [f"### {name}", "", format_table(rows), ""]
        lines.append(_ratio_line(r, info["nproc"]))
        excl = rows[0].extra.get("excluded_dirs")
        if isinstance(excl, list) and excl:
            names = ", ".join(f"`{e}`" for e in excl)
            lines.append(f"Directories excluded for every contender (Checkov's default): {names}.")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _ratio_line(r: dict[str, float | None], nproc: str) -> str:
    return (
        f"Ratios: vs Checkov {_fmt_ratio(r['vs_checkov'])};"
        f" vs floor (--jobs 1 / 1 process) {_fmt_ratio(r['vs_floor_1'])}"
        f" (CPU time {_fmt_ratio(r['vs_floor_1_cpu'])});"
        f" vs floor (--jobs {nproc} / {nproc} processes) {_fmt_ratio(r['vs_floor_n'])}.\n"
    )


def count_rules() -> int:
    r = subprocess.run([str(KUBEWARD), "rules"], capture_output=True, text=True)
    return sum(1 for line in r.stdout.splitlines() if line.strip())


# --- main ---------------------------------------------------------------------------------


# Sections other benchmarks own (`make bench-gate`, `make bench-scaling` write between their
# markers): kept as they are when this script rewrites the rest of the page.
KEPT_SECTIONS = ("## Gate", "## Scaling")


def _kept_sections() -> str:
    if not DOC.exists():
        return ""
    text = DOC.read_text(encoding="utf-8")
    starts = [i for h in KEPT_SECTIONS if (i := text.find(f"\n{h}\n")) != -1]
    return "\n" + text[min(starts) + 1 :] if starts else ""


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--trees", default=",".join(TREES), help="comma-separated corpora folders")
    ap.add_argument("--no-checkov", action="store_true", help="leave Checkov out")
    ap.add_argument("--no-doc", action="store_true", help="print, do not write docs/benchmarks.md")
    ap.add_argument("--floor", metavar="TREE", help=argparse.SUPPRESS)
    ap.add_argument("--procs", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--exclude", action="append", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.floor:
        floor_main(args.floor, args.procs, args.exclude)
        return 0

    if not CORPORA.is_dir():
        sys.exit(f"{CORPORA} is missing: the benchmark needs ../shared/corpora")
    if not KUBEWARD.exists():
        sys.exit(f"{KUBEWARD} is missing: run `make bench` (it installs .venv first)")
    started = time.perf_counter()
    info = machine()
    info["date"] = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if not args.no_checkov:
        info["checkov"] = ensure_checkov()
    jobs = os.cpu_count() or 1
    rules = count_rules()
    measures: list[Measure] = []
    for name in [t.strip() for t in args.trees.split(",") if t.strip()]:
        if not (CORPORA / name).is_dir():
            sys.exit(f"no such corpus: {name}")
        print(f"== {name}", flush=True)
        rows = bench_tree(name, jobs, not args.no_checkov)
        for m in rows:
            print(
                f"   {m.tool:34} {m.files:6d} files {m.wall_s:8.2f} s {m.files_per_s:8.0f} files/s"
                f" {m.peak_tree_mb:7.0f} MB {m.note}",
                flush=True,
            )
        measures.extend(rows)
    elapsed = time.perf_counter() - started
    doc = render_doc(measures, info, rules, elapsed)
    if args.no_doc:
        print(doc)
        return 0
    DOC.write_text(doc + _kept_sections(), encoding="utf-8")
    raw = {
        "machine": info,
        "rules": rules,
        "elapsed_s": round(elapsed, 1),
        "measures": [{**asdict(m), "files_per_s": round(m.files_per_s, 1)} for m in measures],
    }
    RAW.write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)} and {RAW.relative_to(ROOT)} in {elapsed / 60:.1f} min")
    tot = ratios(totals(measures))
    print(
        "totals: vs Checkov",
        _fmt_ratio(tot["vs_checkov"]),
        "| vs floor 1 proc",
        _fmt_ratio(tot["vs_floor_1"]),
        "| vs floor",
        jobs,
        "procs",
        _fmt_ratio(tot["vs_floor_n"]),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
