"""Outputs that scale: --max-results, GitHub's SARIF limits, URIs from an absolute root."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from kubeward.cli import main
from kubeward.report.sarif import github_limit_warnings
from tests.conftest import sarif_schema

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app{n}
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example/app{n}:1.{n}
          imagePullPolicy: IfNotPresent
"""


SOCKET = """apiVersion: v1
kind: Pod
metadata:
  name: builder
spec:
  containers:
    - name: b
      image: registry.example/b@sha256:{digest}
  volumes:
    - name: sock
      hostPath:
        path: /var/run/docker.sock
""".format(digest="a" * 64)


def make_tree(root: Path, n: int = 3) -> Path:
    """`n` deployments (high findings) and, last in path order, a critical one."""
    for i in range(n):
        d = root / f"d{i}"
        d.mkdir(parents=True)
        (d / "deploy.yaml").write_text(DEPLOY.format(n=i), encoding="utf-8")
    (root / "z").mkdir()
    (root / "z" / "pod.yaml").write_text(SOCKET, encoding="utf-8")
    return root


def scan_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    code = main(["scan", "--no-progress", "-f", "json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}


def test_max_results_keeps_the_most_severe_with_the_documented_tie_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_tree(tmp_path / "repo")
    _, full, _ = scan_json(capsys, str(root))
    every = full["findings"]
    assert len({f["severity"] for f in every}) >= 2  # the tree mixes severities
    _, capped, err = scan_json(capsys, str(root), "--max-results", "2")
    kept = capped["findings"]
    assert len(kept) == 2

    # the expected pick: most severe first, then path, line, column, rule id
    def key(f: dict) -> tuple:  # type: ignore[type-arg]
        loc = f["location"]
        return (
            -RANK[f["severity"]],
            loc["path"],
            loc["start"]["line"],
            loc["start"]["column"],
            f["rule"],
        )

    assert sorted(key(f) for f in kept) == sorted(key(f) for f in every)[:2]
    assert kept[-1]["rule"] == "workload-runtime-socket-mount"  # last by path, kept: critical
    assert [f["location"]["path"] for f in kept] == sorted(f["location"]["path"] for f in kept)
    assert f"most severe of {len(every)} results" in err
    # the exit code still judges every finding (--fail-on medium: the dropped ones too)
    assert (
        main(
            [
                "scan",
                "--no-progress",
                "-f",
                "json",
                str(root),
                "--max-results",
                "1",
                "--fail-on",
                "medium",
            ]
        )
        == 1
    )
    capsys.readouterr()


def test_max_results_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(make_tree(tmp_path / "r", 1)), "--max-results", "0"]) == 2
    assert "--max-results must be 1 or more" in capsys.readouterr().err


def _doc(results: int, related: int = 0, tags: int = 3) -> dict:  # type: ignore[type-arg]
    res = {"ruleId": "x", "message": {"text": "m"}, "relatedLocations": [{}] * related}
    rule = {"id": "x", "properties": {"tags": ["t"] * tags}}
    return {"runs": [{"tool": {"driver": {"rules": [rule]}}, "results": [res] * results}]}


def test_github_limits_from_its_documentation() -> None:
    assert github_limit_warnings(_doc(5_000, related=100, tags=10), 1000) == []
    over = github_limit_warnings(_doc(5_001), 1000)
    assert len(over) == 1 and "keeps only the 5000 most severe" in over[0]
    rejected = github_limit_warnings(_doc(25_001), 1000)
    assert len(rejected) == 1 and "rejected" in rejected[0] and "25000 per run" in rejected[0]
    assert "shows 100" in github_limit_warnings(_doc(1, related=101), 10)[0]
    assert "rejected" in github_limit_warnings(_doc(1, related=1001), 10)[0]
    assert "shows 10" in github_limit_warnings(_doc(1, tags=11), 10)[0]
    assert "rejected" in github_limit_warnings(_doc(1, tags=21), 10)[0]
    assert "gzip" in github_limit_warnings(_doc(1), 10 * 1024 * 1024 + 1)[0]


def test_sarif_warns_on_stderr_over_the_display_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the limit lowered so a small tree exceeds it: the warning path of the CLI end to end
    monkeypatch.setattr("kubeward.report.sarif.GITHUB_SHOWN_RESULTS", 2)
    root = make_tree(tmp_path / "repo")
    out = tmp_path / "out.sarif"
    main(["scan", "--no-progress", str(root), "-f", f"sarif={out}"])
    err = capsys.readouterr().err
    assert f"kubeward: warning: {out}:" in err and "GitHub keeps only the 2 most severe" in err
    main(["scan", "--no-progress", str(root), "-f", f"sarif={out}", "--max-results", "2"])
    assert "GitHub keeps" not in capsys.readouterr().err


