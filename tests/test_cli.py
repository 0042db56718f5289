"""The command line as a user runs it: a real subprocess, exit codes, several outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import FIXTURES, REPO, sarif_schema

EXAMPLES = REPO / "examples"


def kw(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubeward", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_version() -> None:
    p = kw("--version")
    assert p.returncode == 0 and p.stdout.startswith("kubeward ")


def test_rules_and_rule() -> None:
    p = kw("rules")
    assert p.returncode == 0
    assert "image-not-pinned-by-digest" in p.stdout and "registry & artifacts" in p.stdout
    one = kw("rule", "image-not-pinned-by-digest")
    assert one.returncode == 0 and "## Remediation" in one.stdout
    bad = kw("rule", "no-such-rule")
    assert bad.returncode == 2 and "unknown rule id" in bad.stderr


def test_scan_examples_exit_codes(tmp_path: Path) -> None:
    p = kw("scan", str(EXAMPLES), "--no-progress")
    assert p.returncode == 1, p.stderr
    assert "image-not-pinned-by-digest" in p.stdout and "Summary:" in p.stdout
    assert "Traceback" not in p.stderr
    assert kw("scan", str(EXAMPLES), "--fail-on", "never").returncode == 0
    only_medium = ["--rule", "image-mutable-tag"]
    assert kw("scan", str(EXAMPLES), *only_medium, "--fail-on", "high").returncode == 0
    assert kw("scan", str(EXAMPLES), *only_medium, "--fail-on", "medium").returncode == 1


def test_several_formats_in_one_run(tmp_path: Path) -> None:
    sarif, js = tmp_path / "out.sarif", tmp_path / "out.json"
    p = kw(
        "scan",
        str(EXAMPLES),
        "-f",
        f"sarif={sarif}",
        "--format",
        "json",
        "--output",
        str(js),
        "-f",
        "markdown",
        "--fail-on",
        "never",
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert json.loads(js.read_text())["schema_version"] == 1
    assert p.stdout.startswith("## kubeward scan")


def test_usage_and_config_errors(tmp_path: Path) -> None:
    assert kw("scan").returncode == 2
    assert kw("scan", ".", "--format", "yaml").returncode == 2
    assert kw("scan", ".", "--fail-on", "severe").returncode == 2
    cfg = tmp_path / ".kubeward.yaml"
    cfg.write_text("rules:\n  no-such-rule: off\n")
    p = kw("scan", str(tmp_path))
    assert p.returncode == 2 and "unknown rule id 'no-such-rule'" in p.stderr
    cfg.write_text("allowed-registry: [ghcr.io]\n")  # typo of allowed-registries
    p = kw("scan", str(tmp_path))
    assert p.returncode == 2 and "allowed-registry" in p.stderr
    assert "Traceback" not in p.stderr


def test_config_disables_and_reseverities(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "rules" / "image-mutable-tag", tmp_path / "m")
    (tmp_path / "m" / ".kubeward.yaml").write_text(
        "rules:\n  image-not-pinned-by-digest: off\n  image-mutable-tag: low\n"
    )
    p = kw("scan", str(tmp_path / "m"), "-f", "json")
    doc = json.loads(p.stdout)
    rules = {f["rule"] for f in doc["findings"]}
    assert "image-mutable-tag" in rules and "image-not-pinned-by-digest" not in rules
    assert {f["severity"] for f in doc["findings"] if f["rule"] == "image-mutable-tag"} == {"low"}


def test_fail_on_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("a: [\n")
    assert kw("scan", str(tmp_path)).returncode == 0
    p = kw("scan", str(tmp_path), "--fail-on-errors")
    assert p.returncode == 1 and "malformed YAML" in p.stdout


def test_baseline_survives_lines_moving(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    manifest = work / "pod.yaml"
    body = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers:\n    - name: a\n      image: nginx:1.27\n"
    )
    manifest.write_text(body)
    base = tmp_path / "baseline.json"
    one = ["--rule", "image-not-pinned-by-digest"]
    assert kw("scan", str(work), *one, "--write-baseline", str(base)).returncode == 1
    # Lines move: a comment block above, the finding now on another line.
    manifest.write_text("# moved\n# down\n" + body)
    p = kw("scan", str(work), *one, "--baseline", str(base), "-f", "json")
    doc = json.loads(p.stdout)
    assert p.returncode == 0 and doc["findings"] == [] and doc["summary"]["suppressed"] == 1
    # A new finding is still reported.
    manifest.write_text(body + "    - name: b\n      image: redis:7\n")
    doc = json.loads(kw("scan", str(work), *one, "--baseline", str(base), "-f", "json").stdout)
    assert [(f["rule"], f["location"]["start"]["line"]) for f in doc["findings"]] == [
        ("image-not-pinned-by-digest", 9)
    ]
    base.write_text("{not json")
    p = kw("scan", str(work), "--baseline", str(base))
    assert p.returncode == 2 and "baseline" in p.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_parallel_output_is_stable(jobs: str, tmp_path: Path) -> None:
    # Enough files to cross the parallel threshold.
    for i in range(80):
        (tmp_path / f"d{i:02}.yaml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers:\n"
            f"    - name: c\n      image: app{i}:latest\n"
        )
    (tmp_path / "zz-bad.yaml").write_text("a: [\n")
    for i in range(4):  # BuildKit's Go parser in worker processes (a forked Go runtime hangs)
        (tmp_path / f"svc{i}.Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    p = kw(
        "scan",
        str(tmp_path),
        "-j",
        jobs,
        "-f",
        "json",
        "--fail-on",
        "never",
        "--rule",
        "image-mutable-tag",
        "--rule",
        "image-not-pinned-by-digest",
    )
    doc = json.loads(p.stdout)
    got = [
        (f["rule"], f["location"]["path"], f["location"]["start"]["line"]) for f in doc["findings"]
    ]
    # image-mutable-tag on each image is part of its digest finding (one fix; kubeward.group)
    expected = sorted(
        ("image-not-pinned-by-digest", f"{tmp_path.as_posix()}/d{i:02}.yaml", 7) for i in range(80)
    )
    assert all(f["properties"]["same_cause"] == ["image-mutable-tag"] for f in doc["findings"])
    assert got == [(r, p_, ln) for (r, p_, ln) in sorted(got, key=lambda x: (x[1], x[0]))]
    assert sorted(got) == expected
    assert [e["path"] for e in doc["errors"]] == [f"{tmp_path.as_posix()}/zz-bad.yaml"]


def test_parallel_scan_from_a_script_without_main_guard(tmp_path: Path) -> None:
    # Spawned workers re-run an unguarded script and die; the scan finishes in one process.
    for i in range(70):
        (tmp_path / f"p{i:02}.yaml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers:\n"
            f"    - name: c\n      image: app{i}:1\n"
        )
    script = tmp_path / "run.py"
    script.write_text(
        "from pathlib import Path\n"
        "from kubeward.engine import ScanOptions, scan\n"
        f"r = scan([Path({str(tmp_path)!r})], ScanOptions(jobs=2, "
        "only_rules=['image-not-pinned-by-digest']))\n"
        "print(len(r.results), len(r.errors))\n"
    )
    p = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.split()[-2:] == ["70", "0"]


def test_config_is_read_from_the_scan_root_only(tmp_path: Path) -> None:
    """A `.kubeward.yaml` in a parent (the repository top, a shared /tmp) is not used: it
    would switch rules off for every tree below it. The report names what it used."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".kubeward.yaml").write_text("rules:\n  image-not-pinned-by-digest: off\n")
    (tmp_path / ".kubeward.yaml").write_text("rules:\n  image-not-pinned-by-digest: off\n")
    sub = repo / "deploy" / "prod"
    sub.mkdir(parents=True)
    (sub / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers:\n    - name: a\n      image: nginx:1.27\n"
    )
    doc = json.loads(kw("scan", str(sub), "-f", "json", "--fail-on", "never").stdout)
    assert "image-not-pinned-by-digest" in {f["rule"] for f in doc["findings"]}
    assert doc["config"] is None
    text = kw("scan", str(sub), "--fail-on", "never").stdout
    assert "configuration: none (defaults)" in text
    # In the scan root it is used, and named in every format.
    doc = json.loads(kw("scan", str(repo), "-f", "json", "--fail-on", "never").stdout)
    assert "image-not-pinned-by-digest" not in {f["rule"] for f in doc["findings"]}
    used = str(repo / ".kubeward.yaml")
    assert doc["config"] == used
    sarif = json.loads(kw("scan", str(repo), "-f", "sarif", "--fail-on", "never").stdout)
    assert sarif["runs"][0]["invocations"][0]["properties"]["config"] == used
    jsonschema.validate(sarif, sarif_schema())
    assert f"configuration: {used}" in kw("scan", str(repo), "--fail-on", "never").stdout
    assert f"Configuration: `{used}`" in kw("scan", str(repo), "-f", "markdown").stdout
    junit = kw("scan", str(repo), "-f", "junit", "--fail-on", "never").stdout
    assert f'<property name="kubeward.config" value="{used}" />' in junit
    # --config names another file; the report names that one.
    other = tmp_path / "user.yaml"
    other.write_text("fail-on: critical\n")
    doc = json.loads(kw("scan", str(sub), "-f", "json", "--config", str(other)).stdout)
    assert doc["config"] == str(other)


def test_internal_error_is_reported_without_a_traceback() -> None:
    code = (
        "import sys, kubeward.cli as c\n"
        "c.cmd_rules = lambda args: 1 / 0\n"
        "sys.exit(c.main(['rules']))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert p.returncode == 3
    assert "internal error: ZeroDivisionError" in p.stderr and "Traceback" not in p.stderr
    env = {**os.environ, "KUBEWARD_DEBUG": "1"}
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
    )
    assert "Traceback" in p.stderr
