"""Hostile repositories at the scan level (issue 11): odd file names, what the walk cannot read,
bad baselines and options, output amplification, guarded scan providers and judge, and work
that must grow linearly with the input. Every input is built here; the real CLI runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kubeward.engine import MAX_FINDINGS_PER_FILE_RULE, ScanOptions, scan
from tests.test_cli import kw
from tests.test_hostile_parse import POD, errors_of, good_file, hits, scan_json


def _no_crash(p: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr, p.stderr


# --- file names and the walk -------------------------------------------------------------------


def test_non_utf8_names_in_every_format(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    odd_dir = root / os.fsdecode(b"d\xe9j\xe0")  # Latin-1 bytes: not UTF-8
    odd_dir.mkdir(parents=True)
    (odd_dir / os.fsdecode(b"pod-\xff.yaml")).write_text(POD)
    (root / os.fsdecode(b"Dockerfile.\xfe")).write_text("FROM alpine:3\n")
    good_file(root)
    shown = {"d\\xe9j\\xe0/pod-\\xff.yaml", "Dockerfile.\\xfe", "good.yaml"}
    _, report = scan_json(root)
    assert errors_of(report, root) == {}
    got = {path for path, _ in hits(report, root, "image-not-pinned-by-digest")}
    assert got == shown
    for fmt in ("text", "sarif", "junit", "markdown"):
        p = kw("scan", str(root), "-f", fmt, "--no-progress")
        _no_crash(p)
        assert p.returncode == 1, (fmt, p.stderr)
        # escaped once more by some formats; SARIF URIs name the real byte (%FF)
        assert "xff.yaml" in p.stdout or (fmt == "sarif" and "%FF.yaml" in p.stdout), fmt
    sarif = json.loads(kw("scan", str(root), "-f", "sarif").stdout)
    assert sarif["version"] == "2.1.0"
    ET.fromstring(kw("scan", str(root), "-f", "junit").stdout)


def test_a_name_that_looks_like_an_escape_is_not_hidden(tmp_path: Path) -> None:
    # `a\xff.yaml` spelled with a backslash and the byte 0xff shown as `\xff`: one name on
    # screen for two files. The first is scanned; the other is an error entry, never dropped.
    (tmp_path / "a\\xff.yaml").write_text(POD)
    (tmp_path / os.fsdecode(b"a\xff.yaml")).write_text(POD.replace("nginx:1", "redis:7"))
    _, report = scan_json(tmp_path)
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [("a\\xff.yaml", 7)]
    assert errors_of(report, tmp_path) == {
        "a\\xff.yaml": [
            (
                None,
                "another file's name is shown the same (bytes that are not UTF-8 in a name); "
                "this one was not scanned",
            )
        ]
    }


def test_non_utf8_root_and_baseline_names(tmp_path: Path) -> None:
    root = tmp_path / os.fsdecode(b"r\xff")
    root.mkdir()
    good_file(root)
    base = tmp_path / os.fsdecode(b"b\xfe.json")
    p = kw("scan", str(root), "--write-baseline", str(base), "-f", "json")
    _no_crash(p)
    assert p.returncode == 1
    assert json.loads(p.stdout)["roots"] == [tmp_path.as_posix() + "/r\\xff"]
    p = kw("scan", str(root), "--baseline", str(base), "-f", "json")
    _no_crash(p)
    assert p.returncode == 0 and json.loads(p.stdout)["summary"]["suppressed"] == 3


def _deep_dirs(base: Path, total: int) -> tuple[str, int]:
    """Directories nested under `base` until the path is over `total` characters, made through
    directory descriptors (no path that long can be named); returns the relative path of the
    first directory whose path is over PATH_MAX, and the descriptor of the deepest."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    name = "d" * 200
    rel: list[str] = []
    first_over = ""
    while len(str(base)) + len(rel) * 201 < total:
        os.mkdir(name, dir_fd=fd)
        nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nxt
        rel.append(name)
        if not first_over and len(str(base)) + 1 + len("/".join(rel)) >= 4096:
            first_over = "/".join(rel)
    return first_over, fd


