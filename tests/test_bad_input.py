"""Bad and hostile input: each problem is an error entry with path and reason; the scan goes on;
nothing escapes; time and memory stay bounded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from kubeward.engine import ScanOptions, scan
from kubeward.results import Report
from tests.conftest import every_result

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n"
    "  containers:\n    - name: a\n      image: nginx:1\n"
)


def _scan(root: Path, **kw: object) -> Report:
    return scan([root], ScanOptions(jobs=1, **kw))  # type: ignore[arg-type]


def _errors(report: Report, root: Path) -> dict[str, str]:
    prefix = root.as_posix() + "/"
    return {e.path.removeprefix(prefix): e.reason for e in report.errors}


def test_each_bad_file_is_an_error_and_the_scan_goes_on(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(POD)
    (tmp_path / "malformed.yaml").write_text("a: [1, 2\nb: }\n")
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    (tmp_path / "binary.yaml").write_bytes(b"\x00\x01\x02ELF" * 100)
    (tmp_path / "big.yaml").write_text("a: " + "x" * 5000 + "\n")
    (tmp_path / "Dockerfile").write_bytes(b"FROM alpine\x00\n")
    os.symlink(tmp_path / "nowhere.yaml", tmp_path / "broken.yaml")
    report = _scan(tmp_path, max_file_size=4096)
    errs = _errors(report, tmp_path)
    assert errs["malformed.yaml"].startswith("malformed YAML")
    assert errs["latin1.yaml"] == "invalid UTF-8 at byte 9"
    assert errs["binary.yaml"] == "binary file (NUL bytes)"
    assert "over the size limit of 4096 bytes" in errs["big.yaml"]
    assert errs["broken.yaml"] == "broken symbolic link"
    assert "Dockerfile" in errs
    # The good file was still scanned.
    pins = [r for r in report.results if r.rule.id == "image-not-pinned-by-digest"]
    assert [(r.span.path.rsplit("/", 1)[-1], r.span.start.line) for r in pins] == [("good.yaml", 7)]


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 12):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    (tmp_path / "bomb-k8s.yaml").write_text(
        "\n".join(lines) + "\napiVersion: v1\nkind: Pod\nmetadata: {name: x}\n"
        "spec: {containers: [{name: c, image: *a11}]}\n"
    )
    errs = _errors(_scan(tmp_path), tmp_path)
    assert "alias expansion exceeds" in errs["bomb.yaml"]
    assert "alias expansion exceeds" in errs["bomb-k8s.yaml"]


def test_small_aliases_are_fine(tmp_path: Path) -> None:
    (tmp_path / "anchors.yaml").write_text(
        "x-img: &img nginx:latest\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec:\n  containers:\n    - {name: a, image: *img}\n    - {name: b, image: *img}\n"
    )
    report = _scan(tmp_path)
    assert not report.errors
    # An alias shares the anchored value: findings point where the value is written (line 1),
    # once per container that uses it (one result, the other use absorbed: kubeward.group).
    pins = [r for r in every_result(report) if r.rule.id == "image-not-pinned-by-digest"]
    assert [(r.span.start.line, r.span.start.col) for r in pins] == [(1, 13), (1, 13)]
    assert ["container a" in pins[0].message, "container b" in pins[1].message] == [True, True]


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "deep-flow.yaml").write_text("[" * 100_000 + "]" * 100_000)
    deep_block = "".join(" " * i + "a:\n" for i in range(3000))
    (tmp_path / "deep-block.yaml").write_text(deep_block)
    (tmp_path / "deep-600.json").write_text("[" * 600 + "]" * 600)
    errs = _errors(_scan(tmp_path), tmp_path)
    assert "nesting" in errs["deep-flow.yaml"]
    assert "nesting" in errs["deep-block.yaml"]
    assert "nesting" in errs["deep-600.json"]


def test_symlink_loops_and_links_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "pod.yaml").write_text(POD)
    os.symlink(root, root / "a" / "loop")  # a directory loop
    os.symlink("self.yaml", root / "self.yaml")  # a file that points at itself
    outside = tmp_path / "secret.yaml"
    outside.write_text(POD)
    os.symlink(outside, root / "escape.yaml")
    os.symlink(root / "a" / "pod.yaml", root / "inside.yaml")
    report = _scan(root)
    errs = _errors(report, root)
    assert errs["escape.yaml"] == "symbolic link points outside the scan root; not followed"
    assert errs["self.yaml"] == "broken symbolic link"
    pins = [r for r in every_result(report) if r.rule.id == "image-not-pinned-by-digest"]
    paths = sorted({r.span.path.removeprefix(root.as_posix() + "/") for r in pins})
    assert paths == ["a/pod.yaml", "inside.yaml"]


def test_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    errs = _errors(_scan(tmp_path), tmp_path)
    assert "not a regular file" in errs["pipe.yaml"]


def test_unreadable_file() -> None:
    # Root reads anything: drop the capabilities that let it (util-linux setpriv).
    root = Path(tempfile.mkdtemp(prefix="kw-unreadable-"))
    try:
        (root / "good.yaml").write_text(POD)
        locked = root / "locked.yaml"
        locked.write_text(POD)
        locked.chmod(0o000)
        cmd = [sys.executable, "-m", "kubeward", "scan", str(root), "-f", "json", "--no-progress"]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            assert setpriv, "setpriv (util-linux) is needed to test unreadable files as root"
            cmd = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        assert "Traceback" not in p.stderr, p.stderr
        assert f'"path": "{root}/locked.yaml"' in p.stdout
        assert "cannot read: Permission denied" in p.stdout
    finally:
        for f in root.iterdir():
            f.chmod(0o644)
            f.unlink()
        root.rmdir()


def test_json_with_comments_that_is_not_kubernetes_is_skipped(tmp_path: Path) -> None:
    # tsconfig.json and VS Code settings are JSON with comments and trailing commas
    (tmp_path / "tsconfig.json").write_text(
        '{\n  // the compiler\n  "compilerOptions": {"strict": true,},\n}\n'
    )
    (tmp_path / "pod.json").write_text('{"apiVersion": "v1", "kind": "Pod" "spec": {}}\n')
    report = _scan(tmp_path)
    assert [e.path.removeprefix(tmp_path.as_posix() + "/") for e in report.errors] == ["pod.json"]
    assert report.files_scanned == 2
