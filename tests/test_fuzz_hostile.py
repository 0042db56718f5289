"""Issue 11's "done when": real corpus files, mutated the ways an attacker would, scanned by the
real command line in a process with a memory limit.

Each example takes files from ../shared/corpora (Kubernetes manifests, Helm values, Kyverno and
Gatekeeper policies, workflows, Dockerfiles), applies byte flips, YAML tags, merge keys,
anchors and aliases, other encodings, type confusion, huge scalars, line-ending changes and
hostile characters, and asserts: no internal error (exit 3, traceback or an `internal error`
entry), no hang (a generous timeout, never a speed claim), no memory blow-up (RLIMIT_AS), no
code run by a YAML tag, and every output format read back by a real parser
(tests/output_checks.py). The metamorphic test asserts that CRLF line endings, a UTF-8 BOM and
a trailing comment change no finding.

Hypothesis is derandomized and bounded, so the examples are the same on every run.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from kubeward.engine import ScanOptions, scan
from kubeward.report import Format
from tests import output_checks
from tests.conftest import REPO, require_shared

MEMORY_LIMIT = 2 << 30  # bytes of address space for one scan
TIMEOUT = 120  # seconds: catches a hang only
_SUFFIXES = (".yaml", ".yml", ".json")


@functools.cache
def _seeds() -> tuple[tuple[str, bytes], ...]:
    """About 60 corpus files, every kind represented, picked the same way on every run: each
    as (its path inside its project, so that `.github/workflows/` and `Chart.yaml` keep their
    meaning; its bytes)."""
    root = require_shared("corpora")
    files = sorted(
        p
        for p in root.rglob("*")
        if (p.suffix in _SUFFIXES or p.name.startswith("Dockerfile"))
        and p.is_file()
        and not p.is_symlink()
        and 200 < p.stat().st_size < 16_000
    )
    picked = files[:: max(len(files) // 48, 1)]
    for want in (
        "/.github/workflows/",
        "Chart.yaml",
        "values.yaml",
        "kustomization.yaml",
        "Dockerfile",
        "kyverno-policies/",
        "gatekeeper-library/",
        ".gitlab-ci",
        "zizmor/",
    ):
        picked += [p for p in files if want in p.as_posix()][::7][:4]
    out = {}
    for p in picked:
        project, rel = p.relative_to(root).as_posix().split("/", 1)
        if project == "zizmor" and p.suffix == ".yml":
            rel = f".github/workflows/{p.name}"  # zizmor's test workflows, where GitHub reads them
        out[rel] = p.read_bytes()
    return tuple(sorted(out.items()))


# --- mutations -------------------------------------------------------------------------------

TAGS = [
    b"!!python/object/apply:os.system ['touch {canary}']",
    b"!!python/object/new:subprocess.Popen [['touch', '{canary}']]",
    b"!!python/name:os.system",
    b"!!binary aGVsbG8=",
    b"!!binary not base64!",
    b"!unknown-tag value",
    b"!<tag:evil.example,2026:x> {a: 1}",
    b"!!set {a, b}",
    b"!!omap [a: 1, a: 2]",
    b"!!int 0x_zz",
    b"!!timestamp 2026-13-45",
]
CONFUSED = [
    b"[]",
    b"{}",
    b"[a, [b, [c]]]",
    b"{x: {y: z}}",
    b"null",
    b"~",
    b"12",
    b"-1e999",
    b"true",
    b'""',
    b"|\n  block\n",
    b"{{ .Values.x }}",
    b"${{ github.event.issue.title }}",
]
HOSTILE = [
    "\x1b[2J\x1b]8;;http://evil\x07x",
    "\u202ename\u2066",
    "<details><!--",
    "[l](http://e) ![i](http://e/i.png)",
    "| # ## x\r\n### y",
    "`` ` ``",
    "[bold red]x[/]",
    "\x85\u2028\ufeff",
]

HOSTILE_FOLDERS = [
    "a b#c?d%e&f",
    "ü日\u00a0",
    "ev``il <b>|x|",
    "\x1b[31m\u202e\u2066",
    "new\nline\r# h",
    "[l](http:e) ![i](j)",
    "<!-- <details>",
    "back\\slash\x7f\x9b",
]

Mutation = Callable[[bytes, st.DataObject, Path], bytes]


def _line_starts(data: bytes) -> list[int]:
    return [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A and i + 1 < len(data)]


def _value_slot(data: bytes, draw: st.DataObject) -> tuple[int, int] | None:
    """A `key: value` on some line: (start, end) of the value, or None."""
    slots = []
    for start in _line_starts(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        colon = data.find(b": ", start, end)
        if colon >= 0:
            slots.append((colon + 2, end))
    return draw.draw(st.sampled_from(slots)) if slots else None


def _replace_value(data: bytes, draw: st.DataObject, new: bytes) -> bytes:
    slot = _value_slot(data, draw)
    if slot is None:
        return new + b"\n" + data
    return data[: slot[0]] + new + data[slot[1] :]


def flip_bytes(data: bytes, draw: st.DataObject, _: Path) -> bytes:
    out = bytearray(data)
    for _i in range(draw.draw(st.integers(1, 8))):
        if out:
            i = draw.draw(st.integers(0, len(out) - 1))
            out[i] ^= 1 << draw.draw(st.integers(0, 7))
    return bytes(out)


def add_tag(data: bytes, draw: st.DataObject, tmp: Path) -> bytes:
    tag = draw.draw(st.sampled_from(TAGS)).replace(b"{canary}", str(tmp / "PWNED").encode())
    return _replace_value(data, draw, tag)


def add_merge_keys(data: bytes, draw: st.DataObject, _: Path) -> bytes:
    depth = draw.draw(st.integers(1, 12))
    chain = [b"x-m0: &m0 {a: 1, b: [1, 2]}"]
    chain += [b"x-m%d: &m%d {<<: [*m%d, *m%d], k%d: v}" % (i, i, i - 1, i - 1, i) for i in
              range(1, depth)]  # fmt: skip
    merged = _replace_value(data, draw, b"{<<: *m%d, c: 3}" % (depth - 1))
    return b"\n".join(chain) + b"\n" + merged


def add_aliases(data: bytes, draw: st.DataObject, _: Path) -> bytes:
    kind = draw.draw(st.sampled_from([b"*undefined", b"&a x", b"*a", b"&a [*a]", b"&a &b x"]))
    out = _replace_value(data, draw, kind)
    return _replace_value(out, draw, b"*a") if kind.startswith(b"&") else out


def reencode(data: bytes, draw: st.DataObject, _: Path) -> bytes:
    text = data.decode("utf-8", "replace")
    codec = draw.draw(st.sampled_from(["utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252"]))
    return text.encode(codec, "replace")


def confuse_type(data: bytes, draw: st.DataObject, _: Path) -> bytes:
    return _replace_value(data, draw, draw.draw(st.sampled_from(CONFUSED)))


def huge_scalar(data: bytes, draw: st.DataObject, _: Path) -> bytes:
    size = draw.draw(st.sampled_from([5_000, 70_000, 300_000]))
    char = draw.draw(st.sampled_from([b"a", b"{", b"\\", b" "]))
    quoted = draw.draw(st.booleans())
    value = b'"' + char.replace(b"\\", b"\\\\") * size + b'"' if quoted else b"x" + char * size
    return _replace_value(data, draw, value)


def line_endings(data: bytes, draw: st.DataObject, _: Path) -> bytes:
    new = draw.draw(st.sampled_from([b"\r\n", b"\r", b"\n\n"]))
    return data.replace(b"\n", new)


def hostile_text(data: bytes, draw: st.DataObject, _: Path) -> bytes:
    value = json.dumps(draw.draw(st.sampled_from(HOSTILE))).encode()  # a YAML double-quoted
    return _replace_value(data, draw, value)


def many_documents(data: bytes, draw: st.DataObject, _: Path) -> bytes:
    most = max(2, min(40, 400_000 // max(len(data), 1)))  # a few hundred KB at most
    return b"\n---\n".join([data] * draw.draw(st.integers(2, most)))


def truncate(data: bytes, draw: st.DataObject, _: Path) -> bytes:
    return data[: draw.draw(st.integers(0, len(data)))]


def deep_nesting(data: bytes, draw: st.DataObject, _: Path) -> bytes:
    depth = draw.draw(st.sampled_from([40, 600, 3000]))
    if draw.draw(st.booleans()):
        return _replace_value(data, draw, b"[" * depth + b"]" * depth)
    depth = min(depth, 600)  # block style: the file grows with the square of the depth
    block = b"".join(b" " * (i + 1) + b"k%d:\n" % i for i in range(depth))
    return _replace_value(data, draw, b"\n" + block)


MUTATIONS: list[Mutation] = [
    flip_bytes,
    add_tag,
    add_merge_keys,
    add_aliases,
    reencode,
    confuse_type,
    huge_scalar,
    line_endings,
    hostile_text,
    many_documents,
    truncate,
    deep_nesting,
]


# --- the scan, in its own process --------------------------------------------------------------


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _scan_cli(repo: Path, out: Path) -> dict[Format, str]:
    """Scan with the real command line, every format to a file; assert it neither crashed nor
    hung nor ran out of memory."""
    files = {fmt: out / f"report.{fmt.value}" for fmt in Format}
    cmd = [sys.executable, "-m", "kubeward", "scan", str(repo), "-j", "1", "--no-progress"]
    cmd += ["--fail-on", "never"]
    for fmt, path in files.items():
        cmd += ["-f", f"{fmt.value}={path}"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("KUBEWARD_DEBUG", None)
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        preexec_fn=_limit_memory,
        check=False,
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return {fmt: path.read_text(encoding="utf-8") for fmt, path in files.items()}


def _check_outputs(outputs: dict[Format, str]) -> dict[str, object]:
    doc = output_checks.check_json(outputs[Format.JSON])
    internal = [e for e in doc["errors"] if "internal error" in e["reason"]]
    assert not internal, internal
    output_checks.check_sarif(outputs[Format.SARIF], doc)
    output_checks.check_junit(outputs[Format.JUNIT], doc)
    output_checks.check_markdown(outputs[Format.MARKDOWN], doc)
    output_checks.check_text(outputs[Format.TEXT], doc, color=False)
    output_checks.check_html(outputs[Format.HTML], doc)
    output_checks.check_github(outputs[Format.GITHUB], doc)
    output_checks.check_gitlab_sast(outputs[Format.GITLAB_SAST], doc)
    return doc


# No shrinking: each example is a process; a failure names its files and mutations instead
# (`note`), and its repository stays in pytest's temporary directory.
@pytest.mark.parametrize("family", MUTATIONS, ids=lambda m: m.__name__)
@settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_mutated_corpus_files_scan_cleanly(
    tmp_path_factory: pytest.TempPathFactory, family: Mutation, data: st.DataObject
) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    repo = tmp / "repo"
    # Mutated files beside an intact one: the scan of the rest must go on and be reported.
    # Seeds on which rules fire, so that mutated values reach messages and every renderer.
    seeds = _seeds_with_findings(tmp_path_factory.getbasetemp() / "fuzz-seeds")
    # Indices, not the seeds: a failure report prints what was drawn.
    picks = data.draw(st.lists(st.integers(0, len(seeds) - 1), min_size=2, max_size=3, unique=True))
    for n, (rel, original, _found) in enumerate(seeds[i] for i in picks):
        content = original
        if n:
            # This family first, then now and then another on top of it.
            then = data.draw(st.lists(st.sampled_from(MUTATIONS), max_size=1))
            for mutate in (family, *then):
                content = mutate(content, data, tmp)
                event(mutate.__name__)
            note(f"{rel}: {', '.join(m.__name__ for m in (family, *then))}")
        # Now and then under a hostile folder name (files keep their own names: they decide
        # what a file is).
        folder = data.draw(st.sampled_from(["", "", *HOSTILE_FOLDERS]))
        if folder:
            event("under a hostile folder")
        path = repo / folder / rel if folder else repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    note(f"repository: {repo}")
    out = tmp / "out"
    out.mkdir()
    doc = _check_outputs(_scan_cli(repo, out))
    event("scan reported findings" if doc["findings"] else "scan reported no finding")
    event("scan reported file errors" if doc["errors"] else "scan reported no file error")
    assert not (tmp / "PWNED").exists(), "a YAML tag ran code"


# --- metamorphic: what must not change any finding ----------------------------------------------


Findings = tuple[frozenset[tuple[str, int]], int]


def _findings(root: Path, rel: str, content: bytes) -> Findings:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    report = scan([root], ScanOptions(jobs=1))
    return frozenset((r.rule.id, r.span.start.line) for r in report.results), len(report.errors)


@functools.cache
def _seeds_with_findings(base: Path) -> tuple[tuple[str, bytes, Findings], ...]:
    """The seeds (YAML and Dockerfiles) on which some rule fires, with what fires where: a
    metamorphic test on a file with no finding would show nothing."""
    out = []
    for i, (rel, content) in enumerate(_seeds()):
        if rel.endswith(".json"):
            continue  # a `#` line is a YAML comment, but invalid JSON for other tools
        found = _findings(base / str(i), rel, content)
        if found[0]:
            out.append((rel, content, found))
    return tuple(out)


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _bom(data: bytes) -> bytes:
    return b"\xef\xbb\xbf" + data.removeprefix(b"\xef\xbb\xbf")


def _trailing_comment(data: bytes) -> bytes:
    return data + (b"" if data.endswith(b"\n") else b"\n") + b"# a trailing comment\n"


SAME_FINDINGS = {"crlf": _crlf, "bom": _bom, "trailing-comment": _trailing_comment}
_COMBINATIONS = [
    names
    for k in range(1, len(SAME_FINDINGS) + 1)
    for names in itertools.combinations(sorted(SAME_FINDINGS), k)
]


@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_line_endings_bom_and_comments_change_no_finding(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    seeds = _seeds_with_findings(tmp_path_factory.getbasetemp() / "fuzz-seeds")
    assert len(seeds) >= 15  # else the corpus pick changed and this test shows little
    rel, original, expected = seeds[data.draw(st.integers(0, len(seeds) - 1))]
    note(rel)
    names = data.draw(st.sampled_from(_COMBINATIONS))
    variant = original
    for name in names:
        variant = SAME_FINDINGS[name](variant)
    assert _findings(tmp_path_factory.mktemp("variant"), rel, variant) == expected, names