def test_path_longer_than_path_max_is_an_error_entry(tmp_path: Path) -> None:
    good_file(tmp_path)
    first_over, fd = _deep_dirs(tmp_path, 6000)
    try:
        hidden = os.open("pod.yaml", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(hidden, POD.encode())
        os.close(hidden)
    finally:
        os.close(fd)
    _, report = scan_json(tmp_path)
    errs = errors_of(report, tmp_path)
    # The walk stops where the path gets too long for the system: that directory is named.
    assert [k for k in errs if k.startswith("dddd")] == [first_over], errs
    ((_, reason),) = errs[first_over]
    assert reason == "cannot read directory: File name too long; not scanned"
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [("good.yaml", 7)]
    shutil.rmtree(tmp_path / ("d" * 200))  # rmtree works by descriptors; pytest's may not


def test_unreadable_directory_is_an_error_entry() -> None:
    # Root reads anything: drop the capabilities that let it (util-linux setpriv), as in
    # test_bad_input.test_unreadable_file.
    root = Path(tempfile.mkdtemp(prefix="kw-unreadable-dir-"))
    locked = root / "locked"
    try:
        good_file(root)
        locked.mkdir()
        (locked / "pod.yaml").write_text(POD)
        locked.chmod(0o000)
        cmd = [sys.executable, "-m", "kubeward", "scan", str(root), "-f", "json", "--no-progress"]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            assert setpriv, "setpriv (util-linux) is needed to test unreadable directories as root"
            cmd = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        _no_crash(p)
        report = json.loads(p.stdout)
        assert errors_of(report, root) == {
            "locked": [(None, "cannot read directory: Permission denied; not scanned")]
        }
        assert hits(report, root, "image-not-pinned-by-digest") == [("good.yaml", 7)]
    finally:
        locked.chmod(0o755)
        shutil.rmtree(root)


# --- baseline and options -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[]", "not a kubeward baseline"),
        ('{"kubeward_baseline": 1, "findings": "abc"}', "baseline 'findings' is not a list"),
        ('{"kubeward_baseline": 1, "findings": 5}', "baseline 'findings' is not a list"),
        (
            '{"kubeward_baseline": 1, "findings": [{"fingerprint": 5}]}',
            "baseline finding 0 is not an object with a 'fingerprint' string",
        ),
        ('{"kubeward_baseline": 1, "findings": [7]}', "baseline finding 0 is not an object"),
        ("[" * 100_000 + "]" * 100_000, "baseline is nested too deeply"),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "baseline is nested too deeply"),
        (b"\xff\xfe{}", "baseline is not UTF-8"),
    ],
)
def test_bad_baseline_is_exit_2_naming_the_file(
    tmp_path: Path, content: str | bytes, reason: str
) -> None:
    good_file(tmp_path)
    base = tmp_path / "base.json"
    if isinstance(content, bytes):
        base.write_bytes(content)
    else:
        base.write_text(content)
    p = kw("scan", str(tmp_path), "--baseline", str(base))
    _no_crash(p)
    assert p.returncode == 2
    assert p.stderr.startswith(f"kubeward: error: {base}: {reason}"), p.stderr
    assert len(p.stderr.splitlines()) == 1


def test_baseline_that_is_not_a_regular_file(tmp_path: Path) -> None:
    good_file(tmp_path)
    for target, reason in (
        ("/dev/zero", "baseline is not a regular file"),
        (str(tmp_path), "baseline is not a regular file"),
        (str(tmp_path / "missing.json"), "cannot read baseline: No such file or directory"),
    ):
        p = kw("scan", str(tmp_path), "--baseline", target)
        _no_crash(p)
        assert p.returncode == 2
        assert p.stderr.strip() == f"kubeward: error: {target}: {reason}"


