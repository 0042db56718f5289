"""Smoke tests of `bench/run.py`'s pure parts: tables, ratios, Checkov's JSON, the floor.

No timings are asserted: the figures only go to `docs/benchmarks.md` via `make bench`.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


def _rows(bench: ModuleType, tree: str = "t") -> list:
    M = bench.Measure
    return [
        M("parse floor (1 process)", tree, 100, 1.0, 50.0, 60.0, 0),
        M("parse floor (2 processes)", tree, 100, 0.5, 70.0, 40.0, 0),
        M("kubeward (default --jobs)", tree, 100, 1.5, 120.0, 90.0, 0),
        M("kubeward --jobs 2", tree, 100, 1.2, 150.0, 90.0, 0),
        M("kubeward --jobs 1", tree, 100, 2.5, 100.0, 100.0, 0),
        M(
            "Checkov",
            tree,
            100,
            30.0,
            900.0,
            800.0,
            1,
            extra={"files": 40, "frameworks": {"kubernetes": {"files": 40}}},
        ),
    ]


def test_format_table_shows_every_contender_with_throughput(bench: ModuleType) -> None:
    table = bench.format_table(_rows(bench))
    lines = table.splitlines()
    assert lines[0].startswith(
        "| contender | files | wall (s) | files/s | CPU (s) | max RSS (MB) |"
    )
    assert "| kubeward --jobs 1 | 100 | 2.50 | 40 | 0.00 | 100 | 100 | 0.0 |  |" in lines
    assert "| parse floor (2 processes) | 100 | 0.50 | 200 | 0.00 | 40 | 70 | 0.0 |  |" in lines
    checkov = next(line for line in lines if line.startswith("| Checkov "))
    assert (
        "| 30.00 | 3 | 0.00 | 800 | 900 | 0.0 | reported on 40 files (kubernetes 40) |" in checkov
    )


def test_ratios_compare_like_with_like(bench: ModuleType) -> None:
    r = bench.ratios(_rows(bench))
    assert r["vs_checkov"] == pytest.approx(20.0)  # 30 s / 1.5 s on the same 100 files
    assert r["vs_checkov_jobs1"] == pytest.approx(12.0)
    assert r["vs_floor_1"] == pytest.approx(2.5)  # --jobs 1 against one process
    assert r["vs_floor_n"] == pytest.approx(2.4)  # --jobs 2 against two processes
    assert r["vs_floor_1_cpu"] is None  # no CPU time measured in these made-up rows


def test_failed_contender_gives_no_ratio_and_leaves_totals(bench: ModuleType) -> None:
    rows = _rows(bench, "a") + _rows(bench, "b")
    rows[-1].note = "FAILED: killed after 900 s at 13000 MB"
    assert bench.ratios(rows[6:])["vs_checkov"] is None
    tot = {m.tool: m for m in bench.totals(rows)}
    assert tot["Checkov"].files == 100  # tree "b" left out of the totals
    assert tot["kubeward --jobs 1"].wall_s == pytest.approx(2.5)
    doc = bench.render_doc(
        rows,
        {
            "date": "d",
            "nproc": "2",
            "cpu": "c",
            "memory": "m",
            "os": "o",
            "python": "3",
            "kubeward": "kubeward 0",
            "pyyaml": "p",
            "dockerfile": "d",
            "checkov": "3.3.30",
        },
        7,
        60.0,
    )
    assert "| kubeward ≥ 10× Checkov's throughput on the same files | 20.0×" in doc
    assert "### a" in doc and "### b" in doc
    assert "FAILED: killed after 900 s" in doc


def test_checkov_summary_counts_files_per_framework(bench: ModuleType) -> None:
    out = json.dumps(
        [
            {
                "check_type": "kubernetes",
                "results": {
                    "passed_checks": [{"file_path": "/a.yaml"}, {"file_path": "/a.yaml"}],
                    "failed_checks": [{"file_path": "/b.yaml"}],
                    "parsing_errors": ["/c.yaml"],
                },
                "summary": {"resource_count": 3},
            },
            {"check_type": "dockerfile", "results": {}, "summary": {"resource_count": 0}},
        ]
    )
    s = bench.checkov_summary(out)
    assert s["files"] == 3
    assert s["frameworks"]["kubernetes"] == {"files": 2, "resources": 3, "parsing_errors": 1}
    assert s["frameworks"]["dockerfile"]["files"] == 0
    assert bench.checkov_summary("not json")["files"] == 0


def test_hidden_dirs_are_excluded_like_checkov(bench: ModuleType, tmp_path: Path) -> None:
    for d in (".chainsaw-test", "x/.kyverno-test", ".github/workflows", "node_modules", "ok"):
        (tmp_path / d).mkdir(parents=True)
    assert bench.checkov_hidden_excludes(tmp_path) == [
        ".chainsaw-test",
        ".kyverno-test",
        "node_modules",
    ]


def test_floor_parses_the_files_kubeward_discovers(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "deploy.yaml").write_text("a: 1\n---\nb: [2]\n")
    (tmp_path / "bad.yaml").write_text("a: [\n")
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nRUN true\n")
    (tmp_path / ".skip").mkdir()
    (tmp_path / ".skip" / "x.yaml").write_text("c: 3\n")
    bench.floor_main(str(tmp_path), 1, [".skip"])
    assert json.loads(capsys.readouterr().out) == {
        "discovered": 3,
        "parsed": 2,
        "parse_errors": 1,
    }


def test_run_measured_reports_exit_code_and_memory(bench: ModuleType) -> None:
    code = "sum(range(10**6)); raise SystemExit(3)"
    wall, pss, maxrss, rc, note, cpu = bench.run_measured([sys.executable, "-c", code])
    assert rc == 3
    assert note == ""  # no stderr: not a failure of the harness
    assert wall > 0 and maxrss > 0 and pss >= 0 and cpu > 0