def _uris(doc: dict) -> set[str]:  # type: ignore[type-arg]
    run = doc["runs"][0]
    return {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in run["results"]
        for loc in (*r["locations"], *r.get("relatedLocations", []))
    }


def test_absolute_root_gives_uris_relative_to_the_repository_top(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "my repo"
    make_tree(repo / "k8s")
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    main(["scan", "--no-progress", str((repo / "k8s").absolute()), "-f", "sarif"])
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, sarif_schema())
    uris = _uris(doc)
    assert uris and all(u.startswith(("k8s/d", "k8s/z/")) for u in uris), uris
    srcroot = doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]
    assert srcroot["uri"] == repo.absolute().as_uri() + "/"
    assert "%20" in srcroot["uri"]


def test_relative_root_outside_git_is_relative_to_cwd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path / "tree")
    monkeypatch.chdir(tmp_path)
    if any((p / ".git").exists() for p in (tmp_path, *tmp_path.parents)):
        pytest.skip("the temporary directory is inside a git work tree")
    main(["scan", "--no-progress", str(tmp_path / "tree"), "-f", "sarif"])
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, sarif_schema())
    assert all(u.startswith(("tree/d", "tree/z/")) for u in _uris(doc))
    assert doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"


# -- colour, quiet, display filters, the text report's counts ---------------------------------


@pytest.mark.parametrize(
    ("choice", "env", "tty", "expected"),
    [
        ("auto", {}, True, True),
        ("auto", {}, False, False),
        ("auto", {"NO_COLOR": "1"}, True, False),
        ("auto", {"NO_COLOR": ""}, True, True),  # empty: not set (no-color.org)
        ("auto", {"FORCE_COLOR": "0"}, False, True),  # any non-empty value (force-color.org)
        ("auto", {"FORCE_COLOR": ""}, False, False),
        ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        ("always", {"NO_COLOR": "1"}, False, True),  # the command line overrides
        ("never", {"FORCE_COLOR": "1"}, True, False),
    ],
)
def test_color_choice(choice: str, env: dict[str, str], tty: bool, expected: bool) -> None:
    from kubeward.cli import use_color

    assert use_color(choice, tty, env) is expected


def _kw(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [sys.executable, "-m", "kubeward", *args],
        capture_output=True,
        text=True,
        env={**full, **env},
        timeout=120,
        check=False,
    )