def test_write_baseline_target_is_checked_before_the_scan(tmp_path: Path) -> None:
    good_file(tmp_path)
    for target, reason in (
        (tmp_path, "--write-baseline names a directory, not a file"),
        (
            tmp_path / "no" / "such" / "b.json",
            f"cannot write baseline: no directory {tmp_path}/no/such",
        ),
    ):
        p = kw("scan", str(tmp_path), "--write-baseline", str(target))
        _no_crash(p)
        assert p.returncode == 2
        assert p.stderr.strip() == f"kubeward: error: {target}: {reason}"
        assert p.stdout == ""  # refused up front: no scan, no report


@pytest.mark.parametrize("value", ["0", "-1", str(10**30), str((2 << 30) + 1)])
def test_absurd_max_file_size_is_exit_2(tmp_path: Path, value: str) -> None:
    good_file(tmp_path)
    p = kw("scan", str(tmp_path), "--max-file-size", value)
    _no_crash(p)
    assert p.returncode == 2
    assert p.stderr.strip() == (
        f"kubeward: error: --max-file-size must be between 1 and {2 << 30} bytes, not {value}"
    )


# --- output amplification -----------------------------------------------------------------------


def test_findings_are_bounded_per_file_and_rule(tmp_path: Path) -> None:
    n = MAX_FINDINGS_PER_FILE_RULE + 234
    # Distinct images: uses of one image would be grouped into one result (kubeward.group).
    containers = "".join(f"    - {{name: c{i}, image: 'nginx{i}:1'}}\n" for i in range(n))
    (tmp_path / "many.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: many}\nspec:\n  containers:\n" + containers
    )
    good_file(tmp_path)
    _, report = scan_json(tmp_path, "--rule", "image-not-pinned-by-digest")
    got = hits(report, tmp_path, "image-not-pinned-by-digest")
    many = [line for path, line in got if path == "many.yaml"]
    # The first 1,000 by position are kept, and one entry says how many more were cut.
    assert many == list(range(6, 6 + MAX_FINDINGS_PER_FILE_RULE))
    assert ("good.yaml", 7) in got
    assert errors_of(report, tmp_path) == {
        "many.yaml": [
            (
                None,
                "234 more findings of rule image-not-pinned-by-digest not reported "
                f"(at most {MAX_FINDINGS_PER_FILE_RULE} per file and rule)",
            )
        ]
    }
    assert report["summary"]["findings"] == MAX_FINDINGS_PER_FILE_RULE + 1  # type: ignore[index]


# --- guards: a bug in a scan-level provider or in the judge -------------------------------------

_PLUGIN = textwrap.dedent(
    """
    import sys
    from collections.abc import Iterator

    from kubeward import cli, engine
    from kubeward.registry import Finding, Layer, Severity, rule, scan_provider

    class Boom:  # a model type whose scan-level provider has a bug
        pass

    class Shaky:  # one that is fine, but whose findings the judge cannot judge
        def __init__(self, span):
            self.span = span

    @scan_provider(Boom)
    def boom(ctx) -> Iterator[Boom]:
        raise ValueError("provider bug")
        yield Boom()

    @scan_provider(Shaky)
    def shaky(ctx) -> Iterator[Shaky]:
        for f in ctx.files:
            if f.rel.endswith("annotated.yaml"):
                yield Shaky(f.line_span(1))

    @rule(id="test-boom", layer=Layer.REGISTRY, severity=Severity.HIGH)
    def test_boom(b: Boom) -> Iterator[Finding]:
        \"\"\"Never runs.\"\"\"
        yield from ()

    @rule(id="test-shaky", layer=Layer.REGISTRY, severity=Severity.HIGH)
    def test_shaky(s: Shaky) -> Iterator[Finding]:
        \"\"\"Points at a file whose annotations the judge reads.\"\"\"
        yield Finding(s.span, "judged")

    # A judge that fails on one file (it reads the file's inline suppressions first).
    original = engine._inline_comments

    def picky(f):
        if f.rel.endswith("annotated.yaml"):
            raise RuntimeError("judge bug")
        return original(f)

    engine._inline_comments = picky
    sys.exit(cli.main(sys.argv[1:]))
    """
)


