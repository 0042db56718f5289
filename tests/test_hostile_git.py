"""A corrupt `.git` is an error entry naming the reason, not a silently disabled commit check;
the git history scan is bounded (depth cap, time budget, output cap) and says when it was cut."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubeward import gitsource
from kubeward.engine import ScanOptions, scan
from kubeward.results import Report

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is needed")

RULE = "git-commit-unsigned"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return out.stdout


def _repo(path: Path, commits: int = 2, text: str = CM) -> Path:
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "user.name", "Alice")
    _git(path, "config", "user.email", "alice@example.com")
    for i in range(commits):
        (path / f"cm{i}.yaml").write_text(text.format(f"cm{i}"))
        _git(path, "add", f"cm{i}.yaml")
        _git(path, "commit", "-q", "--no-gpg-sign", "-m", f"change {i}")
    return path


def _cli(root: Path) -> dict[str, Any]:
    p = subprocess.run(
        [sys.executable, "-m", "kubeward", "scan", str(root), "-f", "json", "--rule", RULE],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
    )
    assert p.returncode in (0, 1), p.stderr[-2000:]
    doc: dict[str, Any] = json.loads(p.stdout)
    return doc


def _git_error(doc: dict[str, Any], root: Path) -> str:
    (reason,) = [e["reason"] for e in doc["errors"] if e["path"] == str(root)]
    return reason


def _scan(root: Path) -> Report:
    return scan([root], ScanOptions(only_rules=[RULE], jobs=1))


def test_a_dot_git_file_pointing_nowhere_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    (root / "app.yaml").write_text(CM.format("app"))
    (root / ".git").write_text("gitdir: /nonexistent/kubeward/modules/x\n")
    reason = _git_error(_cli(root), root)
    assert reason.startswith(f"commit signatures not checked: {root / '.git'} is not a usable")
    assert "/nonexistent/kubeward/modules/x" in reason


def test_a_bad_head_is_an_error(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / ".git" / "HEAD").write_text("garbage\n")
    reason = _git_error(_cli(repo), repo)
    assert f"{repo / '.git'} is not a usable git repository" in reason


def test_a_head_ref_naming_a_missing_commit_is_an_error(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / ".git" / "refs" / "heads" / "main").write_text("1" * 40 + "\n")
    reason = _git_error(_cli(repo), repo)
    assert reason.startswith("commit signatures not checked: ")
    assert "1111111111" in reason or "bad" in reason.lower()


def test_a_broken_loose_object_is_an_error(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    head = _git(repo, "rev-parse", "HEAD").strip()
    obj = repo / ".git" / "objects" / head[:2] / head[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"not zlib at all")
    reason = _git_error(_cli(repo), repo)
    assert reason.startswith("commit signatures not checked: git log failed: ")


def test_a_broken_pack_is_an_error(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", commits=3)
    _git(repo, "repack", "-adq")
    (pack,) = (repo / ".git" / "objects" / "pack").glob("*.pack")
    pack.chmod(0o644)
    data = pack.read_bytes()
    pack.write_bytes(data[:12] + b"\xff" * (len(data) - 12))  # header kept, objects garbage
    reason = _git_error(_cli(repo), repo)
    assert reason.startswith("commit signatures not checked: ")


def test_a_new_repository_without_commits_is_no_error(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", commits=0)
    (repo / "app.yaml").write_text(CM.format("app"))
    doc = _cli(repo)
    assert doc["errors"] == [] and doc["findings"] == []


def test_outside_any_repository_is_no_error(tmp_path: Path) -> None:
    if gitsource._nearest_dotgit(tmp_path) is not None:
        pytest.skip("the temporary directory is inside a git repository")
    (tmp_path / "app.yaml").write_text(CM.format("app"))
    doc = _cli(tmp_path)
    assert doc["errors"] == [] and doc["findings"] == []


def test_the_time_budget_cuts_the_history_with_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path / "repo")
    monkeypatch.setattr(gitsource, "GIT_BUDGET_S", 0.0)
    report = _scan(repo)
    assert [r for r in report.results if r.rule.id == RULE] == []
    (err,) = [e for e in report.errors if e.path == repo.as_posix()]
    assert err.reason == "commit signatures not checked: the git time budget of 0 s is used up"


def test_the_output_cap_cuts_the_history_with_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path / "repo", commits=5, text="{}: 1\n")
    shas = _git(repo, "log", "--format=%H").split()
    # Room for about two log records of 61 bytes (sha, status, author, subject) of the five,
    # and for the 130-byte diff of one of these commits.
    monkeypatch.setattr(gitsource, "GIT_MAX_OUTPUT", 150)
    report = _scan(repo)
    seen = {r.finding.properties["commit"] for r in report.results if r.rule.id == RULE}
    assert seen and seen < set(shas) and shas[0] in seen  # the newest are judged
    reasons = [e.reason for e in report.errors if e.path == repo.as_posix()]
    assert any("git log output cut at 150 bytes; older commits not checked" in r for r in reasons)


def test_git_depth_is_capped(tmp_path: Path) -> None:
    from kubeward.config import ConfigError, parse_config

    assert gitsource.MAX_GIT_DEPTH == 10_000
    with pytest.raises(ConfigError, match="git-depth must be a whole number from 0 to 10000"):
        parse_config({"git-depth": 10_001}, "x.yaml")
    checkout = gitsource.find_checkout(_repo(tmp_path / "repo", commits=1))
    assert checkout is not None
    history = gitsource.read_history(checkout, depth=10**9)  # a programmatic caller, capped
    assert len(history.commits) == 1 and history.error is None


def test_a_git_that_outlives_its_timeout_is_killed_and_reported(tmp_path: Path) -> None:
    """A process over its time is killed (its whole process group) and named."""
    budget = gitsource.GitBudget(seconds=1.0)
    with pytest.raises(gitsource.GitError, match="did not finish within 1 s"):
        gitsource._bounded_run(
            ["sh", "-c", "sleep 30 & sleep 30"], cwd=tmp_path, env=dict(os.environ),
            stdin=None, budget=budget,
        )  # fmt: skip