def test_force_color_and_no_color_reach_a_pipe(tmp_path: Path) -> None:
    root = str(make_tree(tmp_path / "repo", 1))
    assert "\x1b[" in _kw("scan", root, env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" not in _kw("scan", root, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    assert "\x1b[" not in _kw("scan", root, env={}).stdout


def test_quiet_writes_nothing_on_stdout_but_files_and_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_tree(tmp_path / "repo", 1)
    out = tmp_path / "r.json"
    assert main(["scan", "-q", str(root), "-f", "text", "-f", f"json={out}"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and json.loads(out.read_text())["findings"]


def test_min_severity_filters_the_display_not_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(make_tree(tmp_path / "repo"))
    code, doc, _ = scan_json(capsys, root, "--min-severity", "critical")
    assert [f["severity"] for f in doc["findings"]] == ["critical"]
    assert code == 1  # --fail-on high (the default) still sees the high findings
    assert main(["scan", "--no-progress", "-q", root, "--min-severity", "critical",
                 "--fail-on", "critical"]) == 1  # fmt: skip
    assert main(["scan", "-q", root, "--min-severity", "bogus"]) == 2
    assert "unknown severity 'bogus'" in capsys.readouterr().err


def test_text_report_starts_with_counts_per_rule_and_summary_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(make_tree(tmp_path / "repo"))
    main(["scan", "--no-progress", root])
    full = capsys.readouterr().out.splitlines()
    assert full[0] == "Findings by rule"
    # most severe first, then the most results
    assert full[1].split() == ["1", "critical", "workload-runtime-socket-mount"]
    assert full[2].split() == ["3", "high", "image-not-pinned-by-digest"]
    assert full[3].split() == ["1", "high", "image-not-covered-by-verification-policy"]
    main(["scan", "--no-progress", root, "--summary"])
    short = capsys.readouterr().out.splitlines()
    assert short[: full.index("")] == full[: full.index("")]
    assert not [line for line in short if "deploy.yaml" in line]
    assert short[-4].startswith("Summary: 5 findings in 4 files (4 files scanned)")


def test_summary_time_counts_from_the_start_given() -> None:
    import time

    from kubeward.report import Format, render
    from kubeward.results import Report

    text = render(Report(version="0", roots=[]), Format.TEXT, started=time.perf_counter() - 5)
    took = float(text.split("file error(s), ")[1].split("s\n")[0])
    assert took >= 5.0


# -- usage errors ------------------------------------------------------------------------------


def test_a_scan_root_that_does_not_exist_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_tree(tmp_path / "repo", 1)
    assert main(["scan", "-q", str(root), str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'}: no such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["-f", "text", "-f", "json"],
        ["-f", "sarif", "-f", "json", "-o", "-", "-o", "-"],
        ["-f", "json", "-f", "markdown=-"],
    ],
)
def test_several_formats_to_stdout_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    root = make_tree(tmp_path / "repo", 1)
    assert main(["scan", "--no-progress", str(root), *args]) == 2
    err = capsys.readouterr().err
    assert "several formats to stdout" in err and err.count("\n") == 1
    # one to stdout, the others to files: fine
    assert main(["scan", "--no-progress", str(root), "-f", "text", "-f", f"json={tmp_path}/r"]) == 1


# -- Markdown for pull-request comments ---------------------------------------------------------


def _many(root: Path, n: int) -> Path:
    """`n` deployments, each a distinct image (one high finding each), and one critical pod
    last in path order; every message padded with a long name so the comment overflows."""
    for i in range(n):
        d = root / f"d{i:04}"
        d.mkdir(parents=True)
        text = DEPLOY.format(n=i).replace(f"app{i}:", f"{'long-name-' * 8}{i}:")
        (d / "deploy.yaml").write_text(text, encoding="utf-8")
    (root / "z").mkdir()
    (root / "z" / "pod.yaml").write_text(SOCKET, encoding="utf-8")
    return root


def test_markdown_stays_under_the_comment_limit_most_severe_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from markdown_it import MarkdownIt

    from kubeward.report.markdown import COMMENT_LIMIT, size

    root = _many(tmp_path / "repo", 300)
    _, doc, _ = scan_json(capsys, str(root))
    total = len(doc["findings"])
    main(["scan", "--no-progress", str(root), "-f", "markdown"])
    out = capsys.readouterr().out
    assert size(out) <= COMMENT_LIMIT
    rows = [line for line in out.splitlines() if line.startswith("| ") and "](" in line]
    assert 0 < len(rows) < total
    assert f"…and {total - len(rows)} more findings not shown" in out
    severities = [row.split(" | ")[0].lstrip("| ") for row in rows]
    assert severities[0] == "critical"  # last by path, first by severity
    assert severities == sorted(severities, key=lambda s: -RANK[s])
    # still one well-formed document: the remediation block closes, the headings are ours
    tokens = MarkdownIt("commonmark").enable(["table"]).parse(out)
    assert [t.content for t in tokens if t.type == "html_block"] == [
        "<details><summary>Remediation</summary>\n",
        "</details>\n",
    ]


def test_markdown_under_the_limit_lists_every_finding_sorted_by_severity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_tree(tmp_path / "repo")
    _, doc, _ = scan_json(capsys, str(root))
    main(["scan", "--no-progress", str(root), "-f", "markdown"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "](" in line]
    assert len(rows) == len(doc["findings"]) and "more findings" not in out
    assert rows[0].startswith("| critical |")


def test_markdown_cuts_a_long_list_of_file_errors_too() -> None:
    from kubeward.report import Format, render
    from kubeward.report.markdown import COMMENT_LIMIT, size
    from kubeward.results import Report
    from kubeward.source import ScanError

    errors = [ScanError(f"dir/f{i}.yaml", "malformed YAML: " + "x" * 60, 3) for i in range(3000)]
    out = render(Report(version="0", roots=["."], errors=errors), Format.MARKDOWN)
    assert size(out) <= COMMENT_LIMIT
    shown = [line for line in out.splitlines() if line.startswith("- `dir/f")]
    assert 0 < len(shown) < 3000
    assert f"…and {3000 - len(shown)} more files not shown" in out