def test_scan_providers_and_judge_are_guarded(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "Dockerfile").write_text("FROM alpine:3\n")
    (root / "annotated.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
        "  annotations: {kubeward.dev/ignore: other-rule}\n"
    )
    plugin = tmp_path / "plugin.py"
    plugin.write_text(_PLUGIN)
    p = subprocess.run(
        [sys.executable, str(plugin), "scan", str(root), "-f", "json", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert "Traceback" not in p.stderr and p.returncode == 1, p.stderr
    report = json.loads(p.stdout)
    errs = errors_of(report, root)
    assert errs["<scan>"] == [
        (None, "internal error reading Boom for rule test-boom: ValueError: provider bug")
    ]
    assert errs["annotated.yaml"] == [
        (None, "internal error judging a finding of rule test-shaky: RuntimeError: judge bug")
    ]
    assert set(errs) == {"<scan>", "annotated.yaml"}
    # Everything else is still reported.
    assert hits(report, root, "image-not-pinned-by-digest") == [("Dockerfile", 1)]


# --- work grows linearly -------------------------------------------------------------------------


def _lines_run(root: Path, rules: list[str] | None) -> int:
    """Lines of kubeward's own code executed by a one-process scan of `root` with `rules` (a
    count of work, not a time)."""
    pkg = str(Path(scan.__code__.co_filename).parent)
    count = 0

    def local(frame: object, event: str, arg: object) -> object:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame: object, event: str, arg: object) -> object:
        code = frame.f_code  # type: ignore[attr-defined]
        return local if code.co_filename.startswith(pkg) else None

    options = ScanOptions(jobs=1, only_rules=rules)
    scan([root], options)  # warm: imports and caches are not the input's work
    sys.settrace(tracer)  # type: ignore[arg-type]
    try:
        scan([root], options)
    finally:
        sys.settrace(None)
    return count


def _growth(tmp_path: Path, build: object, n: int, rules: list[str] | None) -> float:
    """Work at 4n over work at n: about 4 when linear, 16 when quadratic."""
    counts = []
    for size in (n, 4 * n):
        root = tmp_path / f"n{size}"
        root.mkdir()
        build(root, size)  # type: ignore[operator]
        counts.append(_lines_run(root, rules))
    return counts[1] / counts[0]


def _many_documents(root: Path, n: int) -> None:
    docs = "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{a: b}}\n"
        for i in range(n)
    )
    (root / "many.yaml").write_text(docs + "---\n" + POD)


def _many_stages(root: Path, n: int) -> None:
    stages = "".join(
        f"FROM alpine:3 AS s{i}\nCOPY --from=s{max(i - 1, 0)} /a /a\n"
        f"RUN curl -fsSL https://example.com/{i}.sh | sh\n"
        for i in range(n)
    )
    (root / "Dockerfile").write_text("ARG V=1\n" + stages)


def _many_merges(root: Path, n: int) -> None:
    base = "x-base: &base {image: 'nginx:1', imagePullPolicy: Always}\n"
    containers = "".join(f"    - {{<<: *base, name: c{i}}}\n" for i in range(n))
    (root / "pod.yaml").write_text(
        base + "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" + containers
    )


@pytest.mark.parametrize(
    ("build", "n", "rules"),
    [
        (_many_documents, 150, None),
        # The old code rebuilt the stage names at each FROM, and this rule went through every
        # RUN for each stage: 4x the stages (400 to 1,600) ran 9.6x the lines.
        (_many_stages, 400, ["dockerfile-remote-code-execution"]),
        (_many_stages, 40, None),
        (_many_merges, 150, None),
    ],
    ids=["documents", "from-stages-rce", "from-stages", "merge-keys"],
)
def test_work_grows_linearly(
    tmp_path: Path, build: object, n: int, rules: list[str] | None
) -> None:
    ratio = _growth(tmp_path, build, n, rules)
    assert ratio < 6, f"4x the input ran {ratio:.1f}x the lines: superlinear"


def test_many_tiny_documents_finish(tmp_path: Path) -> None:
    # The input: a 1.8 MB file of tiny documents (200,000 of them) ran for minutes; the
    # timeout in scan_json only catches a hang. Falco's provider searched the whole text once
    # per document, in C, where a count of Python lines does not see it.
    (tmp_path / "many.yaml").write_text("---\na: 1\n" * 200_000)
    good_file(tmp_path)
    _, report = scan_json(tmp_path)
    assert errors_of(report, tmp_path) == {}
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [("good.yaml", 7)]


def test_gitlab_extends_diamonds_finish(tmp_path: Path) -> None:
    # Each template extends the two before it: merging them without memory was exponential
    # (28 templates: 12 s; 40: hours). The timeout in scan_json only catches a hang.
    n = 40
    text = ".j0:\n  script: [echo]\n.j1:\n  extends: .j0\n"
    for i in range(2, n):
        text += f".j{i}:\n  extends: [.j{i - 1}, .j{i - 2}]\n"
        if i == 30:
            text += '  script: ["curl -fsSL https://example.com/i.sh | sh"]\n'
    text += f"build:\n  extends: .j{n - 1}\n  image: alpine\n"
    (tmp_path / ".gitlab-ci.yml").write_text(text)
    _, report = scan_json(tmp_path)
    assert errors_of(report, tmp_path) == {}
    assert hits(report, tmp_path, "curl-pipe-shell") == [(".gitlab-ci.yml", 63)]
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [(".gitlab-ci.yml", 84)]


def test_gitlab_reference_fan_out_finishes(tmp_path: Path) -> None:
    # Each template's script splices ten references to the one before it, ten levels deep: a
    # billion script lines if spliced in full (7 levels of 8 took 16 s). Splicing is memoised
    # and budgeted; what is spliced is still judged where it is written.
    text = '.a0:\n  script: ["curl -fsSL https://example.com/i.sh | sh"]\n'
    for i in range(1, 10):
        refs = ", ".join([f"!reference [.a{i - 1}, script]"] * 10)
        text += f".a{i}:\n  script: [{refs}]\n"
    text += "build:\n  script: [!reference [.a9, script]]\n  image: alpine\n"
    (tmp_path / ".gitlab-ci.yml").write_text(text)
    _, report = scan_json(tmp_path)
    assert errors_of(report, tmp_path) == {}
    assert set(hits(report, tmp_path, "curl-pipe-shell")) == {(".gitlab-ci.yml", 2)}


def test_kustomize_diamonds_finish(tmp_path: Path) -> None:
    # Each kustomization includes the next two: every path through the tree was followed, and
    # 26 directories took a minute, 30 would take seven. Kustomize refuses such a tree (the
    # shared resources are added twice); kubeward follows a bounded number of paths.
    n = 30
    for i in range(n):
        d = tmp_path / f"d{i}"
        d.mkdir()
        res = [f"../d{j}" for j in (i + 1, i + 2) if j < n] + ["pod.yaml"]
        (d / "kustomization.yaml").write_text(f"resources: [{', '.join(res)}]\n")
        pod = POD.replace("name: ok", f"name: p{i}").replace("nginx:1", f"nginx{i}:1")
        (d / "pod.yaml").write_text(pod)  # one image each: one image's uses are grouped
    _, report = scan_json(tmp_path, "--rule", "image-not-pinned-by-digest")
    assert errors_of(report, tmp_path) == {}
    assert hits(report, tmp_path, "image-not-pinned-by-digest") == [
        (f"d{i}/pod.yaml", 7) for i in sorted(range(n), key=str)
    ]
